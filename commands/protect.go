package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// ProtectOutcome is the result of a successful /protect, as the wiki
// reported it: each protection with its absolute expiry.
type ProtectOutcome struct {
	// Wiki names the wiki the page is on (Wiki.Name).
	Wiki  string `json:"wiki,omitempty"`
	Title string `json:"title"`
	// Reason is the person's own reason, as much of it as the wiki kept.
	Reason string `json:"reason,omitempty"`
	// LogComment is the whole comment of the wiki's log entry: the reason
	// and who asked for it (SignedReason).
	LogComment  string                `json:"log_comment,omitempty"`
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
		Param{Name: "cascade", Description: "Also protect pages transcluded in this one (kept as it is unless given; cascade=no ends it)", Flag: true},
		Param{Name: "exact", Description: "Set exactly the types given and lift the page's others, as the API does", Flag: true},
	)
	for _, t := range protectTypes {
		params = append(params, Param{Name: t + "_expiry", Description: "Expiry of the " + t + " protection alone"})
	}
	params = append(params,
		Param{Name: "pageid", Description: "The page's id, instead of its title", TextOnly: true},
		Param{Name: "tags", Description: "Change tags for the log entry, comma separated"},
		Param{Name: "watchlist", Description: "watch, unwatch, preferences or nochange, for the bot's watchlist"},
		Param{Name: "watchlistexpiry", Description: "How long the page stays on the bot's watchlist"},
	)
	return Command{
		Spec: Spec{
			Name:       cmdProtect,
			Summary:    "Change a page's protection (action=protect)",
			Positional: "title",
			Usage:      `/protect TITLE [edit=LEVEL] [move=LEVEL] [create=LEVEL] [upload=LEVEL] [expiry=EXPIRY] [reason=TEXT] [cascade] [exact]`,
			Help: "Only the types you name change: the page keeps its other protections, each with its own expiry, and its cascading unless you say `cascade=no`. " +
				"`TYPE=all` lifts one type. With `exact`, the page ends with exactly the types you name and the others are lifted, as the wiki's own API does. " +
				"`expiry` applies to every type given; `TYPE_expiry=` sets one type's own. The reply says what changed, what was lifted, what was kept, or that nothing changed.",
			Right:  mw.RightProtect,
			Grant:  `protect ("Protect and unprotect pages")`,
			Write:  true,
			Params: params,
		},
		Run: s.runProtect,
		// A protect the wiki applied is in its protect log.
		Settle: func(rec AuditRecord) (string, string) {
			return mw.LogProtect, normalizeTitle(positionalOr(rec, "title"))
		},
	}
}

// cmdProtect is the command's name.
const cmdProtect = "protect"

func (s *Service) runProtect(ctx context.Context, req *Request) (Reply, error) {
	pr, err := parseProtect(req.Spec, req.Args, req.Site)
	if err != nil {
		return Reply{}, err
	}
	// The page's protections now: the plan keeps those not named, and the
	// reply tells what changed.
	before, err := req.Wiki.Client.Page(ctx, pr.title, pr.pageID)
	if err != nil {
		return Reply{}, aboutPage(pr.page(), err)
	}
	page := pr.page()
	switch {
	case before.Invalid:
		return Reply{}, &Error{Outcome: OutcomeWikiError, Code: "invalidtitle", Message: i18n.Raw(fmt.Sprintf("%q is not a valid page title on this wiki: titles cannot contain characters such as `# < > [ ] | { }`. Check the title and try again.", pr.title))}
	case pr.pageID != 0 && before.Missing:
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "nosuchpageid", Message: i18n.Raw(fmt.Sprintf("There is no page with id %d. Check the id, or give the title instead.", pr.pageID))}
	}
	if before.Title != "" {
		page = before.Title
	}
	if pr.view {
		return s.showProtection(ctx, req, page, before)
	}
	plan := PlanProtect(before.Protections, pr.changes, pr.exact, pr.cascade, req.Site.Restrictions.CascadingLevels)
	if pr.cascade != nil && *pr.cascade && !plan.Cascade {
		return Reply{}, usageErrorf("`cascade` needs a protection of %s at a level that allows cascading on this wiki: %s.",
			page, "`"+strings.Join(req.Site.Restrictions.CascadingLevels, "`, `")+"`")
	}
	if err := req.CheckProtect(page, before, plan); err != nil {
		return Reply{}, err
	}
	p := mw.ProtectParams{Title: pr.title, PageID: pr.pageID, Protections: plan.Protections, Expiry: plan.Expiry, Cascade: plan.Cascade,
		Reason: s.SignedReason(req.Actor, pr.reason), Tags: pr.tags, Watchlist: pr.watchlist, WatchlistExpiry: pr.watchlistExpiry}
	if p.PageID == 0 {
		p.Title = page
	}
	res, readBack, err := req.Protect(ctx, p, before.Protections)
	switch {
	case readBack != nil:
		return *readBack, nil
	case err != nil:
		// An *Error (the read-back's "not known") passes through as it is.
		return Reply{}, aboutPage(page, err)
	}
	out := &ProtectOutcome{
		Wiki:        req.Wiki.Name,
		Title:       res.Title,
		Reason:      s.personReason(req.Actor, keptComment(res.Reason)),
		LogComment:  keptComment(res.Reason),
		Cascade:     res.Cascade,
		Protections: res.Protections,
		URL:         req.Site.PageURL(res.Title),
	}
	req.Result = out
	req.after = s.trackProtect(req.Actor, out)
	reply := protectReply(out, before.Protections, plan, res.Warnings, s.now())
	if s.ReasonShortened(req.Actor, pr.reason) {
		reply.Text = i18n.Lines(reply.Text, shortenedNote)
	}
	return reply, nil
}

