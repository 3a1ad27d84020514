package reminders

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wikimod/wikimod/mw"
)

// cursorKey names a wiki's sync cursor in the database: the timestamp and
// log id of the last entry of its protect log read.
const cursorKey = "protect-log-cursor"

// SyncResult counts what a sync read and changed.
type SyncResult struct {
	Entries int // log entries read
	Pages   int // pages looked at
	ReconcileResult
}

// cursor is a position in the protect log. Entries are ordered by timestamp,
// then log id.
type cursor struct {
	at time.Time
	id int64
}

func (c cursor) String() string {
	return c.at.UTC().Format(time.RFC3339) + "|" + strconv.FormatInt(c.id, 10)
}

func (c cursor) before(e mw.LogEvent) bool {
	return e.Timestamp.After(c.at) || (e.Timestamp.Equal(c.at) && e.LogID > c.id)
}

func parseCursor(s string) (cursor, error) {
	if s == "" {
		return cursor{}, nil
	}
	at, id, ok := strings.Cut(s, "|")
	t, err := time.Parse(time.RFC3339, at)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || err2 != nil {
		return cursor{}, fmt.Errorf("reminders: bad sync cursor %q", s)
	}
	return cursor{at: t, id: n}, nil
}

// pageMeta is who last changed a page's protection on the wiki, and why.
type pageMeta struct {
	user, comment string
	at            time.Time
}

