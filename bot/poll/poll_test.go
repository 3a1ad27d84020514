package poll_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/poll"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

const interval = time.Minute

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// tempStore opens a SQLite store in the test's own directory, closed when
// the test ends: the leases and cursors live in a real store.
func tempStore(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "w.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// polled is one poll as a test sees it: which wiki, whether it was fresh.
type polled struct {
	wiki  string
	fresh bool
}

// done is what Done was told of one poll.
type done struct {
	wiki    string
	outcome poll.Outcome
	err     error
}

// recorder keeps what a schedule's Poll and Done saw, in order.
type recorder struct {
	mu    sync.Mutex
	polls []polled
	dones []done
	// block, when set, makes the named wiki's poll wait for its context.
	block string
}

func (r *recorder) poll(ctx context.Context, wiki string, fresh bool) error {
	r.mu.Lock()
	r.polls = append(r.polls, polled{wiki, fresh})
	block := r.block == wiki
	r.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (r *recorder) done(wiki string, outcome poll.Outcome, err error, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dones = append(r.dones, done{wiki, outcome, err})
}

// take returns and forgets what was seen.
func (r *recorder) take() ([]polled, []done) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, d := r.polls, r.dones
	r.polls, r.dones = nil, nil
	return p, d
}

func newSchedule(t *testing.T, clock *testwait.Clock, rec *recorder, mod func(*poll.Config)) *poll.Schedule {
	t.Helper()
	cfg := poll.Config{Wikis: []string{"en", "de", "fr"}, Interval: interval, Concurrency: 8, Timeout: 10 * time.Second,
		Poll: rec.poll, Done: rec.done, Now: clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	s, err := poll.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEachWikiOnceAnIntervalAtItsOwnMoment: nothing is polled at once;
// looked for every Every() through an interval, each wiki is polled once,
// not all at the same moment; an interval later, each once again.
func TestEachWikiOnceAnIntervalAtItsOwnMoment(t *testing.T) {
	clock := testwait.NewClock(t0)
	rec := &recorder{}
	s := newSchedule(t, clock, rec, nil)
	ctx := context.Background()
	if names := s.Due(ctx); len(names) != 0 {
		t.Fatalf("polled %v at once, want none before each wiki's moment", names)
	}
	for round := range 2 {
		count := map[string]int{}
		moments := map[time.Duration]bool{}
		for step := time.Duration(0); step < interval; step += s.Every() {
			clock.Add(s.Every())
			for _, name := range s.Due(ctx) {
				count[name]++
				moments[step] = true
			}
		}
		for _, name := range []string{"en", "de", "fr"} {
			if count[name] != 1 {
				t.Errorf("round %d: %s polled %d times in an interval, want once", round, name, count[name])
			}
		}
		if len(moments) < 2 {
			t.Errorf("round %d: every wiki polled at the same moment", round)
		}
	}
	polls, dones := rec.take()
	if len(polls) != 6 || len(dones) != 6 {
		t.Fatalf("%d polls, %d told done, want 6", len(polls), len(dones))
	}
	for i, p := range polls {
		if p.fresh != (i < 3) {
			t.Errorf("poll %d of %s: fresh %v, want only each wiki's first fresh", i, p.wiki, p.fresh)
		}
	}
	for _, d := range dones {
		if d.outcome != poll.OK || d.err != nil {
			t.Errorf("%s: %s, %v", d.wiki, d.outcome, d.err)
		}
	}
}

// TestAWikiThatIsDownDelaysNoOther: with one slot for polls besides the
// one a wiki that never answers holds, the other wikis are polled and done
// while it waits, and its poll ends at its time limit, failed.
func TestAWikiThatIsDownDelaysNoOther(t *testing.T) {
	clock := testwait.NewClock(t0)
	rec := &recorder{block: "en"}
	const timeout = 300 * time.Millisecond
	s := newSchedule(t, clock, rec, func(c *poll.Config) { c.Concurrency, c.Timeout = 2, timeout })
	clock.Add(interval)
	start := time.Now()
	names := s.Due(context.Background())
	took := time.Since(start)
	slices.Sort(names)
	if strings.Join(names, ",") != "de,en,fr" {
		t.Errorf("polled %v, want all three", names)
	}
	_, dones := rec.take()
	if len(dones) != 3 || dones[2].wiki != "en" {
		t.Fatalf("done in the order %v, want en, the one down, last", dones)
	}
	if d := dones[2]; d.outcome != poll.Failed || !errors.Is(d.err, context.DeadlineExceeded) {
		t.Errorf("the wiki that is down: %s, %v; want failed at its time limit", d.outcome, d.err)
	}
	if took < timeout {
		t.Errorf("the polls ended after %s, before the time limit %s", took, timeout)
	}
}

// TestConcurrencyBoundsThePolls: five wikis due at once, two slots: at
// most two polls run at a time, and all five run.
func TestConcurrencyBoundsThePolls(t *testing.T) {
	clock := testwait.NewClock(t0)
	var mu sync.Mutex
	running, peak, ran := 0, 0, 0
	gate := make(chan struct{})
	s, err := poll.New(poll.Config{Wikis: []string{"a", "b", "c", "d", "e"}, Interval: interval, Concurrency: 2, Timeout: time.Minute,
		Now: clock.Now, Poll: func(ctx context.Context, wiki string, _ bool) error {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			<-gate
			mu.Lock()
			running--
			ran++
			mu.Unlock()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(interval)
	started := make(chan []string)
	go func() { started <- s.Dispatch(context.Background()) }()
	testwait.For(t, "two polls to run", func() bool { mu.Lock(); defer mu.Unlock(); return running >= 2 })
	close(gate)
	if names := <-started; len(names) != 5 {
		t.Errorf("started %v, want five", names)
	}
	s.Wait()
	if peak != 2 || ran != 5 {
		t.Errorf("%d polls ran, at most %d at once; want 5, 2", ran, peak)
	}
}

// TestKeptLeaseStaysAndIsTakenOver: with kept leases, the replica that
// polls a wiki first keeps it (the other's polls are elsewhere, the
// holder's are not fresh); when the holder stops polling, the other takes
// the wiki over once the lease has run out, fresh; the first, back, finds
// it elsewhere; and a lease released is taken at once.
func TestKeptLeaseStaysAndIsTakenOver(t *testing.T) {
	db := tempStore(t)
	clock := testwait.NewClock(t0)
	lease := func(instance string) func(*poll.Config) {
		return func(c *poll.Config) {
			c.Wikis = []string{"en"}
			c.Lease = &poll.Lease{Store: db, Instance: instance, Prefix: "test:", Term: 3 * interval, Keep: true}
		}
	}
	ra, rb := &recorder{}, &recorder{}
	a, b := newSchedule(t, clock, ra, lease("a")), newSchedule(t, clock, rb, lease("b"))
	ctx := context.Background()
	step := func(want ...poll.Outcome) {
		t.Helper()
		clock.Add(interval)
		a.Due(ctx)
		b.Due(ctx)
		for i, r := range []*recorder{ra, rb} {
			_, d := r.take()
			if len(d) != 1 || d[0].outcome != want[i] {
				t.Fatalf("replica %d: %v, want %s", i, d, want[i])
			}
		}
	}
	step(poll.OK, poll.Elsewhere)
	step(poll.OK, poll.Elsewhere)
	ra.take()
	// a dies, holding the lease: b waits for it to run out.
	clock.Add(interval)
	b.Due(ctx)
	if _, d := rb.take(); d[0].outcome != poll.Elsewhere {
		t.Fatalf("b took the wiki while a's lease lasted: %v", d)
	}
	clock.Add(3 * interval)
	b.Due(ctx)
	if p, d := rb.take(); d[0].outcome != poll.OK || !p[0].fresh {
		t.Fatalf("b, once a's lease ran out: %v, %v; want it polled, fresh", p, d)
	}
	// a comes back: the wiki is b's.
	clock.Add(interval)
	a.Due(ctx)
	b.Due(ctx)
	if _, d := ra.take(); d[0].outcome != poll.Elsewhere {
		t.Fatalf("a, back: %v", d)
	}
	if p, _ := rb.take(); len(p) != 1 || p[0].fresh {
		t.Fatalf("b's next poll: %v, want it not fresh", p)
	}
	// b stops and gives the lease up: a takes the wiki at once, fresh.
	b.Release(ctx)
	clock.Add(interval)
	a.Due(ctx)
	if p, d := ra.take(); d[0].outcome != poll.OK || !p[0].fresh {
		t.Fatalf("a after b's release: %v, %v", p, d)
	}
}

// TestLeaseGivenUpAfterEachPoll: without Keep, a wiki's lease is held for
// a poll only: while one replica's poll runs, the other's is elsewhere;
// once it ended, the other takes the wiki at once.
func TestLeaseGivenUpAfterEachPoll(t *testing.T) {
	db := tempStore(t)
	clock := testwait.NewClock(t0)
	lease := func(instance string) func(*poll.Config) {
		return func(c *poll.Config) {
			c.Wikis = []string{"en"}
			c.Lease = &poll.Lease{Store: db, Instance: instance, Prefix: "test:", Term: time.Hour}
		}
	}
	ra, rb := &recorder{block: "en"}, &recorder{}
	a, b := newSchedule(t, clock, ra, lease("a")), newSchedule(t, clock, rb, lease("b"))
	clock.Add(interval)
	ctx, stop := context.WithCancel(context.Background())
	a.Dispatch(ctx)
	testwait.For(t, "a's poll to run", func() bool { ra.mu.Lock(); defer ra.mu.Unlock(); return len(ra.polls) == 1 })
	b.Due(context.Background())
	if _, d := rb.take(); len(d) != 1 || d[0].outcome != poll.Elsewhere {
		t.Fatalf("b while a's poll runs: %v", d)
	}
	stop()
	a.Wait()
	if _, d := ra.take(); len(d) != 1 || d[0].outcome != poll.Stopped {
		t.Fatalf("a, stopped: %v", d)
	}
	clock.Add(interval)
	b.Due(context.Background())
	if p, d := rb.take(); len(d) != 1 || d[0].outcome != poll.OK || !p[0].fresh {
		t.Fatalf("b once a's poll ended: %v, %v", p, d)
	}
}

// TestALeaseThatCannotBeAskedFor: when the store does not answer, the
// poll does not run and Done hears of a failure that errors.Is tells as
// the lease's.
func TestALeaseThatCannotBeAskedFor(t *testing.T) {
	db := tempStore(t)
	clock := testwait.NewClock(t0)
	rec := &recorder{}
	s := newSchedule(t, clock, rec, func(c *poll.Config) {
		c.Lease = &poll.Lease{Store: db, Instance: "a", Prefix: "test:", Term: time.Hour}
	})
	db.Close()
	clock.Add(interval)
	s.Due(context.Background())
	polls, dones := rec.take()
	if len(polls) != 0 || len(dones) != 3 {
		t.Fatalf("%d polls, %d done", len(polls), len(dones))
	}
	for _, d := range dones {
		if d.outcome != poll.Failed || !errors.Is(d.err, poll.ErrLease) || !strings.Contains(d.err.Error(), "lease of "+d.wiki) {
			t.Errorf("%s: %s, %v", d.wiki, d.outcome, d.err)
		}
	}
}

// TestPollNow: Poll polls a wiki at once, outside the schedule and
// telling Done nothing, and refuses while the wiki's poll runs.
func TestPollNow(t *testing.T) {
	clock := testwait.NewClock(t0)
	rec := &recorder{block: "en"}
	s := newSchedule(t, clock, rec, nil)
	if err := s.Poll(context.Background(), "de"); err != nil {
		t.Fatal(err)
	}
	if p, d := rec.take(); len(p) != 1 || p[0].wiki != "de" || !p[0].fresh || len(d) != 0 {
		t.Fatalf("Poll: %v, %v", p, d)
	}
	if err := s.Poll(context.Background(), "xx"); err == nil {
		t.Error("Poll of a wiki not scheduled succeeded")
	}
	clock.Add(interval)
	ctx, stop := context.WithCancel(context.Background())
	s.Dispatch(ctx)
	testwait.For(t, "en's poll to run", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return slices.Contains(rec.polls, polled{"en", true})
	})
	// Bounded, so that a Poll that did not refuse would end, failed.
	bounded, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Poll(bounded, "en"); !errors.Is(err, poll.ErrBusy) {
		t.Errorf("Poll while en's poll runs: %v", err)
	}
	stop()
	s.Wait()
}

// TestPruneEvery: Prune comes with the first look for polls PruneEvery
// after New, and then once every PruneEvery.
func TestPruneEvery(t *testing.T) {
	clock := testwait.NewClock(t0)
	var pruned []time.Time
	s := newSchedule(t, clock, &recorder{}, func(c *poll.Config) {
		c.PruneEvery = time.Hour
		c.Prune = func(_ context.Context, now time.Time) { pruned = append(pruned, now) }
	})
	for range 150 {
		clock.Add(time.Minute)
		s.Due(context.Background())
	}
	if len(pruned) != 2 || !pruned[0].Equal(t0.Add(time.Hour)) || !pruned[1].Equal(t0.Add(2*time.Hour)) {
		t.Errorf("pruned at %v, want an hour and two after the start", pruned)
	}
}

// TestConfigIsChecked: a schedule that could not work is refused.
func TestConfigIsChecked(t *testing.T) {
	ok := poll.Config{Wikis: []string{"en"}, Interval: interval, Concurrency: 1, Timeout: time.Second,
		Poll: func(context.Context, string, bool) error { return nil }, Now: time.Now}
	for _, c := range []struct {
		mod  func(*poll.Config)
		want string
	}{
		{func(c *poll.Config) { c.Wikis = nil }, "no wiki"},
		{func(c *poll.Config) { c.Wikis = []string{"en", "en"} }, `wiki "en" given twice`},
		{func(c *poll.Config) { c.Wikis = []string{""} }, "no name"},
		{func(c *poll.Config) { c.Concurrency = 0 }, "must be positive"},
		{func(c *poll.Config) { c.Poll = nil }, "no poll"},
		{func(c *poll.Config) { c.Prune = func(context.Context, time.Time) {} }, "prune interval"},
		{func(c *poll.Config) { c.Lease = &poll.Lease{Instance: "a", Term: time.Minute} }, "a lease needs a store"},
	} {
		cfg := ok
		c.mod(&cfg)
		if _, err := poll.New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New: %v, want an error about %q", err, c.want)
		}
	}
	if _, err := poll.New(ok); err != nil {
		t.Error(err)
	}
}
