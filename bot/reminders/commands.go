package reminders

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wikimod/wikimod/bot/notice"
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
				Summary:    i18n.M("wikimod-command-expiring-summary"),
				Usage:      "/expiring [within=DURATION]",
				Help:       i18n.M("wikimod-command-expiring-help"),
				Positional: "within",
				Right:      mw.RightProtect,
				Params:     []commands.Param{{Name: "within", Description: i18n.M("wikimod-param-expiring-within")}},
			},
			Run: s.runExpiring,
		},
		{
			Spec: commands.Spec{
				Name:       "reminder",
				Summary:    i18n.M("wikimod-command-reminder-summary"),
				Usage:      "/reminder do=extend|dismiss id=ID",
				Help:       i18n.M("wikimod-command-reminder-help"),
				Right:      mw.RightProtect,
				ButtonOnly: true,
				Write:      true,
				Params: []commands.Param{
					{Name: "do", Description: i18n.M("wikimod-param-reminder-do"), Required: true},
					{Name: "id", Description: i18n.M("wikimod-param-reminder-id"), Required: true},
				},
			},
			Run: s.runReminder,
		},
	}
}

// usage is a refusal of how a command was written: key says what was
// wrong and how to write it right.
func usage(key string, params ...any) error { return notice.Usage(i18n.M(key, params...)) }

// checkKeys refuses arguments spec does not list.
func checkKeys(spec commands.Spec, args commands.Args) error {
	for _, k := range args.Keys() {
		if _, ok := spec.Param(k); !ok {
			var names []string
			for _, p := range spec.Params {
				names = append(names, "`"+p.Name+"=`")
			}
			return usage("wikimod-reminders-unknown-param", spec.Name, k, names, spec.Usage)
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
			return commands.Reply{}, usage("wikimod-expiring-within-twice")
		}
		text, given = strings.Join(req.Args.Positional, " "), true
	}
	within := defaultWithin
	if given {
		d, err := parseWithin(text)
		if err != nil {
			return commands.Reply{}, usage("wikimod-expiring-within-invalid", text)
		}
		if d > maxWithin {
			return commands.Reply{}, usage("wikimod-expiring-within-too-far")
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
		return commands.Reply{Title: i18n.M("wikimod-expiring-none-title", length(within)), Text: i18n.M("wikimod-expiring-none-text")}, nil
	}
	reply := commands.Reply{Title: i18n.M("wikimod-expiring-title", total, length(within))}
	for _, p := range ps {
		value := i18n.M("wikimod-expiring-line", commands.LevelName(p.Level), when(p.Expiry), fromNow(p.Expiry), s.setBy(p))
		switch {
		case p.Dismissed:
			value = i18n.M("wikimod-expiring-line-dismissed", value)
		case !p.NextReminder.IsZero():
			value = i18n.M("wikimod-expiring-line-next", value, fromNow(p.NextReminder))
		}
		if p.ReminderID != 0 {
			value = i18n.M("wikimod-expiring-line-reminder", value, p.ReminderID)
		}
		reply.Fields = append(reply.Fields, commands.Field{Label: i18n.M("wikimod-expiring-field", p.Title, commands.TypeName(p.Type)), Value: value})
	}
	var notes []i18n.Message
	if total > len(ps) {
		notes = append(notes, i18n.M("wikimod-expiring-showing-first", len(ps), total))
	}
	for _, p := range ps {
		if p.ReminderID != 0 {
			notes = append(notes, i18n.M("wikimod-expiring-how-to-act", p.ReminderID))
			break
		}
	}
	reply.Text = i18n.Lines(notes...)
	return reply, nil
}

func (s *Scheduler) runReminder(ctx context.Context, req *commands.Request) (commands.Reply, error) {
	if err := checkKeys(req.Spec, req.Args); err != nil {
		return commands.Reply{}, err
	}
	do, id, err := notice.ReadPress(req, []string{"extend", "dismiss"}, notice.PressWords{
		Positional: i18n.M("wikimod-reminder-positional", req.Spec.Usage),
		BadID:      func(text string) i18n.Message { return i18n.M("wikimod-reminder-bad-id", text, req.Spec.Usage) },
		BadDo:      func(do string) i18n.Message { return i18n.M("wikimod-reminder-bad-do", do) },
	})
	if err != nil {
		return commands.Reply{}, err
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
		return commands.Reply{}, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "reminder-wrong-wiki", Message: i18n.M(
			"wikimod-reminder-wrong-wiki", id, r.Protection.Title, r.Protection.Wiki, w.Name)}
	}
	if do == "extend" {
		return s.extend(ctx, req, w, id)
	}
	return s.dismiss(ctx, req, w, r)
}