// Protect sends p, a plan of the page whose protections were before, to
// the request's wiki, as /protect does: when the wiki's answer is lost, it
// reads the page and its protect log back and returns the reply that says
// what is true now instead of a result (see protectReadBack). Whatever
// else protects a page for a person (a reminder's Extend) goes through it,
// so that every such reply is as true as /protect's.
func (r *Request) Protect(ctx context.Context, p mw.ProtectParams, before []mw.PageProtection) (*mw.ProtectResult, *Reply, error) {
	// The wall clock, not the service's: it is compared with the stamps
	// of the wiki's log should the answer be lost.
	sentAt := time.Now()
	res, err := r.Wiki.Client.Protect(ctx, p)
	if !mw.MaybeApplied(err) {
		return res, nil, err
	}
	reply, err := r.svc.protectReadBack(ctx, r, p, before, err, sentAt)
	if err != nil {
		return nil, nil, err
	}
	return nil, &reply, nil
}

// CheckProtect returns a denial unless the actor may change the protection
// of page, which is now as before says, as plan would. It is MediaWiki's
// own rule, applied to the person rather than to the bot: a level may be
// set only by who holds its right (the API offers a person no other levels,
// and the plan sends every level the page will have, kept ones included);
// the page may be protected at all only by who may edit it, so its current
// edit level and any it inherits from a cascading page need their rights
// too; and what the page has now, of every type the command touches (a
// level lowered, lifted with TYPE=all or by exact, or cascading ended),
// may be changed only by who could have set it. Since the plan sends the
// page's whole protection, every type is touched: the rights of every
// level the page has now and of every level it will have are needed.
func (r *Request) CheckProtect(page string, before mw.PageState, plan ProtectPlan) error {
	var after []string
	for _, l := range plan.Levels() {
		after = append(after, LevelRight(l))
	}
	if err := r.Check(after...); err != nil {
		return err
	}
	var now, has []string
	for _, p := range before.Protections {
		if !isLift(p.Level) {
			now = append(now, LevelRight(p.Level))
			has = append(has, p.Type+"="+p.Level)
		}
	}
	for _, p := range before.Inherited {
		if p.Type == "edit" && !isLift(p.Level) {
			now = append(now, LevelRight(p.Level))
			has = append(has, fmt.Sprintf("edit=%s from the cascading protection of %s", p.Level, p.Source))
		}
	}
	err := r.Check(now...)
	e, ok := AsError(err)
	if !ok || e.Outcome != OutcomeDenied || !strings.HasPrefix(e.Code, "missing-right:") {
		return err
	}
	denied := *e
	denied.Message = i18n.Raw(fmt.Sprintf("%s is protected with %s now. On the wiki, only someone who could set those levels may change or lift them, and so it is here. %s",
		page, strings.Join(has, ", "), e.Message))
	return &denied
}

