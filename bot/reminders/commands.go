package reminders

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

const (
	defaultWithin = 7 * day
	maxWithin     = 366 * day
	listLimit     = 25
)

// Commands returns the commands the reminders add to the command service:
// /expiring, and reminder, which the reminders' buttons run. Both act on
// the wiki the service chose for the request (req.Wiki: the buttons carry
// wiki=NAME, so a press is routed to the reminder's wiki and the presser's
// rights are checked there), and both need the wiki right protect: they
// are the moderators' business.
func (s *Scheduler) Commands() []commands.Command {
	return []commands.Command{
		{
			Spec: commands.Spec{
				Name:       "expiring",
				Summary:    "List the protections that expire soon",
				Usage:      "/expiring [within=DURATION]",
				Help:       "Lists the temporary protections wikimod tracks on the wiki that expire within the given time (default 7 days), soonest first, with who set them and when the next reminder is due. Durations: `36h`, `3 days`, `2 weeks`.",
				Positional: "within",
				Right:      mw.RightProtect,
				Params:     []commands.Param{{Name: "within", Description: "How far ahead to look: 36h, 3 days, 2 weeks (default 7 days)"}},
			},
			Run: s.runExpiring,
		},
		{
			Spec: commands.Spec{
				Name:    "reminder",
				Summary: "Act on an expiry reminder (its buttons run this)",
				Usage:   "/reminder do=extend|dismiss id=ID",
				Help: "`do=extend` extends the protection a reminder is about by the length it was set for, keeping the page's other protections as they are; " +
					"`do=dismiss` stops the remaining reminders about that expiry. The reminder's buttons send this for you.",
				Right:      mw.RightProtect,
				ButtonOnly: true,
				Write:      true,
				Params: []commands.Param{
					{Name: "do", Description: "extend or dismiss", Required: true},
					{Name: "id", Description: "The reminder's number", Required: true},
				},
			},
			Run: s.runReminder,
		},
	}
}

func usageError(format string, a ...any) error {
	return &commands.Error{Outcome: commands.OutcomeInvalid, Code: "usage", Message: i18n.Raw(fmt.Sprintf(format, a...))}
}

// checkKeys refuses arguments spec does not list.
func checkKeys(spec commands.Spec, args commands.Args) error {
	for _, k := range args.Keys() {
		if _, ok := spec.Param(k); !ok {
			var names []string
			for _, p := range spec.Params {
				names = append(names, "`"+p.Name+"=`")
			}
			return usageError("`/%s` has no `%s=`. It takes %s. Usage: `%s`", spec.Name, k, strings.Join(names, ", "), spec.Usage)
		}
	}
	return nil
}

func (s *Scheduler) runExpiring(ctx context.Context, req *commands.Request) (commands.Reply, error) {
	if err := checkKeys(req.Spec, req.Args); err != nil {
		return commands.Reply{}, err
	}
	text, given := req.Args.Get("within")
	if len(req.Args.Positional) > 0 {
		if given {
			return commands.Reply{}, usageError("Give `within` once: as a bare word or as `within=`, not both.")
		}
		text, given = strings.Join(req.Args.Positional, " "), true
	}
	within := defaultWithin
	if given {
		d, err := parseWithin(text)
		if err != nil {
			return commands.Reply{}, usageError("`within=%s` is not a duration. Write it like `36h`, `3 days` or `2 weeks`.", text)
		}
		if d > maxWithin {
			return commands.Reply{}, usageError("`within=` can look ahead a year at most.")
		}
		within = d
	}
	w, err := s.requestWiki(req)
	if err != nil {
		return commands.Reply{}, err
	}
	now := s.now()
	ps, total, err := s.store.ExpiringProtections(ctx, w.Name, now, now.Add(within), listLimit)
	if err != nil {
		return commands.Reply{}, err
	}
	req.Result = map[string]int{"expiring": total}
	if total == 0 {
		return commands.Reply{Title: i18n.Raw(fmt.Sprintf("No tracked protection expires within %s.", length(within))),
			Text: i18n.Raw("wikimod tracks the temporary protections set through `/protect` and those it reads in the wiki's protect log.")}, nil
	}
	reply := commands.Reply{Title: i18n.Raw(fmt.Sprintf("%s expire within %s.", commands.Plural(total, "protection"), length(within)))}
	if total == 1 {
		reply.Title = i18n.Raw(fmt.Sprintf("1 protection expires within %s.", length(within)))
	}
	for _, p := range ps {
		value := fmt.Sprintf("%s, until %s (%s); set by %s", p.Level, clock(p.Expiry), commands.Relative(p.Expiry.Sub(now)), s.setBy(p))
		switch {
		case p.Dismissed:
			value += "; reminders dismissed"
		case !p.NextReminder.IsZero():
			value += "; next reminder " + commands.Relative(p.NextReminder.Sub(now))
		}
		if p.ReminderID != 0 {
			value += fmt.Sprintf("; reminder %d", p.ReminderID)
		}
		reply.Fields = append(reply.Fields, commands.Field{Label: i18n.Raw(p.Title + " (" + p.Type + ")"), Value: i18n.Raw(value)})
	}
	var notes []string
	if total > len(ps) {
		notes = append(notes, fmt.Sprintf("Showing the %d that expire first of %d; look less far ahead with `within=` to see fewer.", len(ps), total))
	}
	for _, p := range ps {
		if p.ReminderID != 0 {
			notes = append(notes, fmt.Sprintf("To extend one by the length it was set for, or to stop its reminders, type what a reminder's buttons send: `/reminder do=extend id=%d` or `/reminder do=dismiss id=%d`.", p.ReminderID, p.ReminderID))
			break
		}
	}
	reply.Text = i18n.Raw(strings.Join(notes, "\n"))
	return reply, nil
}

