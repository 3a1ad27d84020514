package commands

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wikimod/wikimod/mw"
)

// ProtectOutcome is the result of a successful /protect, as the wiki
// reported it: each protection with its absolute expiry.
type ProtectOutcome struct {
	Title       string                `json:"title"`
	Reason      string                `json:"reason,omitempty"`
	Cascade     bool                  `json:"cascade,omitempty"`
	Protections []mw.ProtectionResult `json:"protections"`
	URL         string                `json:"url,omitempty"`
}

// protectTypes are the restriction types of a stock wiki. The wiki's own
// list (siteinfo) is what requests are checked against; these only shape the
// command's parameters.
var protectTypes = []string{"edit", "move", "create", "upload"}

func (s *Service) protectCommand() Command {
	params := []Param{
		{Name: "title", Description: "The page to protect", Required: true, Titles: true},
	}
	for _, t := range protectTypes {
		params = append(params, Param{Name: t, Description: "Level for " + t + " (all lifts it)", Levels: true})
	}
	params = append(params,
		Param{Name: "expiry", Description: "When it ends: 1 week, 2026-12-01T00:00:00Z, infinite (default)"},
		Param{Name: "reason", Description: "Reason, shown in the protection log"},
		Param{Name: "cascade", Description: "Also protect pages transcluded in this one", Flag: true},
	)
	for _, t := range protectTypes {
		params = append(params, Param{Name: t + "_expiry", Description: "Expiry of the " + t + " protection alone"})
	}
	params = append(params,
		Param{Name: "pageid", Description: "The page's id, instead of its title"},
		Param{Name: "tags", Description: "Change tags for the log entry, comma separated"},
		Param{Name: "watchlist", Description: "watch, unwatch, preferences or nochange, for the bot's watchlist"},
		Param{Name: "watchlistexpiry", Description: "How long the page stays on the bot's watchlist"},
	)
	return Command{
		Spec: Spec{
			Name:       "protect",
			Summary:    "Change a page's protection (action=protect)",
			Positional: "title",
			Usage:      `/protect TITLE [edit=LEVEL] [move=LEVEL] [create=LEVEL] [upload=LEVEL] [expiry=EXPIRY] [reason=TEXT] [cascade]`,
			Help: "As with the wiki's own API, the command sets the page's whole protection: a type you leave out is lifted, and so is cascading unless you say `cascade`. " +
				"To change one type and keep another, give both. `expiry` applies to every type given; `TYPE_expiry=` sets one type's own.",
			Right:  "protect",
			Write:  true,
			Params: params,
		},
		Run: s.runProtect,
	}
}

func (s *Service) runProtect(ctx context.Context, req *Request) (Reply, error) {
	p, rights, err := parseProtect(req.Spec, req.Args, req.Site)
	if err != nil {
		return Reply{}, err
	}
	if err := req.Check(rights...); err != nil {
		return Reply{}, err
	}
	res, err := s.wiki.Protect(ctx, p)
	if mw.MaybeApplied(err) {
		return s.protectReadBack(ctx, req, p, err)
	}
	if err != nil {
		return Reply{}, err
	}
	out := &ProtectOutcome{
		Title:       res.Title,
		Reason:      res.Reason,
		Cascade:     res.Cascade,
		Protections: res.Protections,
		URL:         req.Site.PageURL(res.Title),
	}
	req.Result = out
	if s.onProtect != nil {
		if err := s.onProtect(ctx, req.Actor, out); err != nil {
			s.log.Error("after protect", "title", res.Title, "err", err)
		}
	}

	reply := Reply{Title: "Protection of " + res.Title + " changed.", URL: out.URL, Announce: true, Protect: out}
	var lifted []string
	for _, pr := range res.Protections {
		if pr.Level == "" || pr.Level == "all" {
			lifted = append(lifted, pr.Action)
			continue
		}
		reply.Fields = append(reply.Fields, Field{Label: pr.Action, Value: pr.Level + ", " + describeExpiry(pr.Expiry, s.now())})
	}
	var notes []string
	if len(lifted) > 0 {
		notes = append(notes, "Lifted: "+strings.Join(lifted, ", ")+".")
	}
	if res.Cascade {
		notes = append(notes, "Cascading: pages transcluded in it are protected too.")
	}
	if res.Reason != "" {
		notes = append(notes, "Reason: "+res.Reason)
	}
	for _, w := range res.Warnings {
		notes = append(notes, "The wiki warns: "+w.Text)
	}
	reply.Text = strings.Join(notes, "\n")
	return reply, nil
}

// settleTimeout bounds reading the wiki back after a write whose answer was
// lost.
const settleTimeout = 10 * time.Second

