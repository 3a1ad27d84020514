package reminders

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wikimod/wikimod/bot/notice"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// Tick sends the reminders that are due, on every wiki. Cron calls it
// every minute; tests call it directly with a fake clock. The due reminders
// are claimed in the database first and marked sent after each successful
// post; a failed post is retried later with back-off. Each wiki's
// reminders go to that wiki's notice channels; when more pages of one wiki
// than DigestThreshold have reminders due at once, one digest goes out for
// that wiki instead of a message each.
func (s *Scheduler) Tick(ctx context.Context) error {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	if err := s.checkChannels(); err != nil {
		return err
	}
	now := s.now()
	claim := s.claims.Add(1)
	n, err := s.store.ClaimDue(ctx, now, claim)
	if err != nil {
		return fmt.Errorf("reminders: %w", err)
	}
	if n == 0 {
		return nil
	}
	// Whatever this tick does not settle goes back for the next one.
	defer func() {
		if err := s.store.ReleaseClaim(context.WithoutCancel(ctx), claim); err != nil {
			s.log.Error("releasing unsent reminders", "err", err)
		}
	}()
	rs, err := s.store.ClaimedReminders(ctx, claim)
	if err != nil {
		return fmt.Errorf("reminders: %w", err)
	}
	byWiki := map[string][]Reminder{}
	for _, r := range rs {
		byWiki[r.Protection.Wiki] = append(byWiki[r.Protection.Wiki], r)
	}
	for _, name := range slices.Sorted(maps.Keys(byWiki)) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w, ok := s.byName[name]
		if !ok {
			s.orphaned(ctx, claim, name, now)
			continue
		}
		if err := s.tickWiki(ctx, claim, w, GroupReminders(byWiki[name]), now); err != nil {
			return err
		}
	}
	return nil
}

// tickWiki sends one wiki's reminders of claim, in the messages they make:
// a message a group, each with its page's protection history read from the
// wiki's log as it goes out, or one digest when there are more groups than
// DigestThreshold, listing the first DigestLines (a digest reads no log:
// it would be a request per page it lists).
func (s *Scheduler) tickWiki(ctx context.Context, claim int64, w *wiki, groups []ReminderGroup, now time.Time) error {
	if total := len(groups); total > s.cfg.DigestThreshold {
		listed := groups
		if n := s.cfg.DigestLines; n > 0 && n < total {
			listed = groups[:n]
		}
		s.deliver(ctx, claim, w, nil, s.digest(w, listed, total, now), "digest", total, delivered(groups...), now)
		return nil
	}
	readLog := true
	for _, g := range groups {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ids := make([]int64, len(g.Reminders))
		for i, r := range g.Reminders {
			ids[i] = r.ID
		}
		var history i18n.Message
		if readLog {
			var err error
			if history, err = s.history(ctx, w, g.Title, now); err != nil {
				// The wiki does not answer now: the tick's other
				// reminders go out without their lines rather than
				// wait for it again.
				readLog = false
				s.log.Warn("could not read a page's protect log; its reminder goes out without its history", "wiki", w.Name, "title", g.Title, "err", err)
			}
		}
		s.deliver(ctx, claim, w, ids, s.single(w, g, now, history), "single", 1, delivered(g), now)
	}
	return nil
}

// historyTimeout bounds the read of one page's protect log for its
// reminder: a wiki slow to answer costs the reminder its history line, not
// its time.
const historyTimeout = 5 * time.Second

// history reads a page's protect log (its newest commands.HistoryRead
// entries, one request) and sums it up in a line, as a /protect reply
// does: the zero Message when the log holds no protection.
func (s *Scheduler) history(ctx context.Context, w *wiki, title string, now time.Time) (i18n.Message, error) {
	rctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	log, err := w.Client.LogEvents(rctx, mw.LogEventsQuery{Type: mw.LogProtect, Title: title, Limit: commands.HistoryRead})
	if err != nil {
		return i18n.Message{}, err
	}
	return commands.HistoryLine(log.Events, now), nil
}

