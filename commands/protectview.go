package commands

import (
	"strconv"
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// historyShown is how many protect log entries /protect TITLE lists;
// historyWindow is the span the history line counts protections over.
const (
	historyShown  = 5
	historyWindow = 90 * 24 * time.Hour
)

// HistoryRead is how many of the newest entries of a page's protect log
// HistoryLine is meant to be given: /protect reads that many with the page,
// and a reminder about one page reads that many when it is sent. A reader
// that gives it as many as this is told there may be more.
const HistoryRead = 50

// showProtection answers /protect TITLE: what the page has now (each type,
// level, expiry and cascading, and what it inherits from cascading pages),
// who set it and why, and its protection history from the wiki's log, read
// with the page (log, newest first, with comments). It changes nothing.
func (s *Service) showProtection(req *Request, page string, st mw.PageState, log mw.LogEventsPage) Reply {
	reply := Reply{Code: "protection-shown", URL: req.Site.PageURL(page), Page: page}
	req.Result = map[string]any{"title": page, "protections": st.Protections, "log_entries": len(log.Events)}
	switch {
	case len(st.Protections) == 0 && len(st.Inherited) == 0:
		reply.Title = i18n.M("wikimod-protect-view-none-title", page)
	default:
		reply.Title = i18n.M("wikimod-protect-view-title", page)
	}
	for _, p := range st.Protections {
		reply.Fields = append(reply.Fields, Field{Label: typeName(p.Type), Value: protectionNow(p.Level, p.Expiry, p.Cascade)})
	}
	for _, p := range st.Inherited {
		reply.Fields = append(reply.Fields, Field{Label: typeName(p.Type), Value: i18n.M("wikimod-protect-inherited", levelName(p.Level), describeExpiry(p.Expiry), p.Source)})
	}
	var notes []i18n.Message
	if len(st.Protections) > 0 && len(log.Events) > 0 {
		if e := log.Events[0]; e.Action == mw.ActionProtect || e.Action == mw.ActionModify || e.Action == mw.ActionMoveProt {
			if e.Comment == "" {
				notes = append(notes, i18n.M("wikimod-protect-set-by-no-reason", e.User, fromNow(e.Timestamp)))
			} else {
				notes = append(notes, i18n.M("wikimod-protect-set-by", e.User, fromNow(e.Timestamp), e.Comment))
			}
		}
	}
	notes = append(notes, historyOf(log).line(s.now()))
	if n := min(historyShown, len(log.Events)); n > 0 {
		notes = append(notes, i18n.M("wikimod-protect-log-heading"))
		for _, e := range log.Events[:n] {
			notes = append(notes, describeLogEntry(e))
		}
	} else {
		notes = append(notes, i18n.M("wikimod-protect-log-empty"))
	}
	notes = append(notes, i18n.M("wikimod-protect-view-unchanged", strconv.Quote(page)))
	reply.Text = i18n.Lines(notes...)
	return reply
}

// HistoryLine sums up a page's protect log (its entries, newest first,
// HistoryRead of them or all there are) in one line: how many protections
// in the last 90 days, and the last one ("3 protections in the last 90
// days; the last: Edit (edit): Allow only autoconfirmed users
// (autoconfirmed) for 1 week, by Alice 2 days ago."). It is the zero
// Message when the entries hold no protection.
func HistoryLine(events []mw.LogEvent, now time.Time) i18n.Message {
	return protectHistory{events: events, more: len(events) >= HistoryRead}.line(now)
}

// protectHistory is the newest entries of a page's protect log, newest
// first, and whether the log holds more than were read.
type protectHistory struct {
	events []mw.LogEvent
	more   bool
}

// historyOf is the history a read of the protect log gave.
func historyOf(log mw.LogEventsPage) protectHistory {
	return protectHistory{events: log.Events, more: log.Continue != ""}
}

// before is the part of the history older than e, one of its entries:
// the history as it was before e was written.
func (h protectHistory) before(e *mw.LogEvent) protectHistory {
	for i := range h.events {
		if h.events[i].LogID == e.LogID {
			return protectHistory{events: h.events[i+1:], more: h.more}
		}
	}
	return h
}

// summary counts the protections (protect and modify entries) in the
// window before now and finds the newest protection of all; partial is set
// when the log may hold more of the window than was read.
func (h protectHistory) summary(now time.Time) (count int, last *mw.LogEvent, partial bool) {
	for i := range h.events {
		e := &h.events[i]
		if e.Action != mw.ActionProtect && e.Action != mw.ActionModify {
			continue
		}
		if last == nil {
			last = e
		}
		if now.Sub(e.Timestamp) <= historyWindow {
			count++
		}
	}
	// Entries older than the window are not counted: only where the
	// oldest read is inside it may the unread ones count too.
	partial = h.more && len(h.events) > 0 && now.Sub(h.events[len(h.events)-1].Timestamp) <= historyWindow
	return count, last, partial
}

// line is the history as read (see HistoryLine); the zero Message when it
// holds no protection.
func (h protectHistory) line(now time.Time) i18n.Message {
	count, last, partial := h.summary(now)
	switch {
	case last == nil:
		return i18n.Message{}
	case partial:
		return i18n.M("wikimod-protect-history-more", count, i18n.Duration(historyWindow), describeDetails(last), last.User, fromNow(last.Timestamp))
	}
	return i18n.M("wikimod-protect-history", count, i18n.Duration(historyWindow), describeDetails(last), last.User, fromNow(last.Timestamp))
}

// replyLine is the history line of a reply to /protect, from the log as it
// was read before the write. Where the command protected the page (made:
// the wiki wrote a protect or modify entry, which that read could not
// hold), the protection just made is counted in and the one before it is
// named ("4 protections in the last 90 days, this one included; the one
// before: …"), or it is the page's first. Otherwise (nothing changed, or
// every protection was lifted) it is the history as read, or that the log
// holds no protection of the page.
func (h protectHistory) replyLine(now time.Time, made bool) i18n.Message {
	count, last, partial := h.summary(now)
	switch {
	case !made && last == nil && !h.more:
		return i18n.M("wikimod-protect-history-none")
	case !made:
		return h.line(now)
	case last == nil && h.more:
		// Past the entries read there may be protections: which is
		// the one before cannot be told.
		return i18n.Message{}
	case last == nil:
		return i18n.M("wikimod-protect-history-first")
	case partial:
		return i18n.M("wikimod-protect-history-with-this-more", count+1, i18n.Duration(historyWindow), describeDetails(last), last.User, fromNow(last.Timestamp))
	}
	return i18n.M("wikimod-protect-history-with-this", count+1, i18n.Duration(historyWindow), describeDetails(last), last.User, fromNow(last.Timestamp))
}

// describeLogEntry renders one protect log entry: when, who, what and why.
func describeLogEntry(e mw.LogEvent) i18n.Message {
	at := when(e.Timestamp)
	var line i18n.Message
	switch e.Action {
	case mw.ActionProtect:
		line = i18n.M("wikimod-protect-log-protect-plain", at, e.User)
		if len(e.Params.Details) > 0 {
			line = i18n.M("wikimod-protect-log-protect", at, e.User, describeDetails(&e))
		}
	case mw.ActionModify:
		line = i18n.M("wikimod-protect-log-modify-plain", at, e.User)
		if len(e.Params.Details) > 0 {
			line = i18n.M("wikimod-protect-log-modify", at, e.User, describeDetails(&e))
		}
	case mw.ActionUnprotect:
		line = i18n.M("wikimod-protect-log-unprotect", at, e.User)
	case mw.ActionMoveProt:
		line = i18n.M("wikimod-protect-log-move", at, e.User, e.Params.OldTitle)
	default:
		// An action an extension adds: its code is all wikimod knows.
		line = i18n.M("wikimod-protect-log-other", at, e.User, e.Action)
	}
	if e.Comment != "" {
		line = i18n.M("wikimod-protect-log-reason", line, e.Comment)
	}
	return line
}

// describeDetails renders what a protect log entry set: each type at its
// level, and for how long ("Edit (edit): Allow only administrators (sysop)
// for 1 week and Move (move): Allow only administrators (sysop)
// indefinitely").
func describeDetails(e *mw.LogEvent) i18n.Message {
	parts := make([]i18n.Message, 0, len(e.Params.Details))
	for _, d := range e.Params.Details {
		typ, level := typeName(d.Type), levelName(d.Level)
		var part i18n.Message
		if t, err := time.Parse(time.RFC3339, d.Expiry); err == nil {
			part = i18n.M("wikimod-protect-detail-for", typ, level, span(t.Sub(e.Timestamp)))
			if d.Cascade {
				part = i18n.M("wikimod-protect-detail-for-cascading", typ, level, span(t.Sub(e.Timestamp)))
			}
		} else {
			part = i18n.M("wikimod-protect-detail-indefinitely", typ, level)
			if d.Cascade {
				part = i18n.M("wikimod-protect-detail-indefinitely-cascading", typ, level)
			}
		}
		parts = append(parts, part)
	}
	return i18n.List(parts...)
}

// span is how long a protection was set for, rounded as people say it:
// whole weeks when it is that within an hour (the log's stamp and the
// expiry the wiki computed may be a second apart), else whole days, hours
// or minutes, the largest not above it.
func span(d time.Duration) i18n.Message {
	const day, week = 24 * time.Hour, 7 * 24 * time.Hour
	switch {
	case d+time.Hour >= week && (d+time.Hour)%week < 2*time.Hour:
		d = (d + time.Hour) / week * week
	case d >= day:
		d = (d + day/2) / day * day
	case d >= time.Hour:
		d = (d + time.Hour/2) / time.Hour * time.Hour
	default:
		d = (d + time.Minute/2) / time.Minute * time.Minute
	}
	return i18n.Duration(d)
}
