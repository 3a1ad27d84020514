package commands

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
		{Name: "title", Description: i18n.M("wikimod-param-protect-title"), Titles: true},
	}
	params = append(params, batchParams...)
	for _, t := range protectTypes {
		params = append(params, Param{Name: t, Description: i18n.M("wikimod-param-protect-level", t), Levels: true})
	}
	params = append(params,
		Param{Name: "expiry", Description: i18n.M("wikimod-param-protect-expiry")},
		Param{Name: "reason", Description: i18n.M("wikimod-param-protect-reason")},
		Param{Name: "cascade", Description: i18n.M("wikimod-param-protect-cascade"), Flag: true},
		Param{Name: "exact", Description: i18n.M("wikimod-param-protect-exact"), Flag: true},
	)
	for _, t := range protectTypes {
		params = append(params, Param{Name: t + "_expiry", Description: i18n.M("wikimod-param-protect-type-expiry", t)})
	}
	params = append(params,
		Param{Name: "pageid", Description: i18n.M("wikimod-param-protect-pageid"), TextOnly: true},
		Param{Name: "tags", Description: i18n.M("wikimod-param-protect-tags")},
		Param{Name: "watchlist", Description: i18n.M("wikimod-param-protect-watchlist")},
		Param{Name: "watchlistexpiry", Description: i18n.M("wikimod-param-protect-watchlistexpiry")},
	)
	return Command{
		Spec: Spec{
			Name:       cmdProtect,
			Summary:    i18n.M("wikimod-command-protect-summary"),
			Positional: "title",
			Usage:      `/protect TITLE|titles="A|B"|category=NAME|prefix=TEXT [edit=LEVEL] [move=LEVEL] [create=LEVEL] [upload=LEVEL] [expiry=EXPIRY] [reason=TEXT] [cascade] [exact]`,
			Help:       i18n.M("wikimod-command-protect-help"),
			Right:      mw.RightProtect,
			Grant:      `protect ("Protect and unprotect pages")`,
			Write:      true,
			Params:     params,
		},
		Run:    s.runProtect,
		Advice: protectAdvice,
		// A protect the wiki applied is in its protect log.
		Settle: func(rec AuditRecord) (string, string) {
			return mw.LogProtect, normalizeTitle(positionalOr(rec, "title"))
		},
	}
}

// protectAdvice is the advice (catalogue keys by the wiki's error code)
// for the codes that mean something particular to /protect: which rights
// and grants the bot needs to protect, and how /protect names a page and
// its protections; wikiAdvice has the rest.
var protectAdvice = map[string]string{
	"permissiondenied": "wikimod-error-permissiondenied-protect",
	"blocked":          "wikimod-error-blocked-protect",
	"badvalue":         "wikimod-error-badvalue-protect",
	"missingparam":     "wikimod-error-missingparam-protect",
	"invalidparammix":  "wikimod-error-invalidparammix-protect",
}

// cmdProtect is the command's name.
const cmdProtect = "protect"

