package alerts

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/wikimod/wikimod/bot/notice"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// historyRead is how many entries of a page's protect log an alert reads
// for its history line: as many as /protect TITLE reads, which
// commands.HistoryLine counts on.
const historyRead = 50

// namesShown is how many names an alert lists before it says how many
// more there are.
const namesShown = 10

// levelName names a protection level in the wiki's words and its code, as
// every reply does.
func levelName(level string) i18n.Message { return commands.LevelName(level) }

// when is a point in time as the reader's platform writes it.
func when(t time.Time) i18n.Time { return i18n.Time{T: t, Style: i18n.TimeFull} }

// fromNow is a point in time as how far it is from now.
func fromNow(t time.Time) i18n.Time { return i18n.Time{T: t, Style: i18n.TimeRelative} }

// channels returns the notice channels to post w's alerts to now.
func (f *Follower) channels(w *wiki) []Channel {
	switch {
	case w.Channels != nil:
		return w.Channels()
	case f.cfg.Channels != nil:
		return f.cfg.Channels()
	}
	return nil
}

// post posts an alert to each of w's notice channels it has not reached
// yet, records which it reached, and audits the attempt. It reports
// whether the alert needs no more posting: every channel has it, or the
// attempts ran out.
func (f *Follower) post(ctx context.Context, w *wiki, a commands.Alert) bool {
	now := f.now()
	msg := f.notice(ctx, w, a, now)
	sent := notice.Post(ctx, f.channels(w), msg, f.cfg.SendTimeout, func(c string) bool { return slices.Contains(a.Delivered, c) })
	// The alert keeps every channel it reached, configured now or not.
	reached := append(slices.Clone(a.Delivered), sent.Posted...)
	done := len(sent.Failed) == 0 || a.Attempts+1 >= f.cfg.PostAttempts
	// Marking must happen even if ctx ended just after the post.
	markCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := f.store.MarkAlertPosted(markCtx, a.ID, reached, done, now); err != nil {
		// It went out; the next poll may post it once more.
		f.log.Error("alerts: an alert was posted but could not be marked so", "wiki", w.Name, "alert", a.ID, "err", err)
	}
	rec := notice.Record(now, w.Name, "alerts", "alert-send", reached,
		map[string]string{"alert": strconv.FormatInt(a.ID, 10), "title": a.Title, "rule": a.Rule})
	notice.Audit(markCtx, f.audit, f.log, rec, func() {
		rec.Outcome = commands.OutcomeOK
		if len(sent.Failed) == 0 {
			return
		}
		rec.Outcome, rec.Code = commands.OutcomeFailed, "send-failed"
		if done {
			rec.Code = "gave-up"
			f.log.Error("alerts: giving up on an alert after repeated failures to post it", "wiki", w.Name, "alert", a.ID, "failed", sent.Failed)
		} else {
			f.log.Warn("alerts: posting an alert failed; will retry", "wiki", w.Name, "alert", a.ID, "failed", sent.Failed)
		}
		rec.Result, _ = json.Marshal(map[string]any{"failed": sent.Failed, "reached": reached, "error": sent.Problem()})
		if f.metrics != nil {
			f.metrics.PostFailures.Inc()
		}
	})
	return done
}