// orphaned handles the reminders of a wiki no longer configured (taken out
// of the farm, or data a renamed wiki left under its old name): there is
// nowhere to post them and no session to act on them with. They are
// retried with the usual back-off, in case the wiki comes back, and then
// given up, rather than claimed and released every minute for ever.
func (s *Scheduler) orphaned(ctx context.Context, claim int64, name string, now time.Time) {
	markCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	gaveUp, err := s.store.RetryLater(markCtx, claim, name, nil, now, s.cfg.Retry, "wiki "+name+" is not configured", nil)
	if err != nil {
		s.log.Error("could not reschedule the reminders of a wiki not configured", "wiki", name, "err", err)
		return
	}
	s.log.Warn("reminders are due on a wiki that is not configured; they are not sent", "wiki", name, "gave_up", gaveUp)
}

// channels returns the notice channels to post w's reminders to now.
func (s *Scheduler) channels(w *wiki) []Channel {
	switch {
	case w.Channels != nil:
		return w.Channels()
	case s.cfg.Channels != nil:
		return s.cfg.Channels()
	}
	return []Channel{{Name: "notice", Notify: s.cfg.Notify}}
}

// delivered returns the channels every reminder of the groups reached on
// an earlier, partly failed attempt.
func delivered(groups ...ReminderGroup) map[string]bool {
	var out map[string]bool
	for _, g := range groups {
		for _, r := range g.Reminders {
			these := map[string]bool{}
			for _, name := range r.Delivered {
				if out == nil || out[name] {
					these[name] = true
				}
			}
			out = these
		}
	}
	return out
}

// deliver posts one message about the reminders of claim on w with the
// given ids (nil: all of them) to each of w's notice channels it has not
// reached yet, then marks them sent, or due again after the back-off if a
// channel failed, and audits the attempt.
func (s *Scheduler) deliver(ctx context.Context, claim int64, w *wiki, ids []int64, msg commands.Reply, kind string, pages int, skip map[string]bool, now time.Time) {
	sent := notice.Post(ctx, s.channels(w), msg, s.cfg.SendTimeout, func(c string) bool { return skip[c] })
	reached, failed := sent.Reached, sent.Failed
	// Marking must happen even if ctx ended just after the post.
	markCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	rec := notice.Record(now, w.Name, "reminders", "reminder-send", reached,
		map[string]string{"kind": kind, "pages": strconv.Itoa(pages), "about": msg.Title.String()})
	if ids != nil {
		rec.Args["reminders"] = joinIDs(ids)
	}
	notice.Audit(markCtx, s.audit, s.log, rec, func() {
		if len(failed) == 0 {
			if err := s.store.MarkSent(markCtx, claim, w.Name, ids, now); err != nil {
				// It went out; after a restart it may go out once more.
				s.log.Error("a reminder was posted but could not be marked sent", "err", err)
			}
			rec.Outcome = commands.OutcomeOK
			if s.metrics != nil {
				s.metrics.Messages.WithLabelValues(kind).Inc()
			}
			return
		}
		detail := sent.Problem()
		gaveUp, err := s.store.RetryLater(markCtx, claim, w.Name, ids, now, s.cfg.Retry, detail, reached)
		if err != nil {
			s.log.Error("could not reschedule a failed reminder", "err", err)
		}
		rec.Outcome, rec.Code = commands.OutcomeFailed, "send-failed"
		outcome := "retry"
		if gaveUp > 0 {
			rec.Code, outcome = "gave-up", "gave-up"
			s.log.Error("giving up on reminders after repeated failures to post them", "wiki", w.Name, "count", gaveUp, "about", msg.Title, "failed", failed, "err", detail)
		} else {
			s.log.Warn("posting a reminder failed; will retry", "wiki", w.Name, "about", msg.Title, "failed", failed, "err", detail)
		}
		rec.Result, _ = json.Marshal(map[string]any{"failed": failed, "reached": reached, "error": detail})
		if s.metrics != nil {
			s.metrics.SendFailures.WithLabelValues(outcome).Inc()
		}
	})
}

func joinIDs(ids []int64) string {
	parts := make([]string, 0, min(len(ids), 20))
	for i, id := range ids {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("and %d more", len(ids)-20))
			break
		}
		parts = append(parts, strconv.FormatInt(id, 10))
	}
	return strings.Join(parts, ",")
}