func (s *Scheduler) runReminder(ctx context.Context, req *commands.Request) (commands.Reply, error) {
	if err := checkKeys(req.Spec, req.Args); err != nil {
		return commands.Reply{}, err
	}
	if len(req.Args.Positional) > 0 {
		return commands.Reply{}, usageError("`/reminder` takes only `do=` and `id=`. Usage: `%s`", req.Spec.Usage)
	}
	do, _ := req.Args.Get("do")
	idText, _ := req.Args.Get("id")
	id, err := strconv.ParseInt(strings.TrimSpace(idText), 10, 64)
	if err != nil || id <= 0 {
		return commands.Reply{}, usageError("`id=%s` is not a reminder number. Usage: `%s`", idText, req.Spec.Usage)
	}
	if do != "extend" && do != "dismiss" {
		return commands.Reply{}, usageError("`do=%s`: say `do=extend` or `do=dismiss`.", do)
	}
	w, err := s.requestWiki(req)
	if err != nil {
		return commands.Reply{}, err
	}
	// The reminder must be about a page of the wiki the request is for:
	// that is where the presser's rights were checked, and where an
	// extension would protect the page.
	r, err := s.store.Reminder(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return commands.Reply{}, errGone
	}
	if err != nil {
		return commands.Reply{}, err
	}
	if r.Protection.Wiki != w.Name {
		return commands.Reply{}, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "reminder-wrong-wiki", Message: i18n.Raw(fmt.Sprintf(
			"Reminder %d is about %s on the wiki `%s`, not on `%s`, so nothing was done. Its buttons act on `%s`; to act on it yourself, add `wiki=%s`.",
			id, r.Protection.Title, r.Protection.Wiki, w.Name, r.Protection.Wiki, r.Protection.Wiki))}
	}
	if do == "extend" {
		return s.extend(ctx, req, w, id)
	}
	return s.dismiss(ctx, req, w, r)
}

// requestWiki returns the scheduler's wiki the request is for: the one the
// command service chose (the only one, for a request that names none).
func (s *Scheduler) requestWiki(req *commands.Request) (*wiki, error) {
	var name string
	switch {
	case req.Wiki != nil:
		name = req.Wiki.Name
	case len(s.wikis) == 1:
		name = s.wikis[0].Name
	}
	w, ok := s.byName[name]
	if !ok {
		return nil, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "reminders-off", Message: i18n.Raw(fmt.Sprintf(
			"wikimod keeps no expiry reminders for the wiki `%s`.", name))}
	}
	return w, nil
}

var errGone = &commands.Error{Outcome: commands.OutcomeInvalid, Code: "reminder-gone",
	Message: i18n.Raw("That reminder is gone: the protection it was about was lifted or changed since, or it was cleaned up long after it expired. `/expiring` lists what is tracked now.")}