// notice is the message about an alert: what happened on the page, its
// protection now and its history, the protection suggested and why, and a
// button for each choice and one to dismiss. What cannot be read from the
// wiki (it is down) is left out; the alert goes out all the same.
func (f *Follower) notice(ctx context.Context, w *wiki, a commands.Alert, now time.Time) commands.Reply {
	levels := []string{"", mw.LevelAutoconfirmed, mw.LevelSysop}
	url := ""
	if site, err := w.reader.SiteInfo(ctx); err == nil {
		if len(site.Restrictions.Levels) > 0 {
			levels = site.Restrictions.Levels
		}
		url = site.PageURL(a.Title)
	} else {
		f.log.Warn("alerts: reading the wiki's site information for an alert", "wiki", w.Name, "err", err)
	}
	var current []mw.PageProtection
	protectionKnown := false
	if states, err := w.reader.PageStates(ctx, a.Title); err == nil {
		current, protectionKnown = states[a.Title].Protections, true
	} else {
		f.log.Warn("alerts: reading a page's protection for an alert", "wiki", w.Name, "title", a.Title, "err", err)
	}
	var history i18n.Message
	var log []mw.LogEvent
	if page, err := w.reader.LogEvents(ctx, mw.LogEventsQuery{Type: mw.LogProtect, Title: a.Title, Limit: historyRead}); err == nil {
		log = page.Events
		history = commands.HistoryLine(log, now)
		if history.IsZero() {
			history = i18n.M("wikimod-alert-history-none")
		}
	} else {
		f.log.Warn("alerts: reading a page's protect log for an alert", "wiki", w.Name, "title", a.Title, "err", err)
	}
	st := pageProtection(current, log, now)
	sugg, others := suggest(levels, st, w.rules)

	window := i18n.Duration(w.rules.Window)
	title := i18n.M("wikimod-alert-reverts-title", a.Title, a.Reverts, len(a.Editors), window)
	if a.Rule == commands.AlertRuleAbuse {
		title = i18n.M("wikimod-alert-abuse-title", a.Title, a.AbuseHits, window)
	}
	reply := commands.Reply{
		Command:  cmdAlert,
		Outcome:  commands.OutcomeOK,
		Title:    title,
		Announce: true,
		URL:      url,
		Fields:   []commands.Field{{Label: i18n.M("wikimod-alert-field-page"), Value: i18n.Raw(a.Title)}},
	}
	if a.Reverts > 0 {
		reply.Fields = append(reply.Fields,
			commands.Field{Label: i18n.M("wikimod-alert-field-reverted"), Value: i18n.M("wikimod-alert-reverted", a.Reverts, names(a.Editors))},
			commands.Field{Label: i18n.M("wikimod-alert-field-reverters"), Value: names(a.Reverters)})
	}
	if a.AbuseHits > 0 {
		reply.Fields = append(reply.Fields, commands.Field{Label: i18n.M("wikimod-alert-field-abuse"),
			Value: i18n.M("wikimod-alert-abuse", a.AbuseHits, names(a.AbuseUsers), names(a.Filters))})
	}
	if protectionKnown {
		reply.Fields = append(reply.Fields, commands.Field{Label: i18n.M("wikimod-alert-field-protection"), Value: protections(current)})
	}
	if !history.IsZero() {
		reply.Fields = append(reply.Fields, commands.Field{Label: i18n.M("wikimod-alert-field-history"), Value: history})
	}
	if sugg.none {
		reply.Fields = append(reply.Fields, commands.Field{Label: i18n.M("wikimod-alert-field-suggested"), Value: sugg.why})
	} else {
		reply.Fields = append(reply.Fields, commands.Field{Label: i18n.M("wikimod-alert-field-suggested"),
			Value: i18n.Sentences(i18n.M("wikimod-alert-suggestion", commands.TypeName("edit"), levelName(sugg.level), sugg.lengthName()), sugg.why)})
	}
	reply.Text = i18n.M("wikimod-alert-text")
	id := strconv.FormatInt(a.ID, 10)
	button := func(c choice, label i18n.Message, style string) commands.Action {
		return commands.Action{Label: label, Style: style, Command: cmdAlert,
			Args: map[string]string{"do": commands.AlertProtect, "id": id, "level": c.level, "expiry": c.expiry(), "wiki": w.Name}}
	}
	if !sugg.none {
		reply.Actions = append(reply.Actions, button(sugg.choice, i18n.M("wikimod-alert-button-suggested", sugg.level, sugg.lengthName()), "primary"))
	}
	// Discord shows five buttons in a row: four choices and dismiss.
	for _, c := range others[:min(len(others), 4-len(reply.Actions))] {
		reply.Actions = append(reply.Actions, button(c, i18n.M("wikimod-alert-button-protect", c.level, c.lengthName()), ""))
	}
	reply.Actions = append(reply.Actions, commands.Action{Label: i18n.M("wikimod-alert-button-dismiss"), Command: cmdAlert,
		Args: map[string]string{"do": commands.AlertDismiss, "id": id, "wiki": w.Name}})
	return f.named(w, reply)
}

// named marks a notice about w with w's name, when there is more than one
// wiki, as the command service marks its replies.
func (f *Follower) named(w *wiki, r commands.Reply) commands.Reply {
	if f.multi() {
		r.Wiki = w.Name
		r.Title = i18n.M("wikimod-wiki-prefix", w.Name, r.Title)
	}
	return r
}

// names lists names as they are (wiki user names), the first namesShown
// of them and how many more.
func names(list []string) i18n.Message {
	shown := make([]i18n.Message, 0, min(len(list), namesShown))
	for _, n := range list[:min(len(list), namesShown)] {
		shown = append(shown, i18n.Raw(n))
	}
	if len(list) > namesShown {
		return i18n.M("wikimod-alert-names-more", i18n.List(shown...), len(list)-namesShown)
	}
	return i18n.List(shown...)
}

// protections names a page's protections now: each type and level, and
// until when.
func protections(ps []mw.PageProtection) i18n.Message {
	var items []i18n.Message
	for _, p := range ps {
		if p.Level == "" || p.Level == "all" {
			continue
		}
		items = append(items, protectionUntil(p.Type, p.Level, p.Expiry))
	}
	if len(items) == 0 {
		return i18n.M("wikimod-alert-protection-none")
	}
	return i18n.List(items...)
}

// protectionUntil names one protection and how long it lasts, from the
// expiry the wiki gives.
func protectionUntil(typ, level, expiry string) i18n.Message {
	if t, err := time.Parse(time.RFC3339, expiry); err == nil {
		return i18n.M("wikimod-alert-protection-until", commands.TypeName(typ), levelName(level), when(t), fromNow(t))
	}
	return i18n.M("wikimod-alert-protection-indefinitely", commands.TypeName(typ), levelName(level))
}