// protectReadBack answers a /protect whose request may have reached the wiki
// but whose answer was lost: it reads the page's protections back and says
// what is true now, or that it cannot be known.
func (s *Service) protectReadBack(ctx context.Context, req *Request, p mw.ProtectParams, sendErr error) (Reply, error) {
	s.log.Warn("protect: the wiki's answer was lost; reading the page back", "title", p.Title, "pageid", p.PageID, "err", sendErr)
	page := p.Title
	if page == "" {
		page = fmt.Sprintf("page id %d", p.PageID)
	}
	unknown := &Error{Outcome: OutcomeUnknown, Code: "outcome-unknown", Message: fmt.Sprintf(
		"The request to protect %s was sent, but the wiki's answer was lost and the wiki still does not answer, so wikimod cannot tell whether the protection changed. "+
			"Check the page's protection on the wiki before trying again.", page)}
	if p.Title == "" {
		return Reply{}, unknown
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	now, err := s.wiki.PageProtections(rctx, p.Title)
	if err != nil {
		s.log.Warn("protect: cannot read the page back", "title", p.Title, "err", err)
		return Reply{}, unknown
	}
	req.Result = map[string]any{"read_back": now}
	fields := make([]Field, 0, len(now))
	for _, pr := range now {
		fields = append(fields, Field{Label: pr.Type, Value: pr.Level + ", " + describeExpiry(pr.Expiry, s.now())})
	}
	if !protectionsAsAsked(p, now) {
		state := "It has no protection now."
		if len(now) > 0 {
			state = "Its protection now is as listed."
		}
		return Reply{Outcome: OutcomeUnknown, Code: "outcome-unknown", Title: "Not known whether " + p.Title + " was protected.", Fields: fields,
			URL: req.Site.PageURL(p.Title),
			Text: "The request was sent, but the wiki's answer was lost, so wikimod read the page back: its protection is not as you asked. " + state +
				" If the wiki was only slow, it may still apply the request; check again before trying again."}, nil
	}
	out := &ProtectOutcome{Title: p.Title, Cascade: p.Cascade, URL: req.Site.PageURL(p.Title)}
	for _, pr := range now {
		expiry := pr.Expiry
		if expiry == "infinity" {
			expiry = "infinite"
		}
		out.Protections = append(out.Protections, mw.ProtectionResult{Action: pr.Type, Level: pr.Level, Expiry: expiry})
	}
	req.Result = out
	if s.onProtect != nil {
		if err := s.onProtect(ctx, req.Actor, out); err != nil {
			s.log.Error("after protect", "title", p.Title, "err", err)
		}
	}
	return Reply{Title: "Protection of " + p.Title + " is as you asked.", Fields: fields, URL: out.URL, Announce: true, Protect: out, Code: "read-back",
		Text: "The wiki's answer was lost, so wikimod read the page's protection back: it is now as you asked."}, nil
}

// protectionsAsAsked reports whether a page's protections are what p asks
// for: each type named at its level, each type lifted absent.
func protectionsAsAsked(p mw.ProtectParams, now []mw.PageProtection) bool {
	for _, want := range p.Protections {
		found := false
		for _, pr := range now {
			if pr.Type == want.Action {
				found = pr.Level == want.Level
				if p.Cascade && !pr.Cascade {
					found = false
				}
			}
		}
		if lifted := want.Level == "all" || want.Level == ""; lifted {
			for _, pr := range now {
				if pr.Type == want.Action {
					return false
				}
			}
			continue
		}
		if !found {
			return false
		}
	}
	return true
}

// describeExpiry renders an expiry as the wiki returned it, with how far off
// it is.
func describeExpiry(expiry string, now time.Time) string {
	t, err := time.Parse(time.RFC3339, expiry)
	if err != nil {
		if expiry == "infinite" || expiry == "infinity" {
			return "indefinitely"
		}
		return "until " + expiry
	}
	return fmt.Sprintf("until %s (%s)", t.UTC().Format(time.RFC3339), Relative(t.Sub(now)))
}

// parseProtect turns /protect arguments into API parameters, checking the
// types and levels against the wiki's own, and returns the rights the actor
// needs for the levels asked for.
func parseProtect(spec Spec, args Args, site *mw.SiteInfo) (mw.ProtectParams, []string, error) {
	var p mw.ProtectParams
	types := site.Restrictions.Types
	var levels []string
	for _, l := range site.Restrictions.Levels {
		if l != "" {
			levels = append(levels, l)
		}
	}
	for _, k := range args.Keys() {
		base := strings.TrimSuffix(k, "_expiry")
		if _, ok := spec.Param(k); ok {
			if slices.Contains(protectTypes, base) && !slices.Contains(types, base) {
				return p, nil, usageErrorf("This wiki has no `%s` protection. It offers: %s.", base, strings.Join(types, ", "))
			}
			continue
		}
		if slices.Contains(types, base) {
			continue // a type this wiki adds beyond the stock four
		}
		return p, nil, usageErrorf("`/protect` has no `%s=`. It takes a title and %s, `expiry=`, `reason=`, `cascade`, `pageid=`, `tags=`, `watchlist=`, `watchlistexpiry=`, and `TYPE_expiry=` for one type's own expiry.",
			k, keyList(types, "=LEVEL"))
	}

	var words []string
	for _, w := range args.Positional {
		if strings.EqualFold(w, "cascade") {
			p.Cascade = true
			continue
		}
		words = append(words, w)
	}
	title, hasTitle := args.Get("title")
	switch {
	case hasTitle && len(words) > 0:
		return p, nil, usageErrorf("Give the page once: either as the first word or as `title=`, not both.")
	case !hasTitle:
		title = strings.Join(words, " ")
	}
	title = strings.TrimSpace(title)
	if id, ok := args.Get("pageid"); ok {
		n, err := strconv.Atoi(id)
		if err != nil || n <= 0 {
			return p, nil, usageErrorf("`pageid=%s` is not a page id; page ids are positive numbers.", id)
		}
		if title != "" {
			return p, nil, usageErrorf("Give either a title or `pageid=`, not both.")
		}
		p.PageID = n
	} else if title == "" {
		return p, nil, usageErrorf("Which page? Usage: `%s`, for example `/protect \"Main Page\" edit=sysop move=sysop expiry=\"1 week\" reason=\"vandalism\"`.", spec.Usage)
	}
	p.Title = title

	if v, ok := args.Get("cascade"); ok {
		b, err := parseBool("cascade", v)
		if err != nil {
			return p, nil, err
		}
		p.Cascade = b
	}

	rights := []string{}
	defaultExpiry, hasDefault := args.Get("expiry")
	if hasDefault && strings.TrimSpace(defaultExpiry) == "" {
		return p, nil, usageErrorf("`expiry=` is empty. Give a duration like `expiry=\"1 week\"`, a time, or `expiry=infinite`.")
	}
	perAction := false
	var expiries []string
	for _, t := range types {
		level, ok := args.Get(t)
		if !ok {
			if _, has := args.Get(t + "_expiry"); has {
				return p, nil, usageErrorf("`%s_expiry=` is given without `%s=LEVEL`.", t, t)
			}
			continue
		}
		level = strings.TrimSpace(level)
		switch strings.ToLower(level) {
		case "", "all", "none":
			level = "all"
		default:
			if len(levels) == 0 {
				return p, nil, &Error{Outcome: OutcomeInvalid, Code: "protect-nolevels", Message: "This wiki offers no protection levels to set ($wgRestrictionLevels lists none), so pages cannot be protected on it. Its administrators can add levels in LocalSettings.php."}
			}
			if !slices.Contains(levels, level) {
				return p, nil, &Error{Outcome: OutcomeInvalid, Code: "protect-invalidlevel", Message: fmt.Sprintf(
					"`%s` is not a protection level on this wiki. For `%s=`, use one of: %s, or `all` to lift the protection.",
					level, t, "`"+strings.Join(levels, "`, `")+"`")}
			}
			rights = append(rights, LevelRight(level))
		}
		p.Protections = append(p.Protections, mw.Protection{Action: t, Level: level})
		e, own := args.Get(t + "_expiry")
		if own {
			perAction = true
			if strings.TrimSpace(e) == "" {
				return p, nil, usageErrorf("`%s_expiry=` is empty.", t)
			}
		} else if hasDefault {
			e = defaultExpiry
		} else {
			e = "infinite"
		}
		expiries = append(expiries, e)
	}
	if len(p.Protections) == 0 {
		if len(levels) == 0 || len(types) == 0 {
			return p, nil, &Error{Outcome: OutcomeInvalid, Code: "protect-nolevels", Message: "This wiki offers no protection levels to set ($wgRestrictionLevels lists none), so pages cannot be protected on it. Its administrators can add levels in LocalSettings.php."}
		}
		return p, nil, usageErrorf("Say which protection to set: %s with a level from %s, or `all` to lift one. For example `/protect %q edit=%s expiry=\"1 week\"`.",
			keyList(types, "="), "`"+strings.Join(levels, "`, `")+"`", orDefault(title, "Main Page"), levels[len(levels)-1])
	}
	switch {
	case perAction:
		p.Expiry = expiries
	case hasDefault:
		p.Expiry = []string{defaultExpiry}
	}
	if p.Cascade {
		ok := false
		for _, pr := range p.Protections {
			if slices.Contains(site.Restrictions.CascadingLevels, pr.Level) {
				ok = true
			}
		}
		if !ok {
			return p, nil, usageErrorf("`cascade` needs at least one protection at a level that allows cascading on this wiki: %s.",
				"`"+strings.Join(site.Restrictions.CascadingLevels, "`, `")+"`")
		}
	}
	p.Reason, _ = args.Get("reason")
	if tags, ok := args.Get("tags"); ok {
		for _, t := range strings.FieldsFunc(tags, func(r rune) bool { return r == ',' || r == '|' }) {
			if t = strings.TrimSpace(t); t != "" {
				p.Tags = append(p.Tags, t)
			}
		}
	}
	if w, ok := args.Get("watchlist"); ok {
		if !slices.Contains([]string{"watch", "unwatch", "preferences", "nochange"}, w) {
			return p, nil, usageErrorf("`watchlist=%s` is not one of `watch`, `unwatch`, `preferences`, `nochange`.", w)
		}
		p.Watchlist = w
	}
	p.WatchlistExpiry, _ = args.Get("watchlistexpiry")
	return p, rights, nil
}

func keyList(keys []string, suffix string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = "`" + k + suffix + "`"
	}
	return strings.Join(out, ", ")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
