package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// historyShown is how many protect log entries /protect TITLE lists;
// historyWindow is the span it counts protections over.
const (
	historyShown  = 5
	historyWindow = 90 * 24 * time.Hour
)

// showProtection answers /protect TITLE: what the page has now (each type,
// level, expiry and cascading, and what it inherits from cascading pages),
// who set it and why, and its protection history from the wiki's log. It
// reads and changes nothing.
func (s *Service) showProtection(ctx context.Context, req *Request, page string, st mw.PageState) (Reply, error) {
	now := s.now()
	log, err := req.Wiki.Client.LogEvents(ctx, mw.LogEventsQuery{Type: mw.LogProtect, Title: page, Limit: 50})
	if err != nil {
		return Reply{}, aboutPage(page, err)
	}
	reply := Reply{Code: "protection-shown", URL: req.Site.PageURL(page)}
	req.Result = map[string]any{"title": page, "protections": st.Protections, "log_entries": len(log.Events)}
	switch {
	case len(st.Protections) == 0 && len(st.Inherited) == 0:
		reply.Title = i18n.Raw(page + " is not protected.")
	default:
		reply.Title = i18n.Raw("Protection of " + page + " now:")
	}
	for _, p := range st.Protections {
		value := p.Level + ", " + describeExpiry(p.Expiry, now)
		if p.Cascade {
			value += ", cascading"
		}
		reply.Fields = append(reply.Fields, Field{Label: i18n.Raw(p.Type), Value: i18n.Raw(value)})
	}
	for _, p := range st.Inherited {
		reply.Fields = append(reply.Fields, Field{Label: i18n.Raw(p.Type), Value: i18n.Raw(fmt.Sprintf("%s, %s, from the cascading protection of %s", p.Level, describeExpiry(p.Expiry, now), p.Source))})
	}
	var notes []string
	if len(st.Protections) > 0 && len(log.Events) > 0 {
		if e := log.Events[0]; e.Action == mw.ActionProtect || e.Action == mw.ActionModify || e.Action == mw.ActionMoveProt {
			notes = append(notes, fmt.Sprintf("Set by %s %s: %s", e.User, Relative(e.Timestamp.Sub(now)), orDefault(e.Comment, "(no reason given)")))
		}
	}
	if line := HistoryLine(log.Events, now); line != "" {
		notes = append(notes, line)
	}
	if n := min(historyShown, len(log.Events)); n > 0 {
		notes = append(notes, "The wiki's protect log, newest first:")
		for _, e := range log.Events[:n] {
			notes = append(notes, "- "+describeLogEntry(e))
		}
	} else {
		notes = append(notes, "The wiki's protect log has no entry for it.")
	}
	notes = append(notes, fmt.Sprintf("Nothing was changed. To change it: `/protect %q edit=LEVEL expiry=\"1 week\"`.", page))
	reply.Text = i18n.Raw(strings.Join(notes, "\n"))
	return reply, nil
}

// HistoryLine sums up a page's protect log (its entries, newest first) in
// one line: how many protections in the last 90 days, and the last one
// ("3 protections in the last 90 days; the last: 1 week, edit=autoconfirmed,
// by Alice"). Empty when the log has no protection.
func HistoryLine(events []mw.LogEvent, now time.Time) string {
	var count int
	var last *mw.LogEvent
	for i := range events {
		e := &events[i]
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
	if last == nil {
		return ""
	}
	more := ""
	if len(events) >= 50 {
		more = " or more"
	}
	return fmt.Sprintf("%s%s in the last 90 days; the last: %s, by %s %s.",
		Plural(count, "protection"), more, describeDetails(last), last.User, Relative(last.Timestamp.Sub(now)))
}

// describeLogEntry renders one protect log entry: when, who, what and why.
func describeLogEntry(e mw.LogEvent) string {
	what := map[string]string{mw.ActionProtect: "protected", mw.ActionModify: "changed", mw.ActionUnprotect: "lifted", mw.ActionMoveProt: "moved from " + e.Params.OldTitle}[e.Action]
	if what == "" {
		what = e.Action
	}
	line := fmt.Sprintf("%s, %s %s", e.Timestamp.UTC().Format("2006-01-02 15:04 UTC"), e.User, what)
	if d := describeDetails(&e); d != "" && (e.Action == mw.ActionProtect || e.Action == mw.ActionModify) {
		line += ": " + d
	}
	if e.Comment != "" {
		line += " (" + e.Comment + ")"
	}
	return line
}

// describeDetails renders what a protect log entry set: each type at its
// level, and for how long ("edit=sysop for 1 week, move=sysop
// indefinitely").
func describeDetails(e *mw.LogEvent) string {
	var parts []string
	for _, d := range e.Params.Details {
		part := d.Type + "=" + d.Level
		if t, err := time.Parse(time.RFC3339, d.Expiry); err == nil {
			part += " for " + span(t.Sub(e.Timestamp))
		} else {
			part += " indefinitely"
		}
		if d.Cascade {
			part += ", cascading"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

// span renders how long a protection was set for, rounded as people say
// it: "1 week", "3 days", "2 hours".
func span(d time.Duration) string {
	day := 24 * time.Hour
	switch {
	case d+time.Hour >= 7*day && (d+time.Hour)%(7*day) < 2*time.Hour:
		return Plural(int((d+time.Hour)/(7*day)), "week")
	case d >= day:
		return Plural(int((d+day/2)/day), "day")
	case d >= time.Hour:
		return Plural(int((d+time.Hour/2)/time.Hour), "hour")
	}
	return Plural(int((d+time.Minute/2)/time.Minute), "minute")
}
