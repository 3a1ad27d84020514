package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wikimod/wikimod/mw"
)

// UnsettledLister lists the audit records a stop left unfinished (queued or
// pending), oldest first; storage.DB is one.
type UnsettledLister interface {
	Unsettled(ctx context.Context, limit int) ([]AuditRecord, error)
}

// SettleReport says how the records a stop left unfinished were settled.
type SettleReport struct {
	Applied     int // found in the wiki's logs: the command took effect
	Interrupted int // marked interrupted: not run, not applied, or not knowable
}

// settleScanLimit bounds how many unfinished records one start-up settles.
const settleScanLimit = 10000

// Settle finishes the audit records that a crash or kill left queued or
// pending. A queued command never reached the wiki. A pending one may have:
// a protection or an account is looked for in the wiki's own logs (the
// protect log, the user creation log) from the time the command was given,
// and the record is marked ok if the wiki did it, interrupted if not. What
// leaves no trace on the wiki (a reset mail) is marked interrupted with the
// code may-have-run. Only the records whose owner is gone are settled:
// gone reports that of an owner (Config.Instance of the process that took
// the command); nil means every owner but this process. Call it at
// start-up, before taking commands, and, where replicas share the
// database, from time to time: a replica that dies leaves its records to
// the others.
func (s *Service) Settle(ctx context.Context, store UnsettledLister, gone func(owner string) bool) (SettleReport, error) {
	var rep SettleReport
	all, err := store.Unsettled(ctx, settleScanLimit)
	if err != nil || len(all) == 0 {
		return rep, err
	}
	if gone == nil {
		gone = func(owner string) bool { return owner != s.instance || owner == "" }
	}
	recs := all[:0]
	for _, r := range all {
		if gone(r.Owner) {
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		return rep, nil
	}
	// Each wiki's logs are read once, from its oldest unfinished record,
	// and only for the wikis that have one.
	logs := map[string]*wikiLogs{}
	for i := range recs {
		rec := &recs[i]
		l := logs[rec.Wiki]
		if w, ok := s.wikis[rec.Wiki]; ok && l == nil {
			l = &wikiLogs{wiki: w.Client, since: rec.Time.Add(-2 * time.Second)}
			logs[rec.Wiki] = l
		}
		outcome, code, result := s.settleOne(ctx, l, rec)
		rec.Outcome, rec.Code = outcome, code
		if result != nil {
			if b, err := json.Marshal(result); err == nil {
				rec.Result = b
			}
		}
		if err := s.audit.Finish(ctx, rec); err != nil {
			return rep, fmt.Errorf("settle audit record %d: %w", rec.ID, err)
		}
		if outcome == OutcomeOK {
			rep.Applied++
		} else {
			rep.Interrupted++
		}
		s.log.Info("settled an unfinished command", "id", rec.ID, "command", rec.Command, "outcome", outcome, "code", code)
	}
	return rep, nil
}

func (s *Service) settleOne(ctx context.Context, logs *wikiLogs, rec *AuditRecord) (Outcome, string, any) {
	if rec.Outcome == OutcomeQueued {
		return OutcomeInterrupted, "not-run", nil
	}
	if logs == nil {
		// Its wiki is no longer configured: nothing can be looked up.
		return OutcomeInterrupted, "wiki-not-configured", nil
	}
	switch rec.Command {
	case "protect":
		title := rec.Args["title"]
		if title == "" {
			title = rec.Args["_"]
		}
		if title == "" {
			return OutcomeInterrupted, "may-have-run", nil
		}
		ev, err := logs.find(ctx, "protect", rec.Time, normalizeTitle(title))
		return settledBy(ev, err)
	case "createaccount":
		name := rec.Args["username"]
		if name == "" {
			name = rec.Args["_"]
		}
		if name == "" {
			return OutcomeInterrupted, "may-have-run", nil
		}
		ev, err := logs.find(ctx, "newusers", rec.Time, "User:"+normalizeTitle(name))
		return settledBy(ev, err)
	case "resetpassword", "reminder":
		return OutcomeInterrupted, "may-have-run", nil
	}
	if spec, ok := s.commands[rec.Command]; ok && spec.Spec.Write {
		return OutcomeInterrupted, "may-have-run", nil
	}
	return OutcomeInterrupted, "no-change", nil
}

func settledBy(ev *mw.LogEvent, err error) (Outcome, string, any) {
	switch {
	case err != nil:
		return OutcomeInterrupted, "wiki-unreachable", nil
	case ev != nil:
		return OutcomeOK, "settled-from-log", map[string]any{"logid": ev.LogID, "action": ev.Action, "timestamp": ev.Timestamp}
	}
	return OutcomeInterrupted, "not-in-log", nil
}

// wikiLogs reads the wiki's logs once per type, from the oldest unfinished
// record on, and finds entries in them.
type wikiLogs struct {
	wiki   *mw.Client
	since  time.Time
	events map[string][]mw.LogEvent
	errs   map[string]error
}

// maxSettlePages bounds the log pages read at one start-up.
const maxSettlePages = 20

func (l *wikiLogs) find(ctx context.Context, typ string, after time.Time, title string) (*mw.LogEvent, error) {
	if l.events == nil {
		l.events, l.errs = map[string][]mw.LogEvent{}, map[string]error{}
	}
	if _, read := l.events[typ]; !read && l.errs[typ] == nil {
		l.events[typ], l.errs[typ] = l.read(ctx, typ)
	}
	if err := l.errs[typ]; err != nil {
		return nil, err
	}
	// The wiki's timestamps have whole seconds.
	after = after.Truncate(time.Second)
	for i, ev := range l.events[typ] {
		if ev.Title == title && !ev.Timestamp.Before(after) {
			return &l.events[typ][i], nil
		}
	}
	return nil, nil
}

func (l *wikiLogs) read(ctx context.Context, typ string) ([]mw.LogEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []mw.LogEvent
	q := mw.LogEventsQuery{Type: typ, Newer: true, Start: l.since}
	for range maxSettlePages {
		page, err := l.wiki.LogEvents(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Events...)
		if page.Continue == "" {
			break
		}
		q.Continue = page.Continue
	}
	return out, nil
}

// normalizeTitle spells a typed title as the wiki does in its logs:
// underscores as spaces, no surrounding space, the first letter upper case
// (as on wikis with $wgCapitalLinks, the default).
func normalizeTitle(t string) string {
	t = strings.TrimSpace(strings.ReplaceAll(t, "_", " "))
	r, size := utf8.DecodeRuneInString(t)
	if r == utf8.RuneError {
		return t
	}
	return string(unicode.ToUpper(r)) + t[size:]
}
