package alerts

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/wikimod/wikimod/bot/notice"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// cmdAlert is the command the alerts' buttons run.
const cmdAlert = "alert"

// Commands returns the command the alerts' buttons run: alert, which
// protects an alert's page as one of its buttons offered, or dismisses
// the alert. It acts on the wiki the service chose for the request (the
// buttons carry wiki=NAME, so a press is routed to the alert's wiki and
// the presser's rights are checked there), and needs the wiki right
// protect: it is the moderators' business.
func (f *Follower) Commands() []commands.Command {
	return []commands.Command{{
		Spec: commands.Spec{
			Name:       cmdAlert,
			Summary:    i18n.M("wikimod-command-alert-summary"),
			Usage:      "/alert do=protect|dismiss id=ID [level=LEVEL] [expiry=EXPIRY]",
			Help:       i18n.M("wikimod-command-alert-help"),
			Right:      mw.RightProtect,
			ButtonOnly: true,
			Write:      true,
			Params: []commands.Param{
				{Name: "do", Description: i18n.M("wikimod-param-alert-do"), Required: true},
				{Name: "id", Description: i18n.M("wikimod-param-alert-id"), Required: true},
				{Name: "level", Description: i18n.M("wikimod-param-alert-level")},
				{Name: "expiry", Description: i18n.M("wikimod-param-alert-expiry")},
			},
		},
		Run: f.runAlert,
	}}
}

// usage is a refusal of how a command was written: key says what was
// wrong and how to write it right.
func usage(key string, params ...any) error { return notice.Usage(i18n.M(key, params...)) }

func (f *Follower) runAlert(ctx context.Context, req *commands.Request) (commands.Reply, error) {
	for _, k := range req.Args.Keys() {
		if _, ok := req.Spec.Param(k); !ok {
			return commands.Reply{}, usage("wikimod-alert-unknown-param", k, req.Spec.Usage)
		}
	}
	do, id, err := notice.ReadPress(req, []string{commands.AlertProtect, commands.AlertDismiss}, notice.PressWords{
		Positional: i18n.M("wikimod-alert-positional", req.Spec.Usage),
		BadID:      func(text string) i18n.Message { return i18n.M("wikimod-alert-bad-id", text, req.Spec.Usage) },
		BadDo:      func(do string) i18n.Message { return i18n.M("wikimod-alert-bad-do", do) },
	})
	if err != nil {
		return commands.Reply{}, err
	}
	w, err := f.requestWiki(req)
	if err != nil {
		return commands.Reply{}, err
	}
	// The alert must be about a page of the wiki the request is for: that
	// is where the presser's rights were checked, and where a protection
	// would go.
	a, err := f.store.Alert(ctx, id)
	if errors.Is(err, commands.ErrNoAlert) {
		return commands.Reply{}, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "alert-gone", Message: i18n.M("wikimod-alert-gone", id)}
	}
	if err != nil {
		return commands.Reply{}, err
	}
	if a.Wiki != w.Name {
		return commands.Reply{}, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "alert-wrong-wiki",
			Message: i18n.M("wikimod-alert-wrong-wiki", id, a.Title, a.Wiki, w.Name)}
	}
	// One press at a time in this process; the store's claim keeps
	// replicas' presses apart.
	f.actMu.Lock()
	defer f.actMu.Unlock()
	if do == commands.AlertDismiss {
		return f.dismiss(ctx, req, w, a)
	}
	return f.protect(ctx, req, w, a)
}

// requestWiki returns the follower's wiki the request is for: the one the
// command service chose (the only one, for a request that names none).
func (f *Follower) requestWiki(req *commands.Request) (*wiki, error) {
	w, name, ok := notice.RequestWiki(req, f.byName)
	if !ok {
		return nil, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "alerts-off", Message: i18n.M("wikimod-alerts-off", name)}
	}
	return w, nil
}

// claim takes the alert for the press of req, or returns the refusal that
// says who acted on it.
func (f *Follower) claim(ctx context.Context, req *commands.Request, a commands.Alert, action string) (int64, error) {
	now := f.now()
	claim := rand.Int64N(1<<62) + 1
	got, took, err := f.store.ClaimAlert(ctx, a.ID, commands.AlertAction{Action: action, Claim: claim, By: req.Actor.String(),
		Name: actorName(req.Actor), At: now}, now.Add(-f.cfg.StaleAction))
	if err != nil {
		return 0, err
	}
	if !took {
		return 0, f.handled(got)
	}
	return claim, nil
}

