// Package poll reads each wiki of a farm once an interval, for the bot's
// background work (the alerts' recent changes, the reminders' protect
// log): each wiki at its own moment of the interval, from a hash of its
// name, so that a farm's wikis are read spread over the interval rather
// than all at once and a wiki keeps its moment when others are added; a
// few wikis at a time, each under a time limit, so that a wiki that is
// down holds up no other. With replicas sharing a store, each wiki is read
// by the one replica that holds its lease (Lease). Where a wiki's stream
// was read to is a Cursor, kept in the store (Stream), so that a restart
// or another replica goes on from there.
//
// A Schedule knows the wikis by name only: what a poll does is the
// caller's Config.Poll.
package poll

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// Outcome is how one scheduled poll went, as the callers' metrics count it.
type Outcome string

// The outcomes of a poll.
const (
	OK        Outcome = "ok"
	Failed    Outcome = "failed"
	Stopped   Outcome = "stopped"   // the schedule's context ended
	Elsewhere Outcome = "elsewhere" // another replica holds the wiki's lease
)

// ErrLease is in the error of a poll that could not ask for its wiki's
// lease (the store did not answer): errors.Is tells it from the poll's own.
var ErrLease = errors.New("lease")

// ErrBusy is the error of Schedule.Poll while the wiki's poll is running.
var ErrBusy = errors.New("poll: the wiki is being read")

// Config configures a Schedule. Every field but Lease, Done, Prune and
// Logger is required; the callers keep the defaults, since theirs differ.
type Config struct {
	// Wikis name the wikis polled, each once, in the order their polls
	// start when several are due at once.
	Wikis []string
	// Interval is how often each wiki is polled.
	Interval time.Duration
	// Concurrency bounds the polls running at once.
	Concurrency int
	// Timeout bounds one scheduled poll, so that a wiki that is down holds
	// one of the Concurrency slots for that long at most.
	Timeout time.Duration
	// Lease, when set, says that replicas share the store: a wiki is then
	// polled by the one that holds its lease.
	Lease *Lease
	// Poll reads one wiki, holding its lease where there are replicas.
	// fresh says that this process did not hold the lease at the wiki's
	// last poll (it started, or took the wiki over from another replica):
	// what it kept of the wiki may be stale. Alone, fresh is true at the
	// first poll only.
	Poll func(ctx context.Context, wiki string, fresh bool) error
	// Done is told how each scheduled poll went, with its error (nil for
	// OK and Elsewhere) and how long it took, lease included. Nil tells no
	// one.
	Done func(wiki string, outcome Outcome, err error, took time.Duration)
	// Prune, when set, is called every PruneEvery as polls are looked for,
	// to forget what the polls kept and no longer need. It logs its own
	// failures.
	Prune      func(ctx context.Context, now time.Time)
	PruneEvery time.Duration
	// Now is the clock of the schedule and the leases.
	Now func() time.Time
	// Logger logs a lease lost to another replica; nil logs nothing.
	Logger *slog.Logger
}

// Lease is how replicas that share a store divide the wikis: each wiki is
// polled by the replica that holds its lease, named Prefix and the wiki's
// name.
type Lease struct {
	Store commands.LeaseStore
	// Instance names this process among the replicas.
	Instance string
	// Prefix keeps a poller's leases apart from another's of the same
	// wikis: "alerts:", "sync:".
	Prefix string
	// Term is how long a lease taken or renewed lasts: another replica
	// may take the wiki once it has passed without a poll.
	Term time.Duration
	// Keep keeps a wiki's lease from one poll to the next, each poll
	// renewing it, so that the wiki stays with the replica that knows it
	// until that one stops (Release) or dies. Without Keep, each poll
	// gives its lease up when it ends, and any replica may take the next.
	Keep bool
}

// name names the lease of a wiki.
func (l *Lease) name(wiki string) string { return l.Prefix + wiki }

// entry is a polled wiki and its schedule.
type entry struct {
	name   string
	offset time.Duration // where in each interval its poll falls

	// Guarded by Schedule.mu.
	slot    int64 // the last slot a poll was started for
	running bool
	held    bool // this process held the wiki's lease at its last poll
	polled  bool // a poll has run: the next is not fresh, alone
}