// named marks a notice about w with w's name, when there is more than one
// wiki: Wiki is set and the title starts with "[NAME] ", as the command
// service marks its replies.
func (s *Scheduler) named(w *wiki, r commands.Reply) commands.Reply {
	if s.multi() {
		r.Wiki = w.Name
		r.Title = i18n.M("wikimod-wiki-prefix", w.Name, r.Title)
	}
	return r
}

// single is the message about one page's protections expiring together,
// with the page's protection history in a line (history; zero: none).
func (s *Scheduler) single(w *wiki, g ReminderGroup, now time.Time, history i18n.Message) commands.Reply {
	first := g.Reminders[0]
	p := first.Protection
	expired := !g.Expiry.After(now)
	var title i18n.Message
	switch {
	case !expired:
		title = i18n.M("wikimod-reminder-expires-title", g.Title, fromNow(g.Expiry))
	case now.Sub(g.Expiry) > s.cfg.LateAfter:
		title = i18n.M("wikimod-reminder-expired-ago-title", g.Title, fromNow(g.Expiry))
	default:
		title = i18n.M("wikimod-reminder-expired-title", g.Title)
	}
	var notes []i18n.Message
	if late, due := s.late(g, now); late {
		notes = append(notes, i18n.M("wikimod-reminder-late", fromNow(due), when(due)))
	}
	if recovered(g) {
		notes = append(notes, i18n.M("wikimod-reminder-may-repeat"))
	}
	if !history.IsZero() {
		notes = append(notes, history)
	}
	switch {
	case expired && p.Length > 0:
		notes = append(notes, i18n.M("wikimod-reminder-expired-protect-again"))
	case expired:
		notes = append(notes, i18n.M("wikimod-reminder-expired-protect"))
	case p.Length > 0:
		notes = append(notes, i18n.M("wikimod-reminder-extend-again"))
	default:
		notes = append(notes, i18n.M("wikimod-reminder-extend-protect"))
	}
	reply := commands.Reply{
		Command:  "reminder",
		Outcome:  commands.OutcomeOK,
		Title:    title,
		Text:     i18n.Lines(notes...),
		Announce: true,
		URL:      p.URL,
		Fields: []commands.Field{
			{Label: i18n.M("wikimod-reminder-field-page"), Value: i18n.Raw(g.Title)},
			{Label: i18n.M("wikimod-reminder-field-protection"), Value: levels(g.Reminders)},
			{Label: i18n.M("wikimod-reminder-field-expires"), Value: whenFromNow(g.Expiry)},
			{Label: i18n.M("wikimod-reminder-field-set-by"), Value: s.setBy(p)},
		},
	}
	if p.Reason != "" {
		reply.Fields = append(reply.Fields, commands.Field{Label: i18n.M("wikimod-reminder-field-reason"), Value: i18n.Raw(p.Reason)})
	}
	id := strconv.FormatInt(first.ID, 10)
	if p.Length > 0 {
		label := i18n.M("wikimod-reminder-button-extend", length(p.Length))
		if expired {
			label = i18n.M("wikimod-reminder-button-protect-again", length(p.Length))
		}
		reply.Actions = append(reply.Actions, commands.Action{Label: label, Style: "primary", Command: "reminder",
			Args: map[string]string{"do": "extend", "id": id, "wiki": w.Name}})
	}
	if !expired {
		reply.Actions = append(reply.Actions, commands.Action{Label: i18n.M("wikimod-reminder-button-dismiss"), Command: "reminder",
			Args: map[string]string{"do": "dismiss", "id": id, "wiki": w.Name}})
	}
	return s.named(w, reply)
}