// handled is the refusal of a press of an alert someone acted on: who, what
// and when.
func (f *Follower) handled(a commands.Alert) error {
	who := f.who(a)
	var msg i18n.Message
	switch {
	case !a.ActDone:
		msg = i18n.M("wikimod-alert-handled-pending", who, a.Title)
	case a.Action == commands.AlertDismiss:
		msg = i18n.M("wikimod-alert-handled-dismissed", who, a.Title, when(a.ActedAt))
	default:
		level, expiry, _ := strings.Cut(a.ActDetail, "|")
		msg = i18n.M("wikimod-alert-handled-protected", who, a.Title, when(a.ActedAt), protectionUntil("edit", level, expiry))
	}
	return &commands.Error{Outcome: commands.OutcomeInvalid, Code: "alert-handled", Message: msg}
}

// who names the person who acted on an alert: their name and platform.
func (f *Follower) who(a commands.Alert) i18n.Message {
	name, _, _ := strings.Cut(a.ActedBy, ":")
	platform := i18n.Raw(name)
	if f.cfg.PlatformTitle != nil {
		platform = f.cfg.PlatformTitle(name)
	}
	return i18n.M("wikimod-alert-acted-by", a.ActedName, platform)
}

func actorName(a commands.Actor) string {
	if a.UserName != "" {
		return a.UserName
	}
	return a.UserID
}

// finish ends a claim, whatever the context: the store must hear of it.
func (f *Follower) finish(ctx context.Context, id, claim int64, ok bool, detail string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := f.store.FinishAlert(ctx, id, claim, ok, detail, f.now()); err != nil {
		f.log.Error("alerts: recording what a press did", "alert", id, "ok", ok, "err", err)
	}
}

// dismiss marks an alert dismissed: no protection, and no one else acts on
// it.
func (f *Follower) dismiss(ctx context.Context, req *commands.Request, w *wiki, a commands.Alert) (commands.Reply, error) {
	claim, err := f.claim(ctx, req, a, commands.AlertDismiss)
	if err != nil {
		return commands.Reply{}, err
	}
	f.finish(ctx, a.ID, claim, true, "")
	req.Result = map[string]any{"alert": a.ID, "title": a.Title, "dismissed": true}
	return commands.Reply{Title: i18n.M("wikimod-alert-dismissed-title", a.Title), Text: i18n.M("wikimod-alert-dismissed-text"),
		URL: req.Site.PageURL(a.Title)}, nil
}