// dismiss stops the reminders about the expiry r, a reminder on w, is
// about.
func (s *Scheduler) dismiss(ctx context.Context, req *commands.Request, w *wiki, r Reminder) (commands.Reply, error) {
	now := s.now()
	// Silencing the reminders about a protection is for those who could
	// set it: a person who may set only semi-protection does not dismiss
	// the reminders about a sysop protection.
	tracked, err := s.store.PageProtections(ctx, w.Name, r.Protection.Title)
	if err != nil {
		return commands.Reply{}, err
	}
	rights := []string{commands.LevelRight(r.Protection.Level)}
	for _, p := range tracked {
		if p.Expiry.Equal(r.Expiry) {
			rights = append(rights, commands.LevelRight(p.Level))
		}
	}
	if err := req.Check(rights...); err != nil {
		return commands.Reply{}, err
	}
	r, n, err := s.store.DismissReminders(ctx, r.ID, req.Actor.String(), now)
	if errors.Is(err, ErrNotFound) {
		return commands.Reply{}, errGone
	}
	if err != nil {
		return commands.Reply{}, err
	}
	title := r.Protection.Title
	req.Result = map[string]any{"title": title, "expiry": r.Expiry, "dismissed": n}
	if n == 0 {
		return commands.Reply{Title: i18n.Raw("Nothing left to dismiss."), URL: r.Protection.URL,
			Text: i18n.Raw(fmt.Sprintf("The reminders about %s expiring at %s have all gone out or were dismissed already.", title, clock(r.Expiry)))}, nil
	}
	return commands.Reply{
		Title: i18n.Raw(fmt.Sprintf("Reminders about %s dismissed.", title)),
		Text: i18n.Raw(fmt.Sprintf("No more reminders about its protection expiring at %s (%s). The protection still ends then; `/expiring` lists it.",
			clock(r.Expiry), commands.Relative(r.Expiry.Sub(now)))),
		URL: r.Protection.URL,
	}, nil
}

