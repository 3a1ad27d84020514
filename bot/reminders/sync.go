package reminders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/bot/poll"
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
	cur, err := w.cursor.Resume(ctx)
	if err != nil {
		return res, fmt.Errorf("reminders: %w", err)
	}
	q := mw.LogEventsQuery{Type: mw.LogProtect, Newer: true, Start: cur.At}
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
			if !cur.Before(e.Timestamp, e.LogID) {
				continue // read by the last sync
			}
			next = poll.Cursor{At: e.Timestamp, ID: e.LogID}
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
		if err := w.cursor.Advance(ctx, next); err != nil {
			return res, fmt.Errorf("reminders: %w", err)
		}
		cur = next
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

// stream is where the store says the named wiki's protect log was read
// to: its sync cursor.
func (s *Scheduler) stream(wiki string) *poll.Stream {
	return &poll.Stream{
		Load: func(ctx context.Context) (string, error) { return s.store.ReminderState(ctx, wiki, cursorKey) },
		Save: func(ctx context.Context, c string) error { return s.store.SetReminderState(ctx, wiki, cursorKey, c) },
	}
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
func (s *Scheduler) SyncDue(ctx context.Context) []string { return s.syncs.Due(ctx) }

// syncScheduled is a scheduled sync of the named wiki (with replicas, by
// the replica that took its sync lease), under SyncTimeout.
func (s *Scheduler) syncScheduled(ctx context.Context, name string, _ bool) error {
	res, err := s.Sync(ctx, name)
	if err == nil && res.Added+res.Changed+res.Removed > 0 {
		s.log.Info("protect log synced", "wiki", name, "entries", res.Entries, "added", res.Added, "changed", res.Changed, "removed", res.Removed)
	}
	return err
}

// synced logs and counts how a scheduled sync went. A sync left to the
// replica that holds the wiki's lease, or not tried for want of the lease,
// is not counted: another replica may have synced.
func (s *Scheduler) synced(name string, outcome poll.Outcome, err error, _ time.Duration) {
	switch {
	case outcome == poll.Elsewhere:
		return
	case errors.Is(err, poll.ErrLease):
		s.log.Warn("cannot take the sync lease; another replica may sync", "wiki", name, "err", err)
		return
	case outcome == poll.Failed:
		s.log.Warn("protect log sync failed; will try again", "wiki", name, "err", err)
	}
	if s.metrics != nil {
		s.metrics.Syncs.WithLabelValues(name, string(outcome)).Inc()
	}
}

// prune forgets the protections of every wiki that expired KeepExpired ago
// and have nothing left to send: the schedule calls it once a
// SyncInterval.
func (s *Scheduler) prune(ctx context.Context, now time.Time) {
	if _, err := s.store.PruneProtections(ctx, now.Add(-s.cfg.KeepExpired)); err != nil && ctx.Err() == nil {
		s.log.Warn("forgetting expired protections failed; will try again", "err", err)
	}
}