// requestWiki returns the scheduler's wiki the request is for: the one the
// command service chose (the only one, for a request that names none).
func (s *Scheduler) requestWiki(req *commands.Request) (*wiki, error) {
	w, name, ok := notice.RequestWiki(req, s.byName)
	if !ok {
		return nil, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "reminders-off", Message: i18n.M("wikimod-reminders-off", name)}
	}
	return w, nil
}

var errGone = &commands.Error{Outcome: commands.OutcomeInvalid, Code: "reminder-gone",
	Message: i18n.Sentences(i18n.M("wikimod-reminder-gone"), i18n.M("wikimod-reminder-expiring-lists-tracked"))}

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
		return commands.Reply{Title: i18n.M("wikimod-reminder-nothing-to-dismiss-title"), URL: r.Protection.URL,
			Text: i18n.M("wikimod-reminder-nothing-to-dismiss-text", title, when(r.Expiry))}, nil
	}
	return commands.Reply{
		Title: i18n.M("wikimod-reminder-dismissed-title", title),
		Text:  i18n.M("wikimod-reminder-dismissed-text", when(r.Expiry), fromNow(r.Expiry)),
		URL:   r.Protection.URL,
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
		return commands.Reply{}, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "reminder-no-length", Message: i18n.M(
			"wikimod-reminder-no-length", title)}
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
	// The reason is written to the wiki: in its content language, for
	// the wiki's other administrators to read.
	reasonMsg := i18n.M("wikimod-reminder-extend-reason", length(ext))
	if r.Protection.Reason != "" {
		reasonMsg = i18n.M("wikimod-reminder-extend-reason-with", length(ext), r.Protection.Reason)
	}
	reason := i18n.Localizer{Lang: req.Site.Lang}.Text(reasonMsg)
	p.Reason = req.SignedReason(reason)
	var kept []i18n.Message
	for _, k := range plan.Kept {
		kept = append(kept, i18n.M("wikimod-reminder-protection", commands.TypeName(k.Type), until(k.Level, k.Expiry)))
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
	reply := commands.Reply{Title: i18n.M("wikimod-reminder-extended-title", res.Title, length(ext)), URL: out.URL, Announce: true, Protect: out}
	for _, pr := range res.Protections {
		exp, finite := finiteExpiry(pr.Expiry)
		g, reminded := group[pr.Action]
		if reminded {
			reply.Fields = append(reply.Fields, commands.Field{Label: commands.TypeName(pr.Action), Value: until(pr.Level, pr.Expiry)})
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
	var notes []i18n.Message
	if len(kept) > 0 {
		notes = append(notes, i18n.M("wikimod-reminder-extend-kept", kept))
	}
	if res.Cascade {
		notes = append(notes, i18n.M("wikimod-reminder-extend-cascade-kept"))
	}
	reply.Text = i18n.Lines(notes...)
	return reply, nil
}

func stale(title string, now TrackedProtection) error {
	var lastSeen i18n.Message
	if !now.Expiry.IsZero() {
		lastSeen = i18n.M("wikimod-reminder-stale-last-seen", protection(now.Type, now.Level), when(now.Expiry))
	}
	return &commands.Error{Outcome: commands.OutcomeInvalid, Code: "reminder-stale",
		Message: i18n.Sentences(i18n.M("wikimod-reminder-stale", title), lastSeen, i18n.M("wikimod-reminder-expiring-lists-tracked"))}
}

// until names a level and how long it lasts, from the expiry the wiki
// gives: "Allow only administrators (sysop), until 2026-11-21 17:35 UTC
// (in 3 hours)", or "…, indefinitely".
func until(level, expiry string) i18n.Message {
	t, ok := finiteExpiry(expiry)
	if !ok {
		return i18n.M("wikimod-reminder-level-indefinitely", commands.LevelName(level))
	}
	return i18n.M("wikimod-reminder-level-until", commands.LevelName(level), when(t), fromNow(t))
}