// trackProtect returns the work that hands a protection the wiki applied
// to Config.OnProtect (the reminders), for after the reply; nil without
// OnProtect.
func (s *Service) trackProtect(actor Actor, out *ProtectOutcome) func(context.Context) {
	if s.onProtect == nil {
		return nil
	}
	return func(ctx context.Context) {
		if err := s.onProtect(ctx, actor, out); err != nil {
			s.log.Error("after protect", "wiki", out.Wiki, "title", out.Title, "err", err)
		}
	}
}

// aboutPage names the page in the explanation of an error from the wiki, so
// that a moderator who ran several commands knows which one it answers.
func aboutPage(page string, err error) error {
	e := wikiErrorFor(cmdProtect, err, nil)
	if e == nil {
		return err
	}
	named := *e
	named.Message = i18n.M("wikimod-about-page", page, e.Message)
	return &named
}

// protectReply tells what the wiki did: each protection the page has now,
// whether it changed or was kept, what was lifted, and "unchanged" when the
// wiki's answer is the page's protection as it was.
func protectReply(out *ProtectOutcome, before []mw.PageProtection, plan ProtectPlan, warnings []mw.Message, now time.Time) Reply {
	was := map[string]mw.PageProtection{}
	wasCascading := false
	for _, b := range before {
		was[b.Type] = b
		wasCascading = wasCascading || b.Cascade
	}
	changed := out.Cascade != wasCascading
	var lifted []string
	reply := Reply{URL: out.URL, Protect: out}
	for _, pr := range out.Protections {
		b, had := was[pr.Action]
		if isLift(pr.Level) {
			if had {
				lifted = append(lifted, pr.Action)
				changed = true
			}
			continue
		}
		state := "changed"
		switch {
		case !had:
			state = "new"
			changed = true
		case b.Level == pr.Level && sameExpiry(b.Expiry, pr.Expiry):
			state = "unchanged"
			if slices.ContainsFunc(plan.Kept, func(k mw.PageProtection) bool { return k.Type == pr.Action }) {
				state = "kept"
			}
		default:
			changed = true
		}
		reply.Fields = append(reply.Fields, Field{Label: i18n.Raw(pr.Action), Value: i18n.Raw(pr.Level + ", " + describeExpiry(pr.Expiry, now) + " (" + state + ")")})
	}
	for _, t := range plan.Lifted {
		if !slices.Contains(lifted, t) {
			lifted = append(lifted, t)
			changed = true
		}
	}
	var notes []string
	if len(lifted) > 0 {
		sort.Strings(lifted)
		notes = append(notes, "Lifted: "+strings.Join(lifted, ", ")+".")
	}
	switch {
	case out.Cascade:
		notes = append(notes, "Cascading: pages transcluded in it are protected too.")
	case plan.CascadeEnds:
		notes = append(notes, "Cascading has ended: no protection left on the page allows it.")
	case wasCascading:
		notes = append(notes, "Cascading has ended.")
	}
	// A request that changes nothing writes no log entry: there is no
	// comment to quote then.
	if out.LogComment != "" && changed {
		notes = append(notes, "The wiki's log says: "+out.LogComment)
	}
	for _, w := range warnings {
		notes = append(notes, "The wiki warns: "+w.Text)
	}
	reply.Text = i18n.Raw(strings.Join(notes, "\n"))
	if changed {
		reply.Title = i18n.Raw("Protection of " + out.Title + " changed.")
		reply.Announce = true
	} else {
		reply.Title = i18n.Raw("Protection of " + out.Title + " unchanged: it already was as asked.")
		reply.Code = "unchanged"
	}
	return reply
}

// commentLimit is how many characters of a reason MediaWiki keeps
// ($wgCommentCharacterLimit's fixed value, CommentStore::COMMENT_CHARACTER_LIMIT).
const commentLimit = 500

// keptComment is a reason as the wiki stores it: cut to commentLimit
// characters, the last three of them "...", as Language::truncateForVisual
// does.
func keptComment(reason string) string { return truncate(reason, commentLimit) }

// truncate cuts s to at most limit characters, the last three of them
// "...", as the wiki does with comments.
func truncate(s string, limit int) string {
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return strings.TrimRightFunc(string(r[:max(limit-3, 0)]), unicode.IsSpace) + "..."
}