// Schedule polls each wiki of a farm once an Interval, at its own offset.
type Schedule struct {
	cfg    Config
	every  time.Duration
	wikis  []*entry
	byName map[string]*entry
	log    *slog.Logger

	slots     chan struct{} // a token per poll running
	polls     sync.WaitGroup
	mu        sync.Mutex // guards each entry's state, and lastPrune
	lastPrune time.Time
}

// New checks cfg and returns a schedule. Each wiki's first poll comes at
// its slot of the interval after New, not at once, so that a farm's
// restart does not read a thousand wikis together.
func New(cfg Config) (*Schedule, error) {
	switch {
	case len(cfg.Wikis) == 0:
		return nil, errors.New("no wiki")
	case cfg.Interval <= 0 || cfg.Concurrency <= 0 || cfg.Timeout <= 0:
		return nil, fmt.Errorf("interval %s, concurrency %d and timeout %s must be positive", cfg.Interval, cfg.Concurrency, cfg.Timeout)
	case cfg.Poll == nil || cfg.Now == nil:
		return nil, errors.New("no poll or no clock")
	case cfg.Prune != nil && cfg.PruneEvery <= 0:
		return nil, fmt.Errorf("prune interval %s is not positive", cfg.PruneEvery)
	}
	if l := cfg.Lease; l != nil && (l.Store == nil || l.Instance == "" || l.Term <= 0) {
		return nil, errors.New("a lease needs a store, this instance's name and a term")
	}
	s := &Schedule{
		cfg:    cfg,
		every:  min(max(cfg.Interval/60, time.Second), time.Minute),
		byName: map[string]*entry{},
		log:    cfg.Logger,
		slots:  make(chan struct{}, cfg.Concurrency),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now()
	for _, name := range cfg.Wikis {
		if name == "" {
			return nil, errors.New("a wiki has no name")
		}
		if _, dup := s.byName[name]; dup {
			return nil, fmt.Errorf("wiki %q given twice", name)
		}
		e := &entry{name: name, offset: offset(name, cfg.Interval)}
		e.slot = s.slotAt(e, now)
		s.wikis = append(s.wikis, e)
		s.byName[name] = e
	}
	s.lastPrune = now
	return s, nil
}

// offset returns where in each interval the named wiki's poll falls.
func offset(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// slotAt numbers the latest of e's poll times at or before t: they are the
// times offset past a multiple of the interval.
func (s *Schedule) slotAt(e *entry, t time.Time) int64 {
	return (t.UnixNano() - int64(e.offset)) / int64(s.cfg.Interval)
}

// Every is how often to look for polls due (Dispatch): often enough that
// the offsets spread the polls (a sixtieth of the interval), but at least
// a second apart and at most a minute.
func (s *Schedule) Every() time.Duration { return s.every }

// Due starts the polls due by the schedule's clock (each wiki's once an
// interval, at its own offset, and once more straight away if the last
// one ran past its next slot), at most Concurrency at a time, waits for
// them, and returns the names of the wikis whose turn it was (a wiki left
// to the replica holding its lease is named all the same). A background
// loop calls Dispatch, which does not wait; tests call Due with a fake
// clock.
func (s *Schedule) Due(ctx context.Context) []string {
	var wg sync.WaitGroup
	names := s.dispatch(ctx, &wg)
	wg.Wait()
	return names
}

// Dispatch starts the polls due now and returns when each has started
// (waiting for a free slot if need be), not when they end.
func (s *Schedule) Dispatch(ctx context.Context) []string { return s.dispatch(ctx, nil) }

// Wait waits for the polls Dispatch and Due started.
func (s *Schedule) Wait() { s.polls.Wait() }

// dispatch starts the polls due now; started counts them too, when not
// nil.
func (s *Schedule) dispatch(ctx context.Context, started *sync.WaitGroup) []string {
	now := s.cfg.Now()
	s.pruneIfDue(ctx, now)
	var names []string
	for _, e := range s.wikis {
		if ctx.Err() != nil {
			return names
		}
		s.mu.Lock()
		slot := s.slotAt(e, now)
		due := !e.running && slot > e.slot
		if due {
			e.running = true
		}
		s.mu.Unlock()
		if !due {
			continue
		}
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			s.setRunning(e, false)
			return names
		}
		s.mu.Lock()
		e.slot = slot
		s.mu.Unlock()
		names = append(names, e.name)
		s.polls.Add(1)
		if started != nil {
			started.Add(1)
		}
		go func() {
			defer func() {
				s.setRunning(e, false)
				<-s.slots
				if started != nil {
					started.Done()
				}
				s.polls.Done()
			}()
			s.run(ctx, e)
		}()
	}
	return names
}

func (s *Schedule) setRunning(e *entry, running bool) {
	s.mu.Lock()
	e.running = running
	s.mu.Unlock()
}

// run polls one wiki for at most Timeout, and tells Done how it went.
func (s *Schedule) run(ctx context.Context, e *entry) {
	start := time.Now() // elapsed time for Done, not the schedule
	pollCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	held, err := s.leased(pollCtx, e)
	outcome := OK
	switch {
	case err != nil && ctx.Err() != nil:
		outcome = Stopped
	case err != nil:
		outcome = Failed
	case !held:
		outcome = Elsewhere
	}
	if s.cfg.Done != nil {
		s.cfg.Done(e.name, outcome, err, time.Since(start))
	}
}

// Poll polls the named wiki once, at once, whatever the schedule says,
// holding its lease as a scheduled poll does, but under ctx alone and
// telling Done nothing: tests and tools call it. It returns ErrBusy while
// the wiki's poll is running, and nil, having read nothing, where another
// replica holds the wiki.
func (s *Schedule) Poll(ctx context.Context, wiki string) error {
	e, ok := s.byName[wiki]
	if !ok {
		return fmt.Errorf("poll: no wiki %q", wiki)
	}
	s.mu.Lock()
	if e.running {
		s.mu.Unlock()
		return ErrBusy
	}
	e.running = true
	s.mu.Unlock()
	defer s.setRunning(e, false)
	_, err := s.leased(ctx, e)
	return err
}

// leased polls e under its lease, where there are replicas: it takes (or
// renews) the lease, polls if this process holds it, and gives it up after
// unless the lease is kept. It reports whether this process held the wiki.
func (s *Schedule) leased(ctx context.Context, e *entry) (bool, error) {
	s.mu.Lock()
	fresh, wasHeld := !e.polled, e.held
	s.mu.Unlock()
	if l := s.cfg.Lease; l != nil {
		now := s.cfg.Now()
		held, err := l.Store.TryLease(ctx, l.name(e.name), l.Instance, now.Add(l.Term), now)
		if err != nil {
			return false, fmt.Errorf("%w of %s: %w", ErrLease, e.name, err)
		}
		s.mu.Lock()
		e.held = held && l.Keep
		s.mu.Unlock()
		if !held {
			if wasHeld {
				s.log.Info("another replica holds the wiki's lease now", "lease", l.name(e.name))
			}
			return false, nil
		}
		if !l.Keep {
			defer l.Store.ReleaseLease(context.WithoutCancel(ctx), l.name(e.name), l.Instance)
		}
		fresh = !wasHeld
	}
	s.mu.Lock()
	e.polled = true
	s.mu.Unlock()
	return true, s.cfg.Poll(ctx, e.name, fresh)
}

// Release gives up the leases this process keeps, so that another replica
// takes the wikis at once rather than when the leases run out. Call it
// when the polls have ended, on shutdown; it logs what it could not give
// up.
func (s *Schedule) Release(ctx context.Context) {
	l := s.cfg.Lease
	if l == nil {
		return
	}
	for _, e := range s.wikis {
		s.mu.Lock()
		held := e.held
		e.held = false
		s.mu.Unlock()
		if held {
			if err := l.Store.ReleaseLease(ctx, l.name(e.name), l.Instance); err != nil {
				s.log.Warn("giving up a wiki's lease", "lease", l.name(e.name), "err", err)
			}
		}
	}
}

// pruneIfDue calls Prune once every PruneEvery.
func (s *Schedule) pruneIfDue(ctx context.Context, now time.Time) {
	if s.cfg.Prune == nil {
		return
	}
	s.mu.Lock()
	due := now.Sub(s.lastPrune) >= s.cfg.PruneEvery
	if due {
		s.lastPrune = now
	}
	s.mu.Unlock()
	if due {
		s.cfg.Prune(ctx, now)
	}
}