// digest is one message about many pages' reminders on one wiki due at
// once.
func (s *Scheduler) digest(w *wiki, groups []ReminderGroup, total int, now time.Time) commands.Reply {
	reply := commands.Reply{
		Command:  "reminder",
		Outcome:  commands.OutcomeOK,
		Title:    i18n.M("wikimod-reminder-digest-title", total),
		Announce: true,
	}
	anyLate, anyRecovered := false, false
	for _, g := range groups {
		setBy := s.setBy(g.Reminders[0].Protection)
		value := i18n.M("wikimod-reminder-digest-expires", levels(g.Reminders), fromNow(g.Expiry), when(g.Expiry), setBy)
		if !g.Expiry.After(now) {
			value = i18n.M("wikimod-reminder-digest-expired", levels(g.Reminders), fromNow(g.Expiry), when(g.Expiry), setBy)
		}
		if late, _ := s.late(g, now); late {
			value = i18n.M("wikimod-reminder-digest-marked-late", value)
			anyLate = true
		}
		if recovered(g) {
			value = i18n.M("wikimod-reminder-digest-marked-may-repeat", value)
			anyRecovered = true
		}
		reply.Fields = append(reply.Fields, commands.Field{Label: i18n.Raw(g.Title), Value: value})
	}
	// The command that lists the rest, as it is typed: on a farm, for
	// this wiki.
	expiring := "/expiring"
	if s.multi() {
		expiring = "/expiring wiki=" + w.Name
	}
	notes := []i18n.Message{i18n.M("wikimod-reminder-digest-text", total, expiring)}
	if anyLate {
		notes = append(notes, i18n.M("wikimod-reminder-digest-late"))
	}
	if anyRecovered {
		notes = append(notes, i18n.M("wikimod-reminder-digest-may-repeat"))
	}
	if total > len(groups) {
		notes = append(notes, i18n.M("wikimod-reminder-digest-more", total-len(groups)))
	}
	reply.Text = i18n.Lines(notes...)
	return s.named(w, reply)
}

// late reports whether a group's reminder is late, and when it was due.
func (s *Scheduler) late(g ReminderGroup, now time.Time) (bool, time.Time) {
	due := g.Reminders[0].RemindAt
	for _, r := range g.Reminders[1:] {
		if r.RemindAt.Before(due) {
			due = r.RemindAt
		}
	}
	return now.Sub(due) > s.cfg.LateAfter, due
}

// recovered reports whether a group's message may repeat one already
// posted: a reminder of it was taken over from a stopped tick.
func recovered(g ReminderGroup) bool {
	return slices.ContainsFunc(g.Reminders, func(r Reminder) bool { return r.Recovered })
}

// levels lists a group's protections, each type and level in the wiki's
// words: "Edit (edit): Allow only administrators (sysop) and Move (move):
// …".
func levels(rs []Reminder) i18n.Message {
	items := make([]i18n.Message, len(rs))
	for i, r := range rs {
		items[i] = protection(r.Protection.Type, r.Protection.Level)
	}
	return i18n.List(items...)
}

// protection names one protection: its type and level in the wiki's words.
func protection(typ, level string) i18n.Message {
	return i18n.M("wikimod-reminder-protection", commands.TypeName(typ), commands.LevelName(level))
}

// whenFromNow is a point in time and how far it is from now: "2026-11-21
// 17:35 UTC (in 1 hour)".
func whenFromNow(t time.Time) i18n.Message {
	return i18n.M("wikimod-reminder-when", when(t), fromNow(t))
}

// setBy says who set a protection, where and when: "alice on Slack
// (channel C1), 2026-11-14 17:35 UTC".
func (s *Scheduler) setBy(p TrackedProtection) i18n.Message {
	who := i18n.Raw(p.SetBy)
	if p.SetBy == "" {
		who = i18n.M("wikimod-reminder-set-by-someone")
	}
	out := who
	switch {
	case p.Platform == "wiki": // set on the wiki itself, found by a sync
		out = i18n.M("wikimod-reminder-set-on-wiki", who)
	case s.cfg.PlatformTitle != nil && p.Platform != "":
		out = i18n.M("wikimod-reminder-set-on", who, s.cfg.PlatformTitle(p.Platform))
	case p.Platform != "":
		out = i18n.M("wikimod-reminder-set-on", who, p.Platform)
	}
	if p.Channel != "" && (s.cfg.ChannelsOf == nil || s.cfg.ChannelsOf(p.Platform)) {
		out = i18n.M("wikimod-reminder-set-in-channel", out, p.Channel)
	}
	if !p.SetAt.IsZero() {
		out = i18n.M("wikimod-reminder-set-at", out, when(p.SetAt))
	}
	return out
}
