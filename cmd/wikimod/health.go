package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/mw"
)

// The wikis' health is asked at most every healthEvery, each ping waiting
// at most healthTimeout; the database's at most every healthEvery too,
// waiting at most dbHealthTimeout.
const (
	healthEvery   = 5 * time.Second
	healthTimeout = 3 * time.Second
	// dbHealthTimeout is short: a write that can be made takes
	// milliseconds, and a database that waits seconds for its lock is no
	// healthier than one that refuses.
	dbHealthTimeout = 2 * time.Second
	// pingAllUpTo: with at most this many wikis, each is pinged for every
	// health check. A farm's wikis are instead judged by how their last
	// requests went, and only those that failed are pinged again, so that
	// /healthz never sends a thousand requests.
	pingAllUpTo = 10
	// healthPings bounds the pings in flight at once.
	healthPings = 8
)

// healthChecks are what /healthz reports: whether the wikis answer (cheap
// requests that never log in, at most every few seconds) and whether the
// database takes writes (a real write, made at most every few seconds
// however often /healthz is asked).
func (a *App) healthChecks() []bot.Check {
	where := a.cfg.Storage.describe()
	return append(a.health.checks(), bot.CachedCheck("database", healthEvery, dbHealthTimeout, a.now, func(ctx context.Context) error {
		if err := a.db.Writable(ctx); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}))
}

// wikiHealth knows which wikis answer: from every request wikimod makes to
// them (their outcome, as the wiki clients observe it), and from pings.
type wikiHealth struct {
	wikis []*commands.Wiki
	urls  map[string]string
	now   func() time.Time

	mu    sync.Mutex
	state map[string]wikiState // by name; absent: never asked, not down
	last  time.Time            // of the last round of pings
	down  map[string]string    // the result of that round: why each is down
}

type wikiState struct {
	ok, failed time.Time
	why        string // the error code of the last failure
}

func newWikiHealth(wikis []*commands.Wiki, urls map[string]string, now func() time.Time) *wikiHealth {
	return &wikiHealth{wikis: wikis, urls: urls, now: now, state: map[string]wikiState{}}
}

// observe records how a request to the named wiki went; it is chained
// into each wiki client's Observe.
func (h *wikiHealth) observe(name string, info mw.RequestInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.state[name]
	switch info.ErrorCode {
	case "":
		st.ok = h.now()
	case "unavailable":
		st.failed, st.why = h.now(), info.ErrorCode
	default:
		st.ok = h.now() // the wiki answered, if with an error
	}
	h.state[name] = st
}

// checks are the health checks: with one wiki, it must answer (a failure
// is 503); with several, /healthz names those that do not, and fails only
// when none answers.
func (h *wikiHealth) checks() []bot.Check {
	if len(h.wikis) == 1 {
		w := h.wikis[0]
		return []bot.Check{bot.CachedCheck("wiki", healthEvery, healthTimeout, h.now, func(ctx context.Context) error {
			if err := w.Client.Ping(ctx); err != nil {
				return fmt.Errorf("the wiki at %s does not answer (%s)", h.urls[w.Name], mw.ErrorCode(err))
			}
			return nil
		})}
	}
	return []bot.Check{
		{Name: "wikis", Soft: true, Func: func(ctx context.Context) error {
			down := h.probe(ctx)
			if len(down) == 0 {
				return nil
			}
			return fmt.Errorf("%d of %d wikis do not answer: %s", len(down), len(h.wikis), describeDown(down, 20))
		}},
		{Name: "any-wiki", Func: func(ctx context.Context) error {
			if down := h.probe(ctx); len(down) == len(h.wikis) {
				return fmt.Errorf("no wiki answers")
			}
			return nil
		}},
	}
}

// probe returns the wikis that are down, by name with the reason, pinging
// at most every healthEvery: every wiki in a small farm, else those whose
// last request failed.
func (h *wikiHealth) probe(ctx context.Context) map[string]string {
	h.mu.Lock()
	if !h.last.IsZero() && h.now().Sub(h.last) < healthEvery {
		defer h.mu.Unlock()
		return h.down
	}
	var ask []*commands.Wiki
	for _, w := range h.wikis {
		if st := h.state[w.Name]; len(h.wikis) <= pingAllUpTo || st.failed.After(st.ok) {
			ask = append(ask, w)
		}
	}
	h.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthTimeout)
	defer cancel()
	results := make([]error, len(ask))
	sem := make(chan struct{}, healthPings)
	var wg sync.WaitGroup
	for i, w := range ask {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = w.Client.Ping(ctx)
		}()
	}
	wg.Wait()

	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	for i, w := range ask {
		st := h.state[w.Name]
		if results[i] == nil {
			st.ok = now
		} else {
			st.failed, st.why = now, mw.ErrorCode(results[i])
		}
		h.state[w.Name] = st
	}
	down := map[string]string{}
	for name, st := range h.state {
		if st.failed.After(st.ok) {
			down[name] = fmt.Sprintf("%s at %s (%s)", name, h.urls[name], st.why)
		}
	}
	h.last, h.down = now, down
	return down
}

// describeDown lists the down wikis, at most most of them.
func describeDown(down map[string]string, most int) string {
	names := make([]string, 0, len(down))
	for n := range down {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names[:min(len(names), most)] {
		parts = append(parts, down[n])
	}
	out := strings.Join(parts, "; ")
	if len(names) > most {
		out += fmt.Sprintf("; and %d more", len(names)-most)
	}
	return out
}
