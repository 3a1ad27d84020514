package storagetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// replayWindow is how long a signed request stays acceptable in these
// tests, as Slack's five minutes.
const replayWindow = 5 * time.Minute

func firstSeen(t *testing.T, db Store, platform, key string, expires time.Time) bool {
	t.Helper()
	first, err := db.FirstSeen(context.Background(), platform, key, expires)
	if err != nil {
		t.Fatal(err)
	}
	return first
}

func testFirstSeenOnceUntilExpiry(t *testing.T, open Opener) {
	clock := newClock(t0)
	db := open(clock.Now)
	expires := t0.Add(replayWindow)

	if !firstSeen(t, db, "slack", "v0=abc", expires) {
		t.Fatal("a new key was not first")
	}
	if firstSeen(t, db, "slack", "v0=abc", expires) {
		t.Error("the same key again was first")
	}
	if !firstSeen(t, db, "discord", "v0=abc", expires) {
		t.Error("the same key on another platform was not first")
	}
	if !firstSeen(t, db, "slack", "v0=abd", expires) {
		t.Error("another key was not first")
	}
	clock.Add(replayWindow - time.Millisecond)
	if firstSeen(t, db, "slack", "v0=abc", expires) {
		t.Error("a key was first again a millisecond before its record expired")
	}
	// Its record has expired: the key is first again, and remembered anew.
	clock.Add(time.Millisecond)
	if !firstSeen(t, db, "slack", "v0=abc", clock.Now().Add(replayWindow)) {
		t.Error("a key seen after its record expired was not first")
	}
	if firstSeen(t, db, "slack", "v0=abc", clock.Now().Add(replayWindow)) {
		t.Error("a key first again was not remembered")
	}
}

func testFirstSeenSurvivesRestart(t *testing.T, open Opener) {
	clock := newClock(t0)
	db := open(clock.Now)
	if !firstSeen(t, db, "discord", "1234567890", t0.Add(replayWindow)) {
		t.Fatal("a new key was not first")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	db = open(clock.Now)
	if firstSeen(t, db, "discord", "1234567890", t0.Add(replayWindow)) {
		t.Error("after a restart, a key seen before was first")
	}
}

// testFirstSeenConcurrentSameKey sends one key from 20 goroutines at once,
// through two handles on the database as two processes would: exactly one
// sees it first.
func testFirstSeenConcurrentSameKey(t *testing.T, open Opener) {
	clock := newClock(t0)
	dbs := []Store{open(clock.Now), open(clock.Now)}
	ctx := context.Background()
	for round := range 5 {
		key := fmt.Sprintf("interaction-%d", round)
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			mu     sync.Mutex
			firsts int
		)
		for i := range 20 {
			wg.Go(func() {
				<-start
				first, err := dbs[i%2].FirstSeen(ctx, "discord", key, t0.Add(replayWindow))
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if first {
					firsts++
				}
			})
		}
		close(start)
		wg.Wait()
		if firsts != 1 {
			t.Errorf("round %d: %d goroutines saw the key first, want 1", round, firsts)
		}
	}
}

// testReplaysPrunedAfterWindow floods the guard with keys, each of them
// remembered through its window, and checks that they are gone once it
// has passed: by FirstSeen's own pruning, at most a minute late, and by
// PruneReplays.
func testReplaysPrunedAfterWindow(t *testing.T, open Opener) {
	clock := newClock(t0)
	db := open(clock.Now)
	ctx := context.Background()
	const flood = 1000
	for i := range flood {
		if i%200 == 0 {
			clock.Add(time.Second)
		}
		if !firstSeen(t, db, "slack", fmt.Sprintf("v0=%064d", i), clock.Now().Add(replayWindow)) {
			t.Fatalf("key %d was not first", i)
		}
	}

	// Within the window nothing is pruned, and every key is still
	// refused: each of the flood was stored.
	clock.Add(replayWindow - 10*time.Second)
	for i := range flood {
		if firstSeen(t, db, "slack", fmt.Sprintf("v0=%064d", i), clock.Now().Add(replayWindow)) {
			t.Fatalf("flooded key %d was first again within its window", i)
		}
	}
	if n, err := db.PruneReplays(ctx, clock.Now()); err != nil || n != 0 {
		t.Errorf("PruneReplays within the window deleted %d, %v", n, err)
	}

	// Once the window has passed, the next FirstSeen prunes by itself:
	// nothing is left for PruneReplays.
	clock.Add(replayWindow)
	if !firstSeen(t, db, "slack", "after", clock.Now().Add(replayWindow)) {
		t.Error("a new key after the flood was not first")
	}
	if n, err := db.PruneReplays(ctx, clock.Now()); err != nil || n != 0 {
		t.Errorf("PruneReplays after FirstSeen pruned the flood deleted %d, %v; want 0", n, err)
	}
	// A flooded key is first again (and its timestamp check refuses it).
	if !firstSeen(t, db, "slack", fmt.Sprintf("v0=%064d", 0), clock.Now().Add(replayWindow)) {
		t.Error("a flooded key was not first after its window")
	}

	// Not more than once a minute: keys expiring now stay until then,
	// unless PruneReplays is called.
	for i := range 10 {
		firstSeen(t, db, "slack", fmt.Sprintf("short-%d", i), clock.Now().Add(time.Second))
	}
	clock.Add(30 * time.Second)
	firstSeen(t, db, "slack", "later", clock.Now().Add(replayWindow))
	if n, err := db.PruneReplays(ctx, clock.Now()); err != nil || n != 10 {
		t.Errorf("PruneReplays deleted %d, %v; want the 10 short keys, which FirstSeen left", n, err)
	}
	for _, key := range []string{"after", "later"} {
		if firstSeen(t, db, "slack", key, clock.Now().Add(replayWindow)) {
			t.Errorf("PruneReplays forgot %q, which has not expired", key)
		}
	}
}