func (s *Service) runProtect(ctx context.Context, req *Request) (Reply, error) {
	pr, err := parseProtect(req.Spec, req.Args, req.Site)
	if err != nil {
		return Reply{}, err
	}
	if pr.batch != nil {
		// Many pages: a preview first (protectbatch.go).
		return s.previewProtectBatch(ctx, req, pr)
	}
	// The page's protections now: the plan keeps those not named, and the
	// reply tells what changed. Its protect log comes in the same request,
	// for the reply's history line (and, with its comments, for the view).
	before, log, err := req.Wiki.Client.PageWithLog(ctx, pr.title, pr.pageID, mw.PageLog{Type: mw.LogProtect, Limit: HistoryRead, Comments: pr.view})
	if err != nil {
		return Reply{}, aboutPage(pr.page(), err)
	}
	page := pr.title
	switch {
	case before.Invalid:
		return Reply{}, &Error{Outcome: OutcomeWikiError, Code: "invalidtitle", Message: i18n.M("wikimod-protect-invalid-title", pr.title)}
	case pr.pageID != 0 && before.Missing:
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "nosuchpageid", Message: i18n.M("wikimod-protect-no-such-pageid", pr.pageID)}
	}
	if before.Title != "" {
		page = before.Title
	}
	if pr.view {
		return s.showProtection(req, page, before, log), nil
	}
	plan := PlanProtect(before.Protections, pr.changes, pr.exact, pr.cascade, req.Site.Restrictions.CascadingLevels)
	if pr.cascade != nil && *pr.cascade && !plan.Cascade {
		return Reply{}, usage("wikimod-protect-cascade-needs-level", page, levelNames(req.Site.Restrictions.CascadingLevels))
	}
	if err := req.CheckProtect(page, before, plan); err != nil {
		return Reply{}, err
	}
	p := mw.ProtectParams{Title: pr.title, PageID: pr.pageID, Protections: plan.Protections, Expiry: plan.Expiry, Cascade: plan.Cascade,
		Reason: req.SignedReason(pr.reason), Tags: pr.tags, Watchlist: pr.watchlist, WatchlistExpiry: pr.watchlistExpiry}
	if p.PageID == 0 {
		p.Title = page
	}
	res, readBack, err := req.Protect(ctx, p, before.Protections)
	switch {
	case readBack != nil:
		return *readBack, nil
	case err != nil:
		// An *Error (the read-back's "not known") passes through as it is.
		return Reply{}, aboutPage(i18n.Raw(page), err)
	}
	out := &ProtectOutcome{
		Wiki:        req.Wiki.Name,
		Title:       res.Title,
		Reason:      req.personReason(keptComment(res.Reason)),
		LogComment:  keptComment(res.Reason),
		Cascade:     res.Cascade,
		Protections: res.Protections,
		URL:         req.Site.PageURL(res.Title),
	}
	req.Result = out
	req.after = s.trackProtect(req.Actor, out)
	reply := protectReply(out, before.Protections, plan, res.Warnings, historyOf(log), s.now())
	if req.ReasonShortened(pr.reason) {
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
	var now []string
	var has []i18n.Message
	for _, p := range before.Protections {
		if !isLift(p.Level) {
			now = append(now, LevelRight(p.Level))
			has = append(has, i18n.M("wikimod-protect-type-level", typeName(p.Type), levelName(p.Level)))
		}
	}
	for _, p := range before.Inherited {
		if p.Type == "edit" && !isLift(p.Level) {
			now = append(now, LevelRight(p.Level))
			has = append(has, i18n.M("wikimod-protect-type-level-inherited", typeName(p.Type), levelName(p.Level), p.Source))
		}
	}
	err := r.Check(now...)
	e, ok := AsError(err)
	if !ok || e.Outcome != OutcomeDenied || !strings.HasPrefix(e.Code, "missing-right:") {
		return err
	}
	denied := *e
	denied.Message = i18n.Sentences(i18n.M("wikimod-protect-denied-held", page, i18n.List(has...)), e.Message)
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
func aboutPage(page i18n.Message, err error) error {
	e := wikiErrorFor(protectAdvice, err, nil)
	if e == nil {
		return err
	}
	named := *e
	named.Message = i18n.M("wikimod-about-page", page, e.Message)
	return &named
}

// protectReply tells what the wiki did: each protection the page has now,
// whether it changed or was kept, what was lifted, and "unchanged" when the
// wiki's answer is the page's protection as it was; and the page's history
// in a line, from its protect log as read before the write (history).
func protectReply(out *ProtectOutcome, before []mw.PageProtection, plan ProtectPlan, warnings []mw.Message, history protectHistory, now time.Time) Reply {
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
		state := "wikimod-protect-result-changed"
		switch {
		case !had:
			state = "wikimod-protect-result-new"
			changed = true
		case b.Level == pr.Level && sameExpiry(b.Expiry, pr.Expiry):
			state = "wikimod-protect-result-unchanged"
			if slices.ContainsFunc(plan.Kept, func(k mw.PageProtection) bool { return k.Type == pr.Action }) {
				state = "wikimod-protect-result-kept"
			}
		default:
			changed = true
		}
		reply.Fields = append(reply.Fields, Field{Label: typeName(pr.Action), Value: i18n.M(state, levelName(pr.Level), describeExpiry(pr.Expiry))})
	}
	for _, t := range plan.Lifted {
		if !slices.Contains(lifted, t) {
			lifted = append(lifted, t)
			changed = true
		}
	}
	var notes []i18n.Message
	if len(lifted) > 0 {
		sort.Strings(lifted)
		notes = append(notes, i18n.M("wikimod-protect-lifted", typeNames(lifted)))
	}
	switch {
	case out.Cascade:
		notes = append(notes, i18n.M("wikimod-protect-cascading"))
	case plan.CascadeEnds:
		notes = append(notes, i18n.M("wikimod-protect-cascade-ends"))
	case wasCascading:
		notes = append(notes, i18n.M("wikimod-protect-cascade-ended"))
	}
	// A request that changes nothing writes no log entry: there is no
	// comment to quote then.
	if out.LogComment != "" && changed {
		notes = append(notes, i18n.M("wikimod-protect-log-says", out.LogComment))
	}
	// A change that leaves the page some protection is a protection the
	// wiki logged (protect or modify); one that leaves none, an unprotect.
	made := changed && slices.ContainsFunc(out.Protections, func(p mw.ProtectionResult) bool { return !isLift(p.Level) })
	if line := history.replyLine(now, made); !line.IsZero() {
		notes = append(notes, line)
	}
	for _, w := range warnings {
		// The wiki's own words, in the language it was asked for.
		notes = append(notes, i18n.M("wikimod-protect-wiki-warns", w.Text))
	}
	if len(notes) > 0 {
		reply.Text = i18n.Lines(notes...)
	}
	if changed {
		reply.Title = i18n.M("wikimod-protect-changed-title", out.Title)
		reply.Announce = true
	} else {
		reply.Title = i18n.M("wikimod-protect-unchanged-title", out.Title)
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
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
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
	page := i18n.Raw(p.Title)
	if p.Title == "" {
		page = i18n.M("wikimod-protect-page-id", p.PageID)
	}
	unknown := &Error{Outcome: OutcomeUnknown, Code: "outcome-unknown", Message: i18n.M("wikimod-protect-lost-unknown", page)}
	if p.Title == "" {
		return Reply{}, unknown
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// wikimod is stopping: it does not wait for the wiki any longer.
		return Reply{}, wikiError(sendErr, nil)
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
	var entry *mw.LogEvent
	var history protectHistory
	log, logErr := req.Wiki.Client.LogEvents(rctx, mw.LogEventsQuery{Type: mw.LogProtect, Title: p.Title, Limit: HistoryRead})
	if logErr != nil {
		s.log.Warn("protect: cannot read the protect log back", "title", p.Title, "err", logErr)
	} else {
		entry = appliedEntry(log.Events, p, before, sentAt)
		history = historyOf(*log)
	}
	// The history as the log has it now, which holds whatever entry
	// the request wrote; none when the log could not be read.
	var historyNow i18n.Message
	if logErr == nil {
		historyNow = history.replyLine(s.now(), false)
	}
	req.Result = map[string]any{"read_back": now}
	fields := make([]Field, 0, len(now))
	for _, pr := range now {
		fields = append(fields, Field{Label: typeName(pr.Type), Value: protectionNow(pr.Level, pr.Expiry, pr.Cascade)})
	}
	url := req.Site.PageURL(p.Title)
	state := i18n.M("wikimod-protect-now-none")
	if len(now) > 0 {
		state = i18n.M("wikimod-protect-now-listed")
	}
	var asked bool
	switch {
	case entry != nil:
		asked = sameAsEntry(now, entry)
		if !asked {
			// The wiki did it, and the page has changed again since.
			return Reply{Outcome: OutcomeOK, Code: "read-back-changed", Title: i18n.M("wikimod-protect-changed-again-title", p.Title), Fields: fields, URL: url,
				Text: i18n.Lines(i18n.Sentences(i18n.M("wikimod-protect-lost-changed-again", describeEntry(entry)), state), historyNow)}, nil
		}
	case logErr == nil:
		asked = protectionsAsAsked(p, now)
	}
	if !asked {
		text := i18n.Sentences(i18n.M("wikimod-protect-lost-no-entry"), state, i18n.M("wikimod-protect-lost-maybe-later"))
		if logErr != nil {
			text = i18n.Sentences(i18n.M("wikimod-protect-lost-no-log"), state, i18n.M("wikimod-protect-lost-check-log"))
		}
		return Reply{Outcome: OutcomeUnknown, Code: "outcome-unknown", Title: i18n.M("wikimod-protect-unknown-title", p.Title), Fields: fields, URL: url, Text: i18n.Lines(text, historyNow)}, nil
	}
	out := &ProtectOutcome{Wiki: req.Wiki.Name, Title: p.Title, URL: url}
	for _, pr := range now {
		out.Cascade = out.Cascade || pr.Cascade
		out.Protections = append(out.Protections, mw.ProtectionResult{Action: pr.Type, Level: pr.Level, Expiry: apiExpiry(pr.Expiry)})
	}
	req.Result = out
	req.after = s.trackProtect(req.Actor, out)
	if entry == nil {
		return Reply{Title: i18n.M("wikimod-protect-unchanged-title", p.Title), Fields: fields, URL: url, Protect: out, Code: "unchanged",
			Text: i18n.Lines(i18n.M("wikimod-protect-lost-already"), historyNow)}, nil
	}
	out.LogComment = entry.Comment
	out.Reason = req.personReason(entry.Comment)
	// As in the reply to a write that was answered: this protection
	// counted in, and the one before it named.
	return Reply{Title: i18n.M("wikimod-protect-read-back-title", p.Title), Fields: fields, URL: url, Announce: true, Protect: out, Code: "read-back",
		Text: i18n.Lines(i18n.M("wikimod-protect-lost-applied", describeEntry(entry)), i18n.M("wikimod-protect-log-says", entry.Comment), history.before(entry).replyLine(s.now(), true))}, nil
}

// appliedEntry finds, among the page's protect log entries (newest
// first), the one a lost request p would have written: the newest stamped
// no earlier than sentAt (less logSkew), with the request's signed reason
// as its comment and its levels and cascading. An entry that set what the
// page had before the request was sent is an earlier one (the same command
// given twice): a request that changes the page leaves it otherwise, and
// one that does not writes no entry. Nil when there is none.
func appliedEntry(events []mw.LogEvent, p mw.ProtectParams, before []mw.PageProtection, sentAt time.Time) *mw.LogEvent {
	comment := keptComment(p.Reason)
	for i := range events {
		e := &events[i]
		if e.Timestamp.Before(sentAt.Add(-logSkew)) {
			break // newest first: the rest are older still
		}
		if e.ActionHidden || e.Comment != comment || (e.Action != mw.ActionProtect && e.Action != mw.ActionModify) || !entryHasLevels(e, p) {
			continue
		}
		if sameAsEntry(before, e) {
			return nil
		}
		return e
	}
	return nil
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

// describeEntry names a log entry for a reply: which, when, and by whom.
func describeEntry(e *mw.LogEvent) i18n.Message {
	return i18n.M("wikimod-protect-log-entry", e.LogID, when(e.Timestamp), e.User)
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

// describeExpiry says how long a protection lasts, from its expiry as the
// wiki returned it: until when, and how far off that is, both written by
// the reader's platform.
func describeExpiry(expiry string) i18n.Message {
	t, err := time.Parse(time.RFC3339, expiry)
	if err != nil {
		if expiry == "infinite" || expiry == "infinity" {
			return i18n.M("wikimod-protect-indefinitely")
		}
		return i18n.M("wikimod-protect-until-raw", expiry)
	}
	return i18n.M("wikimod-protect-until", when(t), fromNow(t))
}

// protectionNow is a row's value for a protection a page has now: its
// level, how long it lasts, and whether it cascades.
func protectionNow(level, expiry string, cascade bool) i18n.Message {
	if cascade {
		return i18n.M("wikimod-protect-now-cascading", levelName(level), describeExpiry(expiry))
	}
	return i18n.M("wikimod-protect-now", levelName(level), describeExpiry(expiry))
}

// levelNames lists protection levels in the wiki's words ("Allow only
// autoconfirmed users (autoconfirmed) and Allow only administrators
// (sysop)").
func levelNames(levels []string) i18n.Message {
	names := make([]i18n.Message, len(levels))
	for i, l := range levels {
		names[i] = levelName(l)
	}
	return i18n.List(names...)
}

// typeNames lists protection types in the wiki's words ("Edit (edit) and
// Move (move)").
func typeNames(types []string) i18n.Message {
	names := make([]i18n.Message, len(types))
	for i, t := range types {
		names[i] = typeName(t)
	}
	return i18n.List(names...)
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
	// batch names many pages instead of title (titles=, category=,
	// prefix=): see protectbatch.go.
	batch *batchSource
}

// page names the page for replies: its title, or its id.
func (r protectRequest) page() i18n.Message {
	if r.title != "" {
		return i18n.Raw(r.title)
	}
	return i18n.M("wikimod-protect-page-id", r.pageID)
}

// parseProtect reads /protect's arguments, checking the types and levels
// against the wiki's own.
func parseProtect(spec Spec, args Args, site *mw.SiteInfo) (protectRequest, error) {
	var p protectRequest
	var err error
	types := site.Restrictions.Types
	var levels []string
	for _, l := range site.Restrictions.Levels {
		if l != "" {
			levels = append(levels, l)
		}
	}
	noLevels := &Error{Outcome: OutcomeInvalid, Code: "protect-nolevels", Message: i18n.M("wikimod-protect-no-levels")}
	for _, k := range args.Keys() {
		base := strings.TrimSuffix(k, "_expiry")
		if _, ok := spec.Param(k); ok {
			if slices.Contains(protectTypes, base) && !slices.Contains(types, base) {
				return p, usage("wikimod-protect-no-such-type", base, typeNames(types))
			}
			continue
		}
		if slices.Contains(types, base) {
			continue // a type this wiki adds beyond the stock four
		}
		return p, usage("wikimod-protect-unknown-param", k, keyList(types, "=LEVEL"))
	}

	// Bare flag words (`cascade`, `exact`) were made named arguments when
	// the line was read (foldFlags); every word left is the title.
	words := args.Positional
	title, hasTitle := args.Get("title")
	switch {
	case hasTitle && len(words) > 0:
		return p, usage("wikimod-protect-title-twice")
	case !hasTitle:
		title = strings.Join(words, " ")
	}
	if p.batch, err = parseBatchSource(args, title); err != nil {
		return p, err
	}
	title = strings.TrimSpace(title)
	if len(title) > maxTitleBytes {
		// Not the wiki's fault, and not worth a request: no wiki takes it.
		return p, &Error{Outcome: OutcomeInvalid, Code: "title-too-long", Message: i18n.M("wikimod-protect-title-too-long", len([]rune(title)))}
	}
	if id, ok := args.Get("pageid"); ok {
		n, err := strconv.Atoi(id)
		if err != nil || n <= 0 {
			return p, usage("wikimod-protect-bad-pageid", id)
		}
		if title != "" {
			return p, usage("wikimod-protect-title-and-pageid")
		}
		p.pageID = n
	} else if title == "" && p.batch == nil {
		return p, usage("wikimod-protect-which-page", spec.Usage)
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
		return p, usage("wikimod-protect-expiry-empty")
	}
	for _, t := range types {
		level, ok := args.Get(t)
		if !ok {
			if _, has := args.Get(t + "_expiry"); has {
				return p, usage("wikimod-protect-expiry-without-level", t)
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
				return p, &Error{Outcome: OutcomeInvalid, Code: "protect-invalidlevel", Message: i18n.M("wikimod-protect-invalid-level", level, t, levelNames(levels), len(levels))}
			}
		}
		e, own := args.Get(t + "_expiry")
		switch {
		case own && strings.TrimSpace(e) == "":
			return p, usage("wikimod-protect-own-expiry-empty", t)
		case own:
		case hasDefault:
			e = defaultExpiry
		default:
			e = "infinite"
		}
		p.changes = append(p.changes, ProtectChange{Type: t, Level: level, Expiry: e})
	}
	if len(p.changes) == 0 && p.batch != nil {
		return p, usage("wikimod-batch-say-which", keyList(types, "="), levelNames(levels), len(levels))
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
		// The example names the page as it was typed.
		example := strconv.Quote(title)
		if title == "" {
			example = "pageid=" + strconv.Itoa(p.pageID)
		}
		return p, usage("wikimod-protect-say-which", p.page(), keyList(types, "="), levelNames(levels), len(levels), example, levels[len(levels)-1])
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
			return p, usage("wikimod-protect-bad-watchlist", w)
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