// Sync reads the named wiki's protect log from where its last sync stopped
// (the whole log the first time) and, for each page an entry names, makes
// the tracked protections match the page's current ones: a new finite
// protection is tracked, a changed expiry rescheduled, a lifted or
// indefinite one dropped with its reminders. Pages outside the wiki's
// scope are skipped. The cursor, the wiki's own, is saved after each page
// of the log, so an interrupted sync resumes where it stopped. One sync of
// a wiki runs at a time; other wikis' syncs run beside it.
func (s *Scheduler) Sync(ctx context.Context, name string) (SyncResult, error) {
	var res SyncResult
	w, ok := s.byName[name]
	if !ok {
		return res, fmt.Errorf("reminders: sync: no wiki %q", name)
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	saved, err := s.store.ReminderState(ctx, w.Name, cursorKey)
	if err != nil {
		return res, fmt.Errorf("reminders: %w", err)
	}
	cur, err := parseCursor(saved)
	if err != nil {
		return res, err
	}
	q := mw.LogEventsQuery{Type: mw.LogProtect, Newer: true, Start: cur.at}
	for {
		page, err := w.Client.LogEvents(ctx, q)
		if err != nil {
			return res, fmt.Errorf("reminders: sync %s: %w", w.Name, err)
		}
		next := cur
		var titles []string
		meta := map[string]pageMeta{}
		touch := func(ns int, title string, m pageMeta) {
			if title == "" || !w.scope.has(ns, title) {
				return
			}
			if _, seen := meta[title]; !seen {
				titles = append(titles, title)
			}
			meta[title] = m
		}
		for _, e := range page.Events {
			if !cur.before(e) {
				continue // read by the last sync
			}
			next = cursor{at: e.Timestamp, id: e.LogID}
			res.Entries++
			if e.ActionHidden {
				continue
			}
			m := pageMeta{user: e.User, comment: e.Comment, at: e.Timestamp}
			touch(e.NS, e.Title, m)
			if e.Action == mw.ActionMoveProt {
				touch(e.Params.OldNS, e.Params.OldTitle, m)
			}
		}
		if err := s.reconcile(ctx, w, titles, meta, &res); err != nil {
			return res, err
		}
		if next != cur {
			if err := s.store.SetReminderState(ctx, w.Name, cursorKey, next.String()); err != nil {
				return res, fmt.Errorf("reminders: %w", err)
			}
			cur = next
		}
		if page.Continue == "" {
			break
		}
		q.Continue = page.Continue
	}
	return res, nil
}

// reconcile makes the tracked protections of the given pages match what
// the wiki says of them now.
func (s *Scheduler) reconcile(ctx context.Context, w *wiki, titles []string, meta map[string]pageMeta, res *SyncResult) error {
	if len(titles) == 0 {
		return nil
	}
	states, err := w.Client.PageStates(ctx, titles...)
	if err != nil {
		return fmt.Errorf("reminders: sync %s: %w", w.Name, err)
	}
	site, err := w.Client.SiteInfo(ctx)
	if err != nil {
		return fmt.Errorf("reminders: sync %s: %w", w.Name, err)
	}
	now := s.now()
	for _, title := range titles {
		st, ok := states[title]
		if !ok || st.Invalid || !w.scope.has(st.NS, st.Title) {
			continue
		}
		m := meta[title]
		var want []TrackedProtection
		for _, p := range st.Protections {
			exp, ok := finiteExpiry(p.Expiry)
			if !ok {
				continue
			}
			var length time.Duration
			if !m.at.IsZero() {
				length = roundLength(exp.Sub(m.at))
			}
			want = append(want, TrackedProtection{
				Type: p.Type, Level: p.Level, Expiry: exp, Length: length, Cascade: p.Cascade,
				SetBy: m.user, Platform: "wiki", Reason: m.comment, URL: site.PageURL(st.Title), SetAt: m.at,
			})
		}
		r, err := s.store.ReconcilePage(ctx, w.Name, st.Title, want, s.leads, now)
		if err != nil {
			return fmt.Errorf("reminders: sync %s: %w", w.Name, err)
		}
		res.Pages++
		res.Added += r.Added
		res.Changed += r.Changed
		res.Removed += r.Removed
		res.Unchanged += r.Unchanged
	}
	return nil
}

// The schedule of the syncs. Each wiki's sync falls at its own offset in
// every SyncInterval, from a hash of its name, so that a farm's wikis are
// read spread over the interval rather than all at once, and a wiki keeps
// its offset when others are added. One cron entry wakes dispatchSyncs a
// few dozen times an interval; it starts the syncs whose slot has come, at
// most SyncConcurrency at a time, each in a goroutine that lives for that
// sync only. Nothing is kept per wiki but an offset and a slot number.

// syncOffset returns where in each interval the named wiki's sync falls.
func syncOffset(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// slotAt numbers the latest of w's sync times at or before t: they are the
// times offset past a multiple of the interval.
func (s *Scheduler) slotAt(w *wiki, t time.Time) int64 {
	return (t.UnixNano() - int64(w.offset)) / int64(s.cfg.SyncInterval)
}

// dispatchEvery is how often the schedule looks for syncs due: often
// enough that the offsets spread the syncs (a sixtieth of the interval),
// but at least a second apart and at most a minute.
func (s *Scheduler) dispatchEvery() time.Duration {
	return min(max(s.cfg.SyncInterval/60, time.Second), time.Minute)
}

// SyncDue starts the protect log syncs due by the scheduler's clock (each
// wiki's once a SyncInterval, at its own offset, and once more straight
// away if the last one ran past its next slot), at most SyncConcurrency at
// a time, waits for them, and returns the names of the wikis whose turn it
// was (with replicas, a wiki whose sync lease another replica held was
// left to that one, and is named all the same). Every
// SyncInterval it also forgets the protections expired KeepExpired ago.
// The schedule does the same without waiting for the syncs to end; tests
// call SyncDue with a fake clock.
func (s *Scheduler) SyncDue(ctx context.Context) []string {
	var wg sync.WaitGroup
	names := s.dispatchSyncs(ctx, &wg)
	wg.Wait()
	return names
}

// dispatchSyncs starts the syncs due now and returns when each has
// started (waiting for a free slot if need be), not when they end; started
// counts them too, when not nil.
func (s *Scheduler) dispatchSyncs(ctx context.Context, started *sync.WaitGroup) []string {
	now := s.now()
	s.pruneIfDue(ctx, now)
	var names []string
	for _, w := range s.wikis {
		if ctx.Err() != nil {
			return names
		}
		s.syncStateMu.Lock()
		slot := s.slotAt(w, now)
		due := !w.running && slot > w.slot
		if due {
			w.running = true
		}
		s.syncStateMu.Unlock()
		if !due {
			continue
		}
		select {
		case s.syncSlots <- struct{}{}:
		case <-ctx.Done():
			s.syncStateMu.Lock()
			w.running = false
			s.syncStateMu.Unlock()
			return names
		}
		s.syncStateMu.Lock()
		w.slot = slot
		s.syncStateMu.Unlock()
		names = append(names, w.Name)
		s.syncs.Add(1)
		if started != nil {
			started.Add(1)
		}
		go func() {
			defer func() {
				s.syncStateMu.Lock()
				w.running = false
				s.syncStateMu.Unlock()
				<-s.syncSlots
				if started != nil {
					started.Done()
				}
				s.syncs.Done()
			}()
			s.runSync(ctx, w)
		}()
	}
	return names
}

// runSync syncs one wiki for at most SyncTimeout, and logs and counts how
// it went.
func (s *Scheduler) runSync(ctx context.Context, w *wiki) {
	syncCtx, cancel := context.WithTimeout(ctx, s.cfg.SyncTimeout)
	defer cancel()
	if r := s.cfg.Replicas; r != nil {
		// One replica syncs each wiki: the one that takes its lease.
		lease := "sync:" + w.Name
		now := s.now()
		held, err := r.Store.TryLease(ctx, lease, r.Instance, now.Add(s.cfg.SyncTimeout), now)
		if err != nil || !held {
			if err != nil {
				s.log.Warn("cannot take the sync lease; another replica may sync", "wiki", w.Name, "err", err)
			}
			return
		}
		defer r.Store.ReleaseLease(context.WithoutCancel(ctx), lease, r.Instance)
	}
	res, err := s.Sync(syncCtx, w.Name)
	outcome := "ok"
	switch {
	case err != nil && ctx.Err() != nil:
		outcome = "stopped"
	case err != nil:
		outcome = "failed"
		s.log.Warn("protect log sync failed; will try again", "wiki", w.Name, "err", err)
	case res.Added+res.Changed+res.Removed > 0:
		s.log.Info("protect log synced", "wiki", w.Name, "entries", res.Entries, "added", res.Added, "changed", res.Changed, "removed", res.Removed)
	}
	if s.metrics != nil {
		s.metrics.Syncs.WithLabelValues(w.Name, outcome).Inc()
	}
}

// pruneIfDue forgets, once a SyncInterval, the protections of every wiki
// that expired KeepExpired ago and have nothing left to send.
func (s *Scheduler) pruneIfDue(ctx context.Context, now time.Time) {
	s.syncStateMu.Lock()
	due := now.Sub(s.lastPrune) >= s.cfg.SyncInterval
	if due {
		s.lastPrune = now
	}
	s.syncStateMu.Unlock()
	if !due {
		return
	}
	if _, err := s.store.PruneProtections(ctx, now.Add(-s.cfg.KeepExpired)); err != nil && ctx.Err() == nil {
		s.log.Warn("forgetting expired protections failed; will try again", "err", err)
	}
}
