package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wikimod/wikimod/mw"
)

// UnsettledLister lists the audit records a stop left unfinished (queued or
// pending), oldest first, and settles them; storage.DB is one.
type UnsettledLister interface {
	Unsettled(ctx context.Context, limit int) ([]AuditRecord, error)
	// Settle finishes a record that is still queued or pending, as Finish
	// does, and when tell is set marks its requester as one to tell how it
	// ended (NoticeStore). It reports false, changing nothing, for a
	// record that has ended meanwhile: another process settled it, or its
	// own finished it.
	Settle(ctx context.Context, rec *AuditRecord, tell bool) (bool, error)
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
// the command); nil means every owner but this process. Their requesters
// never had an answer: each is marked to be told (TellSettled).
//
// This process's own records are settled too where one is unfinished long
// after any command of it could still be running, and no write of it
// waits for the database to come back (see Service.FlushAudit): a record
// whose Begin reached the database though the database's answer did not.
// Its requester was answered then (the command was refused), so it is not
// told again.
//
// Call it at start-up, before taking commands, and from time to time: a
// replica that dies leaves its records to the others.
func (s *Service) Settle(ctx context.Context, store UnsettledLister, gone func(owner string) bool) (SettleReport, error) {
	var rep SettleReport
	all, err := store.Unsettled(ctx, settleScanLimit)
	if err != nil || len(all) == 0 {
		return rep, err
	}
	if gone == nil {
		gone = func(owner string) bool { return owner != s.instance || owner == "" }
	}
	now := s.now()
	type settling struct {
		rec  AuditRecord
		tell bool
	}
	var recs []settling
	for _, r := range all {
		switch {
		case s.instance != "" && r.Owner == s.instance:
			if s.orphaned(r, now) {
				recs = append(recs, settling{r, false})
			}
		case gone(r.Owner):
			// A batch's pages are told of as the batch, once.
			recs = append(recs, settling{r, !isBatchPage(r)})
		}
	}
	// A batch's confirmation is settled after its pages: its summary
	// says what they became (settleBatch).
	sort.SliceStable(recs, func(i, j int) bool { return !isBatchRun(recs[i].rec) && isBatchRun(recs[j].rec) })
	// Each wiki's logs are read once, from its oldest unfinished record,
	// and only for the wikis that have one.
	logs := map[string]*wikiLogs{}
	for i := range recs {
		rec := &recs[i].rec
		l := logs[rec.Wiki]
		if w, ok := s.wikis[rec.Wiki]; ok && l == nil {
			l = &wikiLogs{wiki: w.Client, since: rec.Time.Add(-2 * time.Second)}
			logs[rec.Wiki] = l
		}
		outcome, code, result := s.settleOne(ctx, l, rec)
		if isBatchRun(*rec) {
			if outcome, code, result, err = s.settleBatch(ctx, *rec, outcome, code, result); err != nil {
				return rep, fmt.Errorf("settle the batch of audit record %d: %w", rec.ID, err)
			}
		}
		rec.Outcome, rec.Code = outcome, code
		if result != nil {
			if b, err := json.Marshal(result); err == nil {
				rec.Result = b
			}
		}
		settled, err := store.Settle(ctx, rec, recs[i].tell)
		if err != nil {
			return rep, fmt.Errorf("settle audit record %d: %w", rec.ID, err)
		}
		if !settled {
			continue
		}
		if outcome == OutcomeOK {
			rep.Applied++
		} else {
			rep.Interrupted++
		}
		s.log.Info("settled an unfinished command", "id", rec.ID, "command", rec.Command, "outcome", outcome, "code", code,
			"owner", rec.Owner, "requester_told", recs[i].tell)
	}
	return rep, nil
}

// orphaned reports whether rec, an unfinished record of this process's,
// belongs to no command of it at now: none that it took can still be
// waiting, running or answering (the queue's wait limit, the longest
// command and its read-back, and the audit write are all past), and no
// failed write of rec waits to be tried again.
func (s *Service) orphaned(rec AuditRecord, now time.Time) bool {
	longest := s.timeout
	for _, w := range s.wikis {
		longest = max(longest, w.Timeout)
	}
	for _, c := range s.commands {
		// A batch runs for up to its own limit.
		longest = max(longest, c.Spec.Timeout)
	}
	q := s.queue
	settledBy := q.cfg.MaxWait + prepareTimeout + longest + settleTimeout + auditWriteTimeout + q.cfg.DeliverTimeout + time.Minute
	return now.Sub(rec.Time) > settledBy && !q.unwritten.holds(rec.ID)
}

func (s *Service) settleOne(ctx context.Context, logs *wikiLogs, rec *AuditRecord) (Outcome, string, any) {
	if rec.Outcome == OutcomeQueued {
		return OutcomeInterrupted, "not-run", nil
	}
	if logs == nil {
		// Its wiki is no longer configured: nothing can be looked up.
		return OutcomeInterrupted, "wiki-not-configured", nil
	}
	cmd, known := s.commands[rec.Command]
	switch {
	case known && cmd.Settle != nil:
		logType, title := cmd.Settle(*rec)
		if title == "" {
			return OutcomeInterrupted, "may-have-run", nil
		}
		ev, err := logs.find(ctx, logType, rec.Time, title)
		return settledBy(logType, ev, err)
	case known && cmd.Spec.Write:
		return OutcomeInterrupted, "may-have-run", nil
	}
	return OutcomeInterrupted, "no-change", nil
}

// positionalOr returns the record's argument key, or its positional words
// where key was given as bare words.
func positionalOr(rec AuditRecord, key string) string {
	if v := rec.Args[key]; v != "" {
		return v
	}
	return rec.Args["_"]
}

// settledBy is how a record settles by what its log shows; the result
// names the log, and the entry where there is one.
func settledBy(logType string, ev *mw.LogEvent, err error) (Outcome, string, any) {
	switch {
	case err != nil:
		return OutcomeInterrupted, "wiki-unreachable", map[string]any{"type": logType}
	case ev != nil:
		return OutcomeOK, "settled-from-log", map[string]any{"logid": ev.LogID, "type": ev.Type, "action": ev.Action, "timestamp": ev.Timestamp}
	}
	return OutcomeInterrupted, "not-in-log", map[string]any{"type": logType}
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