// settleTimeout bounds reading the wiki back after a write whose answer was
// lost.
const settleTimeout = 10 * time.Second

// logSkew is how far before the moment a write was sent the wiki's log
// entry for it may be stamped, for clocks that disagree a little.
const logSkew = 30 * time.Second

// protectReadBack answers a /protect whose request may have reached the wiki
// but whose answer was lost, sent at sentAt (the wall clock, compared with
// the wiki's). It reads the page's protections and its protect log back
// and says what is true now: "as you asked" only when the log has the
// entry the request would have written and the page is as that entry set
// it (levels, expiries and cascading), or, with no entry, when the page
// already held exactly what was asked; otherwise what the page has, or
// that it cannot be known.
func (s *Service) protectReadBack(ctx context.Context, req *Request, p mw.ProtectParams, before []mw.PageProtection, sendErr error, sentAt time.Time) (Reply, error) {
	s.log.Warn("protect: the wiki's answer was lost; reading the page back", "title", p.Title, "pageid", p.PageID, "err", sendErr)
	page := p.Title
	if page == "" {
		page = fmt.Sprintf("page id %d", p.PageID)
	}
	unknown := &Error{Outcome: OutcomeUnknown, Code: "outcome-unknown", Message: i18n.Raw(fmt.Sprintf(
		"The request to protect %s was sent, but the wiki's answer was lost and the wiki still does not answer, so wikimod cannot tell whether the protection changed. "+
			"Check the page's protection on the wiki before trying again.", page))}
	if p.Title == "" {
		return Reply{}, unknown
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// wikimod is stopping: it does not wait for the wiki any longer.
		return Reply{}, wikiErrorFor("", sendErr, nil)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	all, err := req.Wiki.Client.PageProtections(rctx, p.Title)
	if err != nil {
		s.log.Warn("protect: cannot read the page back", "title", p.Title, "err", err)
		return Reply{}, unknown
	}
	var now []mw.PageProtection
	for _, pr := range all {
		if pr.Source == "" { // inherited ones are another page's
			now = append(now, pr)
		}
	}
	entry, logErr := appliedEntry(rctx, req.Wiki.Client, p, before, sentAt)
	if logErr != nil {
		s.log.Warn("protect: cannot read the protect log back", "title", p.Title, "err", logErr)
	}
	req.Result = map[string]any{"read_back": now}
	fields := make([]Field, 0, len(now))
	for _, pr := range now {
		value := pr.Level + ", " + describeExpiry(pr.Expiry, s.now())
		if pr.Cascade {
			value += ", cascading"
		}
		fields = append(fields, Field{Label: i18n.Raw(pr.Type), Value: i18n.Raw(value)})
	}
	url := req.Site.PageURL(p.Title)
	state := "It has no protection now."
	if len(now) > 0 {
		state = "Its protection now is as listed."
	}
	var asked bool
	switch {
	case entry != nil:
		asked = sameAsEntry(now, entry)
		if !asked {
			// The wiki did it, and the page has changed again since.
			return Reply{Outcome: OutcomeOK, Code: "read-back-changed", Title: i18n.Raw("Protection of " + p.Title + " was changed, and has changed again since."), Fields: fields, URL: url,
				Text: i18n.Raw("The wiki's answer was lost, so wikimod read the page back: the wiki's log shows your request applied (" + describeEntry(entry) + "), but the page's protection is no longer what it set. " + state)}, nil
		}
	case logErr == nil:
		asked = protectionsAsAsked(p, now)
	}
	if !asked {
		text := "The request was sent, but the wiki's answer was lost, so wikimod read the page back: the wiki's log has no entry for your request, and its protection is not exactly what you asked for. " + state +
			" If the wiki was only slow, it may still apply the request; check again before trying again."
		if logErr != nil {
			text = "The request was sent, but the wiki's answer was lost, and wikimod could read the page back but not the wiki's log, so it cannot tell whether your request applied. " + state +
				" Check the page's protection log on the wiki before trying again."
		}
		return Reply{Outcome: OutcomeUnknown, Code: "outcome-unknown", Title: i18n.Raw("Not known whether " + p.Title + " was protected."), Fields: fields, URL: url, Text: i18n.Raw(text)}, nil
	}
	out := &ProtectOutcome{Wiki: req.Wiki.Name, Title: p.Title, URL: url}
	for _, pr := range now {
		out.Cascade = out.Cascade || pr.Cascade
		out.Protections = append(out.Protections, mw.ProtectionResult{Action: pr.Type, Level: pr.Level, Expiry: apiExpiry(pr.Expiry)})
	}
	req.Result = out
	req.after = s.trackProtect(req.Actor, out)
	if entry == nil {
		return Reply{Title: i18n.Raw("Protection of " + p.Title + " unchanged: it already was as asked."), Fields: fields, URL: url, Protect: out, Code: "unchanged",
			Text: i18n.Raw("The wiki's answer was lost, so wikimod read the page back: its protection is exactly what you asked for, and the wiki's log has no entry for your request, as for a request that changes nothing.")}, nil
	}
	out.LogComment = entry.Comment
	out.Reason = s.personReason(req.Actor, entry.Comment)
	return Reply{Title: i18n.Raw("Protection of " + p.Title + " is as you asked."), Fields: fields, URL: url, Announce: true, Protect: out, Code: "read-back",
		Text: i18n.Raw("The wiki's answer was lost, so wikimod read the page back: the wiki's log has your request (" + describeEntry(entry) + ") and the page's protection is what it set.\nThe wiki's log says: " + entry.Comment)}, nil
}

// appliedEntry finds the protect log entry a lost request p would have
// written: the newest for the page, stamped no earlier than sentAt (less
// logSkew), with the request's signed reason as its comment and its
// levels and cascading. An entry that set what the page had before the
// request was sent is an earlier one (the same command given twice): a
// request that changes the page leaves it otherwise, and one that does not
// writes no entry. Nil when there is none.
func appliedEntry(ctx context.Context, wiki *mw.Client, p mw.ProtectParams, before []mw.PageProtection, sentAt time.Time) (*mw.LogEvent, error) {
	res, err := wiki.LogEvents(ctx, mw.LogEventsQuery{Type: mw.LogProtect, Title: p.Title, Limit: 10})
	if err != nil {
		return nil, err
	}
	comment := keptComment(p.Reason)
	for i := range res.Events {
		e := &res.Events[i]
		if e.Timestamp.Before(sentAt.Add(-logSkew)) {
			break // newest first: the rest are older still
		}
		if e.ActionHidden || e.Comment != comment || (e.Action != mw.ActionProtect && e.Action != mw.ActionModify) || !entryHasLevels(e, p) {
			continue
		}
		if sameAsEntry(before, e) {
			return nil, nil
		}
		return e, nil
	}
	return nil, nil
}

// entryHasLevels reports whether a log entry set what p asked: each type
// at its level, lifted types absent, and cascading as asked.
func entryHasLevels(e *mw.LogEvent, p mw.ProtectParams) bool {
	levels := map[string]string{}
	cascade := e.Params.Cascade
	for _, d := range e.Params.Details {
		levels[d.Type] = d.Level
		cascade = cascade || d.Cascade
	}
	if cascade != p.Cascade {
		return false
	}
	for _, want := range p.Protections {
		if isLift(want.Level) {
			if _, has := levels[want.Action]; has {
				return false
			}
		} else if levels[want.Action] != want.Level {
			return false
		}
	}
	return true
}

// sameAsEntry reports whether a page's protections are what a log entry
// set: the same types, levels, expiries and cascading.
func sameAsEntry(now []mw.PageProtection, e *mw.LogEvent) bool {
	if len(now) != len(e.Params.Details) {
		return false
	}
	for _, d := range e.Params.Details {
		found := false
		for _, pr := range now {
			if pr.Type == d.Type {
				found = pr.Level == d.Level && sameExpiry(pr.Expiry, d.Expiry) && pr.Cascade == (d.Cascade || e.Params.Cascade)
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// describeEntry names a log entry for a reply: when, and by whom.
func describeEntry(e *mw.LogEvent) string {
	return fmt.Sprintf("entry %d, %s by %s", e.LogID, e.Timestamp.UTC().Format(time.RFC3339), e.User)
}

// protectionsAsAsked reports whether a page's protections already are
// exactly what p asks for: each type named at its level with its expiry,
// each type lifted absent, and cascading as asked. A relative expiry
// ("1 week") is never "already" so: the wiki reads it from the moment it
// takes the request, so a request with one always changes the page and
// writes a log entry.
func protectionsAsAsked(p mw.ProtectParams, now []mw.PageProtection) bool {
	cascading := false
	for _, pr := range now {
		cascading = cascading || pr.Cascade
	}
	if cascading != p.Cascade {
		return false
	}
	for i, want := range p.Protections {
		var cur *mw.PageProtection
		for j := range now {
			if now[j].Type == want.Action {
				cur = &now[j]
			}
		}
		if isLift(want.Level) {
			if cur != nil {
				return false
			}
			continue
		}
		if cur == nil || cur.Level != want.Level {
			return false
		}
		expiry := "infinite"
		switch {
		case len(p.Expiry) == len(p.Protections):
			expiry = p.Expiry[i]
		case len(p.Expiry) == 1:
			expiry = p.Expiry[0]
		}
		if !expiryIs(cur.Expiry, expiry) {
			return false
		}
	}
	return true
}

// expiryIs reports whether an expiry as the wiki gives it (absolute, or
// "infinity") is the one asked for, when the asked one says an exact time
// or none; a relative one cannot be compared, and is not.
func expiryIs(have, asked string) bool {
	switch strings.ToLower(strings.TrimSpace(asked)) {
	case "infinite", "indefinite", "infinity", "never", "":
		return apiExpiry(have) == "infinite"
	}
	want, err := time.Parse(time.RFC3339, strings.TrimSpace(asked))
	if err != nil {
		return false
	}
	got, err := time.Parse(time.RFC3339, have)
	return err == nil && got.Equal(want)
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

// maxTitleBytes bounds a title wikimod sends: 255 bytes of the title itself
// (MediaWiki's page_title column) and room for a namespace's name.
const maxTitleBytes = 255 + 64

// protectRequest is a parsed /protect.
type protectRequest struct {
	title           string
	pageID          int
	changes         []ProtectChange
	cascade         *bool // nil: keep the page's
	exact           bool
	reason          string
	tags            []string
	watchlist       string
	watchlistExpiry string
	// view is set for a page named alone: show its protection, change
	// nothing.
	view bool
}

// page names the page for replies.
func (r protectRequest) page() string {
	if r.title != "" {
		return r.title
	}
	return fmt.Sprintf("page id %d", r.pageID)
}

// parseProtect reads /protect's arguments, checking the types and levels
// against the wiki's own.
func parseProtect(spec Spec, args Args, site *mw.SiteInfo) (protectRequest, error) {
	var p protectRequest
	types := site.Restrictions.Types
	var levels []string
	for _, l := range site.Restrictions.Levels {
		if l != "" {
			levels = append(levels, l)
		}
	}
	noLevels := &Error{Outcome: OutcomeInvalid, Code: "protect-nolevels", Message: i18n.Raw("This wiki offers no protection levels to set ($wgRestrictionLevels lists none), so pages cannot be protected on it. Its administrators can add levels in LocalSettings.php.")}
	for _, k := range args.Keys() {
		base := strings.TrimSuffix(k, "_expiry")
		if _, ok := spec.Param(k); ok {
			if slices.Contains(protectTypes, base) && !slices.Contains(types, base) {
				return p, usageErrorf("This wiki has no `%s` protection. It offers: %s.", base, strings.Join(types, ", "))
			}
			continue
		}
		if slices.Contains(types, base) {
			continue // a type this wiki adds beyond the stock four
		}
		return p, usageErrorf("`/protect` has no `%s=`. It takes a title and %s, `expiry=`, `reason=`, `cascade`, `exact`, `pageid=`, `tags=`, `watchlist=`, `watchlistexpiry=`, and `TYPE_expiry=` for one type's own expiry.",
			k, keyList(types, "=LEVEL"))
	}

	// Bare flag words (`cascade`, `exact`) were made named arguments when
	// the line was read (foldFlags); every word left is the title.
	words := args.Positional
	title, hasTitle := args.Get("title")
	switch {
	case hasTitle && len(words) > 0:
		return p, usageErrorf("Give the page once: either as the first word or as `title=`, not both.")
	case !hasTitle:
		title = strings.Join(words, " ")
	}
	title = strings.TrimSpace(title)
	if len(title) > maxTitleBytes {
		// Not the wiki's fault, and not worth a request: no wiki takes it.
		return p, &Error{Outcome: OutcomeInvalid, Code: "title-too-long", Message: i18n.Raw(fmt.Sprintf(
			"That title is %d characters long. Page titles on MediaWiki are at most 255 bytes (in UTF-8), besides the namespace, so no page has it and nothing was sent to the wiki. Check the title.",
			len([]rune(title))))}
	}
	if id, ok := args.Get("pageid"); ok {
		n, err := strconv.Atoi(id)
		if err != nil || n <= 0 {
			return p, usageErrorf("`pageid=%s` is not a page id; page ids are positive numbers.", id)
		}
		if title != "" {
			return p, usageErrorf("Give either a title or `pageid=`, not both.")
		}
		p.pageID = n
	} else if title == "" {
		return p, usageErrorf("Which page? Usage: `%s`, for example `/protect \"Main Page\" edit=sysop move=sysop expiry=\"1 week\" reason=\"vandalism\"`.", spec.Usage)
	}
	p.title = title

	if v, ok := args.Get("cascade"); ok {
		b, err := parseBool("cascade", v)
		if err != nil {
			return p, err
		}
		p.cascade = &b
	}
	if v, ok := args.Get("exact"); ok {
		b, err := parseBool("exact", v)
		if err != nil {
			return p, err
		}
		p.exact = b
	}

	defaultExpiry, hasDefault := args.Get("expiry")
	if hasDefault && strings.TrimSpace(defaultExpiry) == "" {
		return p, usageErrorf("`expiry=` is empty. Give a duration like `expiry=\"1 week\"`, a time, or `expiry=infinite`.")
	}
	for _, t := range types {
		level, ok := args.Get(t)
		if !ok {
			if _, has := args.Get(t + "_expiry"); has {
				return p, usageErrorf("`%s_expiry=` is given without `%s=LEVEL`.", t, t)
			}
			continue
		}
		level = strings.TrimSpace(level)
		switch strings.ToLower(level) {
		case "", "all", "none":
			level = "all"
		default:
			if len(levels) == 0 {
				return p, noLevels
			}
			if !slices.Contains(levels, level) {
				return p, &Error{Outcome: OutcomeInvalid, Code: "protect-invalidlevel", Message: i18n.Raw(fmt.Sprintf(
					"`%s` is not a protection level on this wiki. For `%s=`, use one of: %s, or `all` to lift the protection.",
					level, t, "`"+strings.Join(levels, "`, `")+"`"))}
			}
		}
		e, own := args.Get(t + "_expiry")
		switch {
		case own && strings.TrimSpace(e) == "":
			return p, usageErrorf("`%s_expiry=` is empty.", t)
		case own:
		case hasDefault:
			e = defaultExpiry
		default:
			e = "infinite"
		}
		p.changes = append(p.changes, ProtectChange{Type: t, Level: level, Expiry: e})
	}
	if len(p.changes) == 0 {
		// The page alone: show its protection and its past, change nothing.
		view := true
		for _, k := range args.Keys() {
			view = view && (k == "title" || k == "pageid")
		}
		if view {
			p.view = true
			return p, nil
		}
		if len(levels) == 0 || len(types) == 0 {
			return p, noLevels
		}
		return p, usageErrorf("Say which protection to set on %s: %s with a level from %s, or `all` to lift one. For example `/protect %q edit=%s expiry=\"1 week\"`.",
			p.page(), keyList(types, "="), "`"+strings.Join(levels, "`, `")+"`", orDefault(title, "Main Page"), levels[len(levels)-1])
	}
	p.reason, _ = args.Get("reason")
	if tags, ok := args.Get("tags"); ok {
		for _, t := range strings.FieldsFunc(tags, func(r rune) bool { return r == ',' || r == '|' }) {
			if t = strings.TrimSpace(t); t != "" {
				p.tags = append(p.tags, t)
			}
		}
	}
	if w, ok := args.Get("watchlist"); ok {
		if !slices.Contains([]string{"watch", "unwatch", "preferences", "nochange"}, w) {
			return p, usageErrorf("`watchlist=%s` is not one of `watch`, `unwatch`, `preferences`, `nochange`.", w)
		}
		p.watchlist = w
	}
	p.watchlistExpiry, _ = args.Get("watchlistexpiry")
	return p, nil
}

func ptr[T any](v T) *T { return &v }

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
