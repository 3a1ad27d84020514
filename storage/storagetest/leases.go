package storagetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// tryLease takes a lease and fails the test if that fails.
func tryLease(t *testing.T, db Store, name, holder string, until, now time.Time) bool {
	t.Helper()
	ok, err := db.TryLease(context.Background(), name, holder, until, now)
	if err != nil {
		t.Fatalf("TryLease(%s, %s): %v", name, holder, err)
	}
	return ok
}

// testLeaseTakeRenewExpireRelease: a lease is its holder's through its
// until, and the holder may renew it; after that anyone may take it; its
// holder, and no one else, may give it up sooner. Each name is a lease of
// its own, and every handle (replica) sees the same leases.
func testLeaseTakeRenewExpireRelease(t *testing.T, open Opener) {
	ctx := context.Background()
	a, b := open(fixed(t0)), open(fixed(t0))
	const name = "sync:en"
	for _, c := range []struct {
		db          Store
		holder      string
		until, now  time.Duration // after t0
		want        bool
		description string
	}{
		{a, "a", time.Minute, 0, true, "free"},
		{b, "b", 2 * time.Minute, 30 * time.Second, false, "held by a"},
		{b, "a", 2 * time.Minute, 30 * time.Second, true, "a renews it, through another handle"},
		{b, "b", 3 * time.Minute, time.Minute, false, "held by a, renewed"},
		{b, "b", 3 * time.Minute, 2 * time.Minute, false, "at a's until: still a's"},
		{b, "b", 3 * time.Minute, 2*time.Minute + time.Millisecond, true, "expired: b takes it"},
		{a, "a", 4 * time.Minute, 2*time.Minute + time.Millisecond, false, "a's expired lease is b's now"},
		{b, "b", 2*time.Minute + 2*time.Millisecond, 2*time.Minute + time.Millisecond, true, "b shortens it"},
		{a, "a", 4 * time.Minute, 2*time.Minute + 3*time.Millisecond, true, "expired: a takes it back"},
	} {
		if got := tryLease(t, c.db, name, c.holder, t0.Add(c.until), t0.Add(c.now)); got != c.want {
			t.Fatalf("%s: TryLease(%s) = %v, want %v", c.description, c.holder, got, c.want)
		}
	}
	// Another name is another lease.
	if !tryLease(t, b, "sync:de", "b", t0.Add(time.Hour), t0.Add(3*time.Minute)) {
		t.Error("sync:de was not free")
	}

	// Only its holder gives it up.
	now := t0.Add(3 * time.Minute)
	if err := b.ReleaseLease(ctx, name, "b"); err != nil {
		t.Fatal(err)
	}
	if tryLease(t, b, name, "b", now.Add(time.Minute), now) {
		t.Error("b took a's lease after giving up a lease it did not hold")
	}
	if err := a.ReleaseLease(ctx, name, "a"); err != nil {
		t.Fatal(err)
	}
	if !tryLease(t, b, name, "b", now.Add(time.Minute), now) {
		t.Error("the lease a gave up is not free")
	}
	if err := a.ReleaseLease(ctx, "never-taken", "a"); err != nil {
		t.Errorf("releasing a lease no one holds: %v", err)
	}
	if tryLease(t, a, "sync:de", "a", t0.Add(time.Hour), now) {
		t.Error("sync:de changed hands")
	}

	for _, c := range []struct{ name, holder string }{{"", "a"}, {name, ""}} {
		if _, err := a.TryLease(ctx, c.name, c.holder, now.Add(time.Minute), now); err == nil {
			t.Errorf("TryLease(%q, %q) succeeded", c.name, c.holder)
		}
	}
	if _, err := a.TryLease(ctx, "sync:fr", "a", now, now); err == nil {
		t.Error("a lease until now was taken")
	}
}

// testLeaseRace: ten replicas' ticks, over three handles, race for one
// lease: one takes it. When it expires they race again and one takes it;
// that one renews it.
func testLeaseRace(t *testing.T, open Opener) {
	handles := []Store{open(fixed(t0)), open(fixed(t0)), open(fixed(t0))}
	race := func(until, now time.Time) []string {
		t.Helper()
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
		)
		start := make(chan struct{})
		for i := range 10 {
			wg.Go(func() {
				<-start
				holder := fmt.Sprintf("replica-%d", i)
				ok, err := handles[i%3].TryLease(context.Background(), "sync:en", holder, until, now)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					winners = append(winners, holder)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("at %s the lease was taken by %v, want one", now.Sub(t0), winners)
		}
		return winners
	}
	first := race(t0.Add(time.Minute), t0)[0]
	next := race(t0.Add(3*time.Minute), t0.Add(2*time.Minute))[0]
	t.Logf("%s took the lease, then %s", first, next)
	if next != first && tryLease(t, handles[0], "sync:en", first, t0.Add(4*time.Minute), t0.Add(2*time.Minute)) {
		t.Errorf("%s took back the lease %s holds", first, next)
	}
	if !tryLease(t, handles[1], "sync:en", next, t0.Add(4*time.Minute), t0.Add(2*time.Minute+time.Second)) {
		t.Errorf("the holder %s could not renew its lease", next)
	}
}
