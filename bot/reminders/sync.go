package reminders

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

// cursorKey names the sync cursor in the database: the timestamp and log id
// of the last protect log entry read.
const cursorKey = "protect-log-cursor"

// SyncResult counts what a sync read and changed.
type SyncResult struct {
	Entries int // log entries read
	Pages   int // pages looked at
	storage.ReconcileResult
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

// Sync reads the wiki's protect log from where the last sync stopped (the
// whole log the first time) and, for each page an entry names, makes the
// tracked protections match the page's current ones: a new finite
// protection is tracked, a changed expiry rescheduled, a lifted or
// indefinite one dropped with its reminders. Pages out of scope are
// skipped. The cursor is saved after each page of the log, so an
// interrupted sync resumes where it stopped.
func (s *Scheduler) Sync(ctx context.Context) (SyncResult, error) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	var res SyncResult
	saved, err := s.db.ReminderState(ctx, cursorKey)
	if err != nil {
		return res, fmt.Errorf("reminders: %w", err)
	}
	cur, err := parseCursor(saved)
	if err != nil {
		return res, err
	}
	q := mw.LogEventsQuery{Type: "protect", Newer: true, Start: cur.at}
	for {
		page, err := s.wiki.LogEvents(ctx, q)
		if err != nil {
			return res, fmt.Errorf("reminders: sync: %w", err)
		}
		next := cur
		var titles []string
		meta := map[string]pageMeta{}
		touch := func(ns int, title string, m pageMeta) {
			if title == "" || !s.scope.has(ns, title) {
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
			if e.Action == "move_prot" {
				touch(e.Params.OldNS, e.Params.OldTitle, m)
			}
		}
		if err := s.reconcile(ctx, titles, meta, &res); err != nil {
			return res, err
		}
		if next != cur {
			if err := s.db.SetReminderState(ctx, cursorKey, next.String()); err != nil {
				return res, fmt.Errorf("reminders: %w", err)
			}
			cur = next
		}
		if page.Continue == "" {
			break
		}
		q.Continue = page.Continue
	}
	if _, err := s.db.PruneProtections(ctx, s.now().Add(-s.cfg.KeepExpired)); err != nil {
		return res, fmt.Errorf("reminders: %w", err)
	}
	return res, nil
}

// reconcile makes the tracked protections of the given pages match what
// the wiki says of them now.
func (s *Scheduler) reconcile(ctx context.Context, titles []string, meta map[string]pageMeta, res *SyncResult) error {
	if len(titles) == 0 {
		return nil
	}
	states, err := s.wiki.PageStates(ctx, titles...)
	if err != nil {
		return fmt.Errorf("reminders: sync: %w", err)
	}
	site, err := s.wiki.SiteInfo(ctx)
	if err != nil {
		return fmt.Errorf("reminders: sync: %w", err)
	}
	now := s.now()
	for _, title := range titles {
		st, ok := states[title]
		if !ok || st.Invalid || !s.scope.has(st.NS, st.Title) {
			continue
		}
		m := meta[title]
		var want []storage.TrackedProtection
		for _, p := range st.Protections {
			exp, ok := finiteExpiry(p.Expiry)
			if !ok {
				continue
			}
			var length time.Duration
			if !m.at.IsZero() {
				length = roundLength(exp.Sub(m.at))
			}
			want = append(want, storage.TrackedProtection{
				Type: p.Type, Level: p.Level, Expiry: exp, Length: length, Cascade: p.Cascade,
				SetBy: m.user, Platform: "wiki", Reason: m.comment, URL: site.PageURL(st.Title), SetAt: m.at,
			})
		}
		r, err := s.db.ReconcilePage(ctx, st.Title, want, s.leads, now)
		if err != nil {
			return fmt.Errorf("reminders: sync: %w", err)
		}
		res.Pages++
		res.Added += r.Added
		res.Changed += r.Changed
		res.Removed += r.Removed
		res.Unchanged += r.Unchanged
	}
	return nil
}
