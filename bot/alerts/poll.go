package alerts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wikimod/wikimod/bot/poll"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/mw"
)

// abuseRecheck is how long a wiki that said it has no AbuseFilter is taken
// at its word before the follower asks for its abuse log again.
const abuseRecheck = time.Hour

// Poll reads the named wiki's recent changes (and abuse log) once, at
// once, whatever the schedule says, and raises and posts what they call
// for: what each scheduled poll does. Tests and tools call it.
func (f *Follower) Poll(ctx context.Context, name string) error {
	if _, ok := f.byName[name]; !ok {
		return fmt.Errorf("alerts: no wiki %q", name)
	}
	err := f.sched.Poll(ctx, name)
	if errors.Is(err, poll.ErrBusy) {
		return fmt.Errorf("alerts: wiki %s is being read", name)
	}
	return err
}

// poll is one read of a wiki, by the schedule (with replicas, only by the
// replica holding the wiki's lease); after a takeover or a start (fresh),
// from a window before where the last reader stopped, to know that window
// again.
func (f *Follower) poll(ctx context.Context, name string, fresh bool) error {
	w := f.byName[name]
	now := f.now()
	if fresh {
		w.warm = false // what this process knew may be stale
	}
	if !w.warm {
		if err := f.warmUp(ctx, w, now); err != nil {
			return err
		}
	}
	// Each read goes back Overlap before where the last stopped: a
	// change is listed under the time it was saved, and MediaWiki lists
	// (and tags) it in updates that run after it answered, so it can
	// reach the list after a later one did. What is read again counts
	// only what it did not have before (see detector.change).
	q := mw.RecentChangesQuery{Start: w.changes.At.Add(-f.cfg.Overlap), Limit: f.cfg.Limit}
	if w.rules.AbuseHits > 0 && !now.Before(w.abuseOff) {
		q.AbuseLog = &mw.AbuseLogQuery{Start: w.hits.At.Add(-f.cfg.Overlap), Limit: f.cfg.Limit}
	}
	page, err := w.reader.RecentChanges(ctx, q)
	if mw.ErrorCode(err) == "readapidenied" && w.Session != nil && w.reader != w.Session {
		f.log.Info("alerts: the wiki refuses anonymous readers; reading it with the bot's session", "wiki", w.Name)
		w.reader = w.Session
		page, err = w.reader.RecentChanges(ctx, q)
	}
	if err != nil {
		return fmt.Errorf("alerts: %s: %w", w.Name, err)
	}
	if q.AbuseLog != nil && page.AbuseLog == nil {
		f.log.Debug("alerts: the wiki has no AbuseFilter; its abuse log is not read", "wiki", w.Name)
		w.abuseOff = now.Add(abuseRecheck)
	}
	for _, c := range page.Changes {
		w.det.change(c)
		if w.changes.Before(c.Timestamp, c.RCID) {
			w.changes = poll.Cursor{At: c.Timestamp, ID: c.RCID}
		}
	}
	if page.AbuseLog != nil {
		for _, h := range page.AbuseLog.Hits {
			w.det.abuse(h)
			if w.hits.Before(h.Timestamp, h.ID) {
				w.hits = poll.Cursor{At: h.Timestamp, ID: h.ID}
			}
		}
	}

	if err := f.judge(ctx, w, now); err != nil {
		// What was read may not all be raised: the next poll starts
		// again from what the store keeps.
		w.warm = false
		return err
	}
	w.det.forget()
	// The cursors move on once what was read is judged and raised: should
	// this process stop before, the next reader reads it again, and
	// raising it again finds the alert raised. A cursor read back after a
	// takeover is not saved until it is past where the last reader
	// stopped.
	if err := w.changesSaved.Advance(ctx, w.changes); err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	if err := w.hitsSaved.Advance(ctx, w.hits); err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	f.postUnposted(ctx, w)
	return nil
}

// warmUp makes a wiki's detection state anew: from the cursors the store
// keeps (the last reader's), moved back by the window, so that the next
// read knows the window again; and the wiki's open alerts, so that a burst
// that goes on is not announced again and an alert the last reader could
// not post is posted. A wiki never read starts a window before the
// follower was made.
func (f *Follower) warmUp(ctx context.Context, w *wiki, now time.Time) error {
	w.det = newDetector(w.rules)
	w.unposted = map[int64]bool{}
	for _, c := range []struct {
		to    *poll.Cursor
		saved *poll.Stream
	}{{&w.changes, w.changesSaved}, {&w.hits, w.hitsSaved}} {
		cur, err := c.saved.Resume(ctx)
		if err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		if cur.At.IsZero() {
			cur.At = f.born
		}
		// Read the window before it again: a revert needs the edit it
		// undid, and a burst its start.
		*c.to = poll.Cursor{At: cur.At.Add(-w.rules.Window)}
	}
	open, err := f.store.OpenAlerts(ctx, w.Name, w.changes.At.Add(-w.rules.quiet()))
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	for _, a := range open {
		w.det.page(a.Title).alert = &openAlert{id: a.ID, lastSeen: a.LastSeen}
		if !a.Posted {
			w.unposted[a.ID] = true
		}
	}
	w.warm = true
	return nil
}

// judge judges the pages that had trouble in the last read: a page whose
// rule is met raises an alert (or adds to the one its burst raised), and
// trouble on a page whose burst goes on keeps it going.
func (f *Follower) judge(ctx context.Context, w *wiki, now time.Time) error {
	for _, p := range w.det.troubled() {
		b := w.det.judge(p)
		a := b.alert
		goesOn := p.alert != nil && commands.SameBurst(commands.Alert{LastSeen: p.alert.lastSeen}, a.LastSeen, w.rules.quiet())
		switch {
		case b.meets:
			a.Wiki, a.Raised = w.Name, now
			stored, isNew, err := f.store.RaiseAlert(ctx, a, w.rules.quiet())
			if err != nil {
				return fmt.Errorf("alerts: %w", err)
			}
			p.alert = &openAlert{id: stored.ID, lastSeen: stored.LastSeen}
			if !isNew {
				continue
			}
			w.unposted[stored.ID] = true
			f.log.Info("alerts: a page is in trouble", "wiki", w.Name, "title", a.Title, "rule", a.Rule,
				"reverts", a.Reverts, "editors", len(a.Editors), "abuse_hits", a.AbuseHits, "alert", stored.ID)
			if f.metrics != nil {
				f.metrics.Raised.WithLabelValues(a.Rule).Inc()
			}
		case goesOn && a.LastSeen.After(p.alert.lastSeen):
			if err := f.store.TouchAlert(ctx, p.alert.id, a.LastSeen); err != nil {
				return fmt.Errorf("alerts: %w", err)
			}
			p.alert.lastSeen = a.LastSeen
		}
	}
	return nil
}

// postUnposted posts the wiki's alerts that have not reached every notice
// channel yet, oldest first.
func (f *Follower) postUnposted(ctx context.Context, w *wiki) {
	for _, id := range slices.Sorted(maps.Keys(w.unposted)) {
		if ctx.Err() != nil {
			return
		}
		a, err := f.store.Alert(ctx, id)
		if err != nil {
			f.log.Warn("alerts: reading an alert to post", "wiki", w.Name, "alert", id, "err", err)
			continue
		}
		if a.Posted || f.post(ctx, w, a) {
			delete(w.unposted, id)
		}
	}
}