// extend extends the protections a reminder on w is about by the length
// they were set for. MediaWiki's action=protect sets a page's whole protection
// and lifts every type left out, so the page's current protections are read
// first and all sent back: the reminded ones with the new expiry, the others
// with their own, and cascading kept.
func (s *Scheduler) extend(ctx context.Context, req *commands.Request, w *wiki, id int64) (commands.Reply, error) {
	s.extendMu.Lock()
	defer s.extendMu.Unlock()
	r, err := s.store.Reminder(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return commands.Reply{}, errGone
	}
	if err != nil {
		return commands.Reply{}, err
	}
	title := r.Protection.Title
	if !r.Protection.Expiry.Equal(r.Expiry) {
		return commands.Reply{}, stale(title, r.Protection)
	}
	ext := r.Protection.Length
	if ext <= 0 {
		return commands.Reply{}, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "reminder-no-length", Message: i18n.Raw(fmt.Sprintf(
			"wikimod does not know how long the protection of %s was set for, so it cannot extend it by as much again. Use `/protect` with the expiry you want, and give every type the page keeps.", title))}
	}
	tracked, err := s.store.PageProtections(ctx, w.Name, title)
	if err != nil {
		return commands.Reply{}, err
	}
	group := map[string]TrackedProtection{}
	for _, p := range tracked {
		if p.Expiry.Equal(r.Expiry) {
			group[p.Type] = p
		}
	}
	states, err := w.Client.PageStates(ctx, title)
	if err != nil {
		return commands.Reply{}, err
	}
	st := states[title]
	current := map[string]mw.PageProtection{}
	for _, p := range st.Protections {
		current[p.Type] = p
	}

	now := s.now()
	for typ, g := range group {
		cur, ok := current[typ]
		exp, finite := finiteExpiry(cur.Expiry)
		switch {
		case ok && finite && cur.Level == g.Level && exp.Equal(g.Expiry):
		case !ok && !g.Expiry.After(now): // lapsed: protect it again
		default:
			// Changed on the wiki since: catch up with the log, and say so.
			if _, err := s.Sync(ctx, w.Name); err != nil {
				s.log.Warn("sync after a stale reminder", "wiki", w.Name, "title", title, "err", err)
			}
			return commands.Reply{}, stale(title, r.Protection)
		}
	}
	newExpiry := r.Expiry
	if now.After(newExpiry) {
		newExpiry = now
	}
	newExpiry = newExpiry.Add(ext).UTC().Truncate(time.Second)

	// The same plan as /protect: the reminded types get the new expiry,
	// every other protection of the page is sent again as it is, and
	// cascading is kept.
	var changes []commands.ProtectChange
	for _, typ := range slices.Sorted(maps.Keys(group)) {
		changes = append(changes, commands.ProtectChange{Type: typ, Level: group[typ].Level, Expiry: newExpiry.Format(time.RFC3339)})
	}
	plan := commands.PlanProtect(st.Protections, changes, false, nil, req.Site.Restrictions.CascadingLevels)
	p := mw.ProtectParams{Title: title, Protections: plan.Protections, Expiry: plan.Expiry, Cascade: plan.Cascade}
	reason := fmt.Sprintf("Extended by %s from a wikimod reminder", length(ext))
	if r.Protection.Reason != "" {
		reason += ": " + r.Protection.Reason
	}
	p.Reason = req.SignedReason(reason)
	var kept []string
	for _, k := range plan.Kept {
		kept = append(kept, fmt.Sprintf("%s=%s %s", k.Type, k.Level, until(k.Expiry, now)))
	}
	// The presser needs what /protect would ask of them for the same
	// change: the rights of every level the page has and will have.
	if err := req.CheckProtect(title, st, plan); err != nil {
		return commands.Reply{}, err
	}
	// Sent as /protect sends it: should the wiki's answer be lost, the
	// page and its log are read back, and the reply says what is true.
	res, readBack, err := req.Protect(ctx, p, st.Protections)
	if err != nil {
		return commands.Reply{}, err
	}
	if readBack != nil {
		return *readBack, nil
	}
	out := &commands.ProtectOutcome{Wiki: w.Name, Title: res.Title, Reason: reason, LogComment: res.Reason, Cascade: res.Cascade,
		Protections: res.Protections, URL: r.Protection.URL}
	req.Result = out

	var want []TrackedProtection
	reply := commands.Reply{Title: i18n.Raw(fmt.Sprintf("Protection of %s extended by %s.", res.Title, length(ext))), URL: out.URL, Announce: true, Protect: out}
	for _, pr := range res.Protections {
		exp, finite := finiteExpiry(pr.Expiry)
		g, reminded := group[pr.Action]
		if reminded {
			reply.Fields = append(reply.Fields, commands.Field{Label: i18n.Raw(pr.Action), Value: i18n.Raw(pr.Level + ", " + until(pr.Expiry, now))})
		}
		if !finite {
			continue
		}
		tp := TrackedProtection{Type: pr.Action, Level: pr.Level, Expiry: exp, Cascade: res.Cascade,
			SetBy: actorName(req.Actor), SetByID: req.Actor.UserID, Platform: req.Actor.Platform, Channel: req.Actor.Channel,
			Reason: r.Protection.Reason, URL: out.URL, SetAt: now, Length: roundLength(exp.Sub(now))}
		if reminded {
			tp.Length = g.Length
		}
		want = append(want, tp)
	}
	if _, err := s.store.ReconcilePage(ctx, w.Name, res.Title, want, s.leads, now); err != nil {
		// The wiki has it; the next sync will track it.
		s.log.Error("tracking an extended protection", "wiki", w.Name, "title", res.Title, "err", err)
	}
	notes := []string{}
	if len(kept) > 0 {
		notes = append(notes, "Kept as they were: "+strings.Join(kept, ", ")+".")
	}
	if res.Cascade {
		notes = append(notes, "Cascading is kept.")
	}
	reply.Text = i18n.Raw(strings.Join(notes, "\n"))
	return reply, nil
}

func stale(title string, now TrackedProtection) error {
	msg := fmt.Sprintf("The protection of %s has changed since this reminder, so nothing was done.", title)
	if !now.Expiry.IsZero() {
		msg += fmt.Sprintf(" As wikimod last saw it, %s=%s expires at %s.", now.Type, now.Level, clock(now.Expiry))
	}
	return &commands.Error{Outcome: commands.OutcomeInvalid, Code: "reminder-stale", Message: i18n.Raw(msg + " `/expiring` lists what is tracked now.")}
}

// until renders an expiry as the wiki gives it.
func until(expiry string, now time.Time) string {
	t, ok := finiteExpiry(expiry)
	if !ok {
		return "indefinitely"
	}
	return "until " + clock(t) + " (" + commands.Relative(t.Sub(now)) + ")"
}