// protect protects an alert's page as the button asked (edit protection at
// a level for a length), as /protect would for the person who pressed it:
// the page's other protections kept, their rights checked first, the
// reason signed, the wiki read back should its answer be lost, the result
// announced. It never lowers what the page has: a page protected as much
// as that already is left alone, and the press says so.
func (f *Follower) protect(ctx context.Context, req *commands.Request, w *wiki, a commands.Alert) (commands.Reply, error) {
	level, _ := req.Args.Get("level")
	expiryText, _ := req.Args.Get("expiry")
	length, err := parseExpiry(expiryText)
	if err != nil {
		return commands.Reply{}, usage("wikimod-alert-bad-expiry", expiryText)
	}
	levels := req.Site.Restrictions.Levels
	if level == "" || !slices.Contains(levels, level) {
		var codes []string
		for _, l := range levels {
			if l != "" {
				codes = append(codes, "`"+l+"`")
			}
		}
		return commands.Reply{}, usage("wikimod-alert-bad-level", level, codes)
	}
	c := choice{level: level, length: length}
	if a.ActDone || (a.Action != "" && a.ActUpdated.After(f.now().Add(-f.cfg.StaleAction))) {
		return commands.Reply{}, f.handled(a)
	}
	st, err := req.Wiki.Client.Page(ctx, a.Title, 0)
	if err != nil {
		return commands.Reply{}, err
	}
	if st.Missing || st.Invalid {
		return commands.Reply{}, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "alert-page-missing", Message: i18n.M("wikimod-alert-page-missing", a.Title)}
	}
	if strongerNow(levels, st.Protections, c, f.now()) {
		return commands.Reply{}, &commands.Error{Outcome: commands.OutcomeInvalid, Code: "alert-already-protected",
			Message: i18n.M("wikimod-alert-already-protected", a.Title, protections(st.Protections))}
	}
	plan := commands.PlanProtect(st.Protections, []commands.ProtectChange{{Type: "edit", Level: level, Expiry: c.expiry()}}, false, nil,
		req.Site.Restrictions.CascadingLevels)
	// The presser needs what /protect would ask of them for the same
	// change, before the alert is theirs.
	if err := req.CheckProtect(a.Title, st, plan); err != nil {
		return commands.Reply{}, err
	}
	claim, err := f.claim(ctx, req, a, commands.AlertProtect)
	if err != nil {
		return commands.Reply{}, err
	}
	// The reason is written to the wiki: in its content language, for
	// the wiki's other administrators to read.
	reason := i18n.M("wikimod-alert-reason-reverts", a.Reverts, i18n.Duration(w.rules.Window))
	if a.Rule == commands.AlertRuleAbuse {
		reason = i18n.M("wikimod-alert-reason-abuse", a.AbuseHits, i18n.Duration(w.rules.Window))
	}
	text := i18n.Localizer{Lang: req.Site.Lang}.Text(reason)
	p := mw.ProtectParams{Title: st.Title, Protections: plan.Protections, Expiry: plan.Expiry, Cascade: plan.Cascade,
		Reason: req.SignedReason(text)}
	res, readBack, err := req.Protect(ctx, p, st.Protections)
	switch {
	case err != nil:
		f.finish(ctx, a.ID, claim, false, "")
		return commands.Reply{}, err
	case readBack != nil && readBack.Protect != nil:
		// The answer was lost, and reading back found it done.
		f.finish(ctx, a.ID, claim, true, editDetail(readBack.Protect.Protections))
		return *readBack, nil
	case readBack != nil && readBack.Outcome == commands.OutcomeUnknown:
		// Not known: the claim stays until it is stale, when another
		// press may try.
		return *readBack, nil
	case readBack != nil:
		f.finish(ctx, a.ID, claim, false, "")
		return *readBack, nil
	}
	out := &commands.ProtectOutcome{Wiki: w.Name, Title: res.Title, Reason: text, LogComment: res.Reason, Cascade: res.Cascade,
		Protections: res.Protections, URL: req.Site.PageURL(res.Title)}
	req.Result = out
	f.finish(ctx, a.ID, claim, true, editDetail(res.Protections))
	if f.cfg.OnProtect != nil {
		if err := f.cfg.OnProtect(ctx, req.Actor, out); err != nil {
			f.log.Error("alerts: after protect", "wiki", w.Name, "title", res.Title, "err", err)
		}
	}
	reply := commands.Reply{Title: i18n.M("wikimod-alert-protected-title", res.Title), URL: out.URL, Announce: true, Protect: out}
	for _, pr := range res.Protections {
		if pr.Level != "" && pr.Level != "all" {
			reply.Fields = append(reply.Fields, commands.Field{Label: commands.TypeName(pr.Action), Value: protectionUntil(pr.Action, pr.Level, pr.Expiry)})
		}
	}
	reply.Text = i18n.M("wikimod-alert-log-says", res.Reason)
	return reply, nil
}

// editDetail is what an alert keeps of the protection its press set: the
// edit level and the wiki's expiry, "level|expiry".
func editDetail(ps []mw.ProtectionResult) string {
	for _, p := range ps {
		if p.Action == "edit" {
			return p.Level + "|" + p.Expiry
		}
	}
	return ""
}

// strongerNow reports whether the page's edit protection in force is at
// least what c asks: a higher level, or the same level for as long or
// longer.
func strongerNow(levels []string, current []mw.PageProtection, c choice, now time.Time) bool {
	for _, p := range current {
		if p.Type != "edit" || p.Level == "" || p.Level == "all" {
			continue
		}
		exp, err := time.Parse(time.RFC3339, p.Expiry)
		finite := err == nil
		if finite && !exp.After(now) {
			continue // lapsed
		}
		have, want := rank(levels, p.Level), rank(levels, c.level)
		if have != want {
			return have > want
		}
		return !finite || (c.length > 0 && !exp.Before(now.Add(c.length)))
	}
	return false
}
