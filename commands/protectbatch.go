package commands

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// /protect on many pages at once: titles="A|B|C", category=NAME or
// prefix=TEXT, with the usual levels, expiry and reason. The command reads
// the pages and what each has, and answers with a preview (how many would
// change, the first of them and what would change on each; pages already
// protected as asked are left out and counted), changing nothing. The
// batch is kept in the store (BatchStore) with who asked and the plan; its
// Confirm button runs the command batch, which takes it from the store
// once (a second press, on any replica, finds it taken), and protects the
// pages one after another in the wiki's write lane: each page read again,
// checked against the person's rights as one /protect is (CheckProtect),
// sent as one is (Request.Protect), and audited in a row of its own
// (command protect, with the batch's id). A progress message follows it,
// with a Stop button that ends it between pages, and the summary says what
// the wiki did to each.

// DefaultBatchLimit is the most pages one batch takes where the
// configuration does not say ([commands] batch_limit).
const DefaultBatchLimit = 100

// The sources of a batch's pages: /protect's parameters.
const (
	batchTitles   = "titles"
	batchCategory = "category"
	batchPrefix   = "prefix"
)

// batchParams are /protect's parameters that name many pages.
var batchParams = []Param{
	{Name: batchTitles, Description: i18n.M("wikimod-param-protect-titles")},
	{Name: batchCategory, Description: i18n.M("wikimod-param-protect-category")},
	{Name: batchPrefix, Description: i18n.M("wikimod-param-protect-prefix")},
}

const (
	// cmdBatch is the command a batch's buttons run.
	cmdBatch = "batch"
	// batchConfirmWithin is how long a preview may be confirmed.
	batchConfirmWithin = 15 * time.Minute
	// batchKeep is how long a batch is remembered after its time to
	// confirm ran out, so that a late press hears what became of it.
	batchKeep = 24 * time.Hour
	// batchTimeout bounds a whole batch's run; each page has the usual
	// limit of one command.
	batchTimeout = 10 * time.Minute
	// batchShown is how many pages a preview or a summary names.
	batchShown = 10
	// progressEvery and progressPeriod are how often the progress message
	// is updated: every so many pages, or once so long has passed.
	progressEvery  = 10
	progressPeriod = 5 * time.Second
)

// batchSource is where a batch's pages come from.
type batchSource struct {
	Kind  string `json:"kind"` // batchTitles, batchCategory or batchPrefix
	Value string `json:"value"`
}

// parseBatchSource reads which of titles=, category= and prefix= names the
// pages, if any: nil when none does. One source at a time, and not with a
// page's title or id.
func parseBatchSource(args Args, title string) (*batchSource, error) {
	var src *batchSource
	for _, p := range batchParams {
		v, ok := args.Get(p.Name)
		if !ok {
			continue
		}
		if src != nil {
			return nil, usage("wikimod-batch-one-source")
		}
		if strings.TrimSpace(v) == "" {
			return nil, usage("wikimod-batch-empty-value", p.Name)
		}
		src = &batchSource{Kind: p.Name, Value: strings.TrimSpace(v)}
	}
	if _, id := args.Get("pageid"); src != nil && (title != "" || id) {
		return nil, usage("wikimod-batch-and-title")
	}
	return src, nil
}

// batchPlan is what a batch is to do, as the store keeps it (Batch.Plan).
type batchPlan struct {
	Source batchSource `json:"source"`
	// Titles are the pages that would change at the preview, in order;
	// Unchanged counts those left out as protected as asked already.
	Titles    []string `json:"titles"`
	Unchanged int      `json:"unchanged"`
	// What to do on each page: /protect's own request.
	Changes         []ProtectChange `json:"changes"`
	Cascade         *bool           `json:"cascade,omitempty"`
	Exact           bool            `json:"exact,omitempty"`
	Reason          string          `json:"reason,omitempty"`
	Tags            []string        `json:"tags,omitempty"`
	Watchlist       string          `json:"watchlist,omitempty"`
	WatchlistExpiry string          `json:"watchlist_expiry,omitempty"`
	// Args are the command's arguments without the source, as each page's
	// own /protect: its audit row keeps them with the page's title.
	Args map[string]string `json:"args"`
}

// request is the plan as the /protect of one page.
func (p batchPlan) request(title string) protectRequest {
	return protectRequest{title: title, changes: p.Changes, cascade: p.Cascade, exact: p.Exact, reason: p.Reason, tags: p.Tags,
		watchlist: p.Watchlist, watchlistExpiry: p.WatchlistExpiry}
}

// batchPages lists the pages a source names, at most the batch limit, or
// refuses a source that names more (saying how many, where the wiki
// counts them) or none.
func (s *Service) batchPages(ctx context.Context, req *Request, src batchSource) ([]string, error) {
	limit := s.batchLimit
	var list mw.PageList
	var err error
	switch src.Kind {
	case batchTitles:
		seen := map[string]bool{}
		for _, t := range strings.Split(src.Value, "|") {
			if t = strings.TrimSpace(t); t != "" && !seen[t] {
				seen[t] = true
				list.Titles = append(list.Titles, t)
			}
		}
		list.Total = len(list.Titles)
		if list.Total > limit {
			list.Titles, list.More = list.Titles[:limit], true
		}
	case batchCategory:
		list, err = req.Wiki.Client.CategoryMembers(ctx, src.Value, limit)
	default:
		list, err = req.Wiki.Client.PrefixPages(ctx, src.Value, limit)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case list.More && list.Total > limit:
		return nil, &Error{Outcome: OutcomeInvalid, Code: "batch-too-many", Message: i18n.M("wikimod-batch-too-many", list.Total, limit)}
	case list.More:
		return nil, &Error{Outcome: OutcomeInvalid, Code: "batch-too-many", Message: i18n.M("wikimod-batch-too-many-unknown", limit)}
	case len(list.Titles) == 0:
		key := map[string]string{batchTitles: "wikimod-batch-empty-titles", batchCategory: "wikimod-batch-empty-category",
			batchPrefix: "wikimod-batch-empty-prefix"}[src.Kind]
		return nil, &Error{Outcome: OutcomeInvalid, Code: "batch-empty", Message: i18n.M(key, src.Value)}
	}
	return list.Titles, nil
}

// previewProtectBatch answers a /protect of many pages with what it would
// do, and keeps the batch for its confirmation. It writes nothing to the
// wiki.
func (s *Service) previewProtectBatch(ctx context.Context, req *Request, pr protectRequest) (Reply, error) {
	if s.batches == nil {
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "batch-off", Message: i18n.M("wikimod-batch-off")}
	}
	titles, err := s.batchPages(ctx, req, *pr.batch)
	if err != nil {
		return Reply{}, err
	}
	states, err := req.Wiki.Client.PageStates(ctx, titles...)
	if err != nil {
		return Reply{}, err
	}
	plan := batchPlan{Source: *pr.batch, Changes: pr.changes, Cascade: pr.cascade, Exact: pr.exact, Reason: pr.reason, Tags: pr.tags,
		Watchlist: pr.watchlist, WatchlistExpiry: pr.watchlistExpiry, Args: RedactArgs(req.Spec, req.Args)}
	for _, p := range batchParams {
		delete(plan.Args, p.Name)
	}
	var fields []Field
	for _, t := range titles {
		st, ok := states[t]
		if ok && !st.Invalid {
			if st.Title != "" {
				t = st.Title
			}
			pp := PlanProtect(st.Protections, pr.changes, pr.exact, pr.cascade, req.Site.Restrictions.CascadingLevels)
			if protectionsAsAsked(mw.ProtectParams{Protections: pp.Protections, Expiry: pp.Expiry, Cascade: pp.Cascade}, st.Protections) {
				plan.Unchanged++
				continue
			}
		}
		plan.Titles = append(plan.Titles, t)
		if len(fields) < batchShown {
			fields = append(fields, Field{Label: i18n.Raw(t), Value: batchChanges(pr.changes, pr.cascade)})
		}
	}
	n := len(plan.Titles)
	req.Result = map[string]any{"pages": len(titles), "to_change": n, "unchanged": plan.Unchanged}
	if n == 0 {
		return Reply{Code: "unchanged", Title: i18n.M("wikimod-batch-nothing-title"), Text: i18n.M("wikimod-batch-nothing-text", plan.Unchanged)}, nil
	}
	raw, err := json.Marshal(plan)
	if err != nil {
		return Reply{}, err
	}
	now := s.now()
	if _, err := s.batches.PruneBatches(ctx, now.Add(-batchKeep)); err != nil {
		s.log.Warn("batches: pruning", "err", err)
	}
	b, err := s.batches.CreateBatch(ctx, Batch{Wiki: req.Wiki.Name, Command: cmdProtect, Platform: req.Actor.Platform, UserID: req.Actor.UserID,
		UserName: cmp.Or(req.Actor.UserName, req.Actor.UserID), Plan: raw, Created: now, Expires: now.Add(batchConfirmWithin)})
	if err != nil {
		return Reply{}, err
	}
	req.Result = map[string]any{"batch": b.ID, "pages": len(titles), "to_change": n, "unchanged": plan.Unchanged}
	notes := []i18n.Message{i18n.M("wikimod-batch-preview-text", n)}
	if plan.Unchanged > 0 {
		notes = append(notes, i18n.M("wikimod-batch-preview-unchanged", plan.Unchanged))
	}
	if n > len(fields) {
		notes = append(notes, i18n.M("wikimod-batch-preview-first", len(fields), n))
	}
	notes = append(notes, i18n.M("wikimod-batch-preview-confirm", i18n.Duration(batchConfirmWithin)))
	id := strconv.FormatInt(b.ID, 10)
	confirm := Confirmation{
		Yes: Action{Label: i18n.M("wikimod-batch-button-confirm", n), Style: "primary", Command: cmdBatch,
			Args: map[string]string{"do": "confirm", "id": id, "wiki": req.Wiki.Name}},
		No: Action{Label: i18n.M("wikimod-batch-button-cancel"), Style: "danger", Command: cmdBatch,
			Args: map[string]string{"do": "cancel", "id": id, "wiki": req.Wiki.Name}},
	}
	return Reply{Code: "batch-preview", Title: i18n.M("wikimod-batch-preview-title", n), Text: i18n.Lines(notes...), Fields: fields,
		Actions: []Action{confirm.Yes, confirm.No}, Confirm: &confirm}, nil
}

// batchChanges says what a batch sets on each page: each type at its
// level until its expiry, lifted types, and cascading when asked.
func batchChanges(changes []ProtectChange, cascade *bool) i18n.Message {
	var out []i18n.Message
	for _, c := range changes {
		if isLift(c.Level) {
			out = append(out, i18n.M("wikimod-batch-change-lift", typeName(c.Type)))
			continue
		}
		expiry := i18n.M("wikimod-protect-indefinitely")
		if e := apiExpiry(strings.TrimSpace(c.Expiry)); e != "infinite" && e != "indefinite" && e != "never" {
			// As the person typed it ("1 week"): the wiki reads it when
			// the page is protected.
			expiry = i18n.M("wikimod-batch-change-expiry", e)
		}
		out = append(out, i18n.M("wikimod-batch-change", typeName(c.Type), levelName(c.Level), expiry))
	}
	if cascade != nil && *cascade {
		out = append(out, i18n.M("wikimod-batch-change-cascade"))
	}
	return i18n.List(out...)
}

// batchCommand is the command a batch's buttons run: do=confirm runs it
// (its asker only, once), do=cancel declines it before it runs or stops
// it between pages. A confirmation waits in the wiki's write lane, as every
// write; a cancel does not, so that it reaches a batch that is running.
func (s *Service) batchCommand() Command {
	return Command{
		Spec: Spec{
			Name:       cmdBatch,
			Summary:    i18n.M("wikimod-command-batch-summary"),
			Usage:      "/batch do=confirm|cancel id=ID",
			Help:       i18n.M("wikimod-command-batch-help"),
			Right:      mw.RightProtect,
			Grant:      `protect ("Protect and unprotect pages")`,
			ButtonOnly: true,
			Write:      true,
			WritesWith: func(a Args) bool { do, _ := a.Get("do"); return do == "confirm" },
			Timeout:    batchTimeout,
			Params: []Param{
				{Name: "do", Description: i18n.M("wikimod-param-batch-do"), Required: true},
				{Name: "id", Description: i18n.M("wikimod-param-batch-id"), Required: true},
			},
		},
		Run: s.runBatch,
	}
}

func (s *Service) runBatch(ctx context.Context, req *Request) (Reply, error) {
	if err := checkKeys(req.Spec, req.Args, false); err != nil {
		return Reply{}, err
	}
	do, _ := req.Args.Get("do")
	idText, _ := req.Args.Get("id")
	id, err := strconv.ParseInt(strings.TrimSpace(idText), 10, 64)
	if err != nil || id <= 0 {
		return Reply{}, usage("wikimod-batch-bad-id", idText, req.Spec.Usage)
	}
	if do != "confirm" && do != "cancel" {
		return Reply{}, usage("wikimod-batch-bad-do", do, req.Spec.Usage)
	}
	b, err := s.batches.Batch(ctx, id)
	if errors.Is(err, ErrNoBatch) {
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "batch-gone", Message: i18n.M("wikimod-batch-gone", id)}
	}
	if err != nil {
		return Reply{}, err
	}
	// The batch is about pages of the wiki the request is for: that is
	// where the presser's rights were checked.
	if b.Wiki != req.Wiki.Name || b.Command != cmdProtect {
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "batch-wrong-wiki", Message: i18n.M("wikimod-batch-wrong-wiki", id, b.Wiki, req.Wiki.Name)}
	}
	req.Result = map[string]any{"batch": id}
	if do == "cancel" {
		return s.stopBatch(ctx, req, b)
	}
	if b.Platform != req.Actor.Platform || b.UserID != req.Actor.UserID {
		return Reply{}, &Error{Outcome: OutcomeDenied, Code: "batch-not-yours", Message: i18n.M("wikimod-batch-not-yours", b.UserName)}
	}
	now := s.now()
	b, took, err := s.batches.ClaimBatch(ctx, id, s.instance, now)
	if err != nil {
		return Reply{}, err
	}
	if !took {
		return Reply{}, batchTaken(b, now)
	}
	return s.runProtectBatch(ctx, req, b)
}

// batchTaken is the refusal of a confirmation of a batch that is not
// pending any more, or whose time to confirm ran out.
func batchTaken(b Batch, now time.Time) error {
	key := "wikimod-batch-already-running"
	switch {
	case b.State == BatchDone:
		key = "wikimod-batch-already-done"
	case b.State == BatchDeclined:
		key = "wikimod-batch-already-declined"
	case b.State == BatchPending && !now.Before(b.Expires):
		return &Error{Outcome: OutcomeInvalid, Code: "batch-expired", Message: i18n.M("wikimod-batch-expired", i18n.Duration(batchConfirmWithin))}
	}
	return &Error{Outcome: OutcomeInvalid, Code: "batch-taken", Message: i18n.M(key)}
}

// stopBatch declines a batch not confirmed yet, or stops a running one
// before its next page.
func (s *Service) stopBatch(ctx context.Context, req *Request, b Batch) (Reply, error) {
	after, err := s.batches.StopBatch(ctx, b.ID, s.now())
	if err != nil {
		return Reply{}, err
	}
	switch after.State {
	case BatchDeclined:
		return Reply{Code: "batch-declined", Title: i18n.M("wikimod-batch-declined-title"), Text: i18n.M("wikimod-batch-declined-text")}, nil
	case BatchRunning:
		return Reply{Code: "batch-stopping", Title: i18n.M("wikimod-batch-stopping-title"), Text: i18n.M("wikimod-batch-stopping-text")}, nil
	}
	return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "batch-taken", Message: i18n.M("wikimod-batch-already-ended")}
}

// batchResult is what became of one page of a batch.
type batchResult struct {
	Title string `json:"title"`
	// State is "changed", "unchanged" or "refused".
	State string `json:"state"`
	Code  string `json:"code,omitempty"`
	// reason says why a page was refused (the reply a /protect of it
	// alone would have given).
	reason i18n.Message
}

// batchSummary is a batch's end, as the store and the audit log keep it.
type batchSummary struct {
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	Refused   int `json:"refused"`
	// Unknown counts the pages whose outcome is not known: a batch ended
	// as interrupted (settleBatch) had one reaching the wiki when its
	// process died, and the wiki could not be asked.
	Unknown int `json:"unknown,omitempty"`
	NotDone int `json:"not_done"`
	// Stopped is why it ended early: "cancel", "time", "audit", or
	// "interrupted" when its process died (settleBatch) or another took
	// it for dead.
	Stopped string        `json:"stopped,omitempty"`
	Pages   []batchResult `json:"pages"`
}

// runProtectBatch protects a claimed batch's pages one after another.
func (s *Service) runProtectBatch(ctx context.Context, req *Request, b Batch) (Reply, error) {
	var plan batchPlan
	if err := json.Unmarshal(b.Plan, &plan); err != nil {
		return Reply{}, fmt.Errorf("batch %d: its plan: %w", b.ID, err)
	}
	sum := batchSummary{Unchanged: plan.Unchanged}
	defer func() {
		// Recorded whatever happens, with a context of its own: the store
		// must hear that the batch ended.
		raw, _ := json.Marshal(sum)
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditWriteTimeout)
		defer cancel()
		if _, took, err := s.batches.FinishBatch(fctx, b.ID, raw, s.now()); err != nil {
			s.log.Error("batches: recording a batch's end", "batch", b.ID, "err", err)
		} else if !took {
			// A settle pass took this process for gone and ended the
			// batch as interrupted, from its pages' audit records.
			s.log.Warn("batches: the batch was ended as interrupted meanwhile", "batch", b.ID)
		}
	}()
	states, err := req.Wiki.Client.PageStates(ctx, plan.Titles...)
	if err != nil {
		sum.NotDone = len(plan.Titles)
		return Reply{}, err
	}
	protect := s.commands[cmdProtect].Spec
	lastShown, shownAt := 0, s.now()
	for i, title := range plan.Titles {
		if sum.Stopped = s.batchStopped(ctx, b.ID); sum.Stopped != "" {
			sum.NotDone = len(plan.Titles) - i
			break
		}
		page := s.protectBatchPage(ctx, req, protect, b.ID, plan, title, states[title])
		if page.State == "" {
			// The audit log does not take the page's row: nothing more is
			// sent to the wiki.
			sum.Stopped, sum.NotDone = "audit", len(plan.Titles)-i
			break
		}
		switch page.State {
		case "changed":
			sum.Changed++
		case "unchanged":
			sum.Unchanged++
		default:
			sum.Refused++
		}
		sum.Pages = append(sum.Pages, page)
		if done := i + 1; req.progress != nil && done < len(plan.Titles) && (done-lastShown >= progressEvery || s.now().Sub(shownAt) >= progressPeriod) {
			lastShown, shownAt = done, s.now()
			req.progress(ctx, batchProgress(b.ID, req.Wiki.Name, done, len(plan.Titles), sum))
		}
	}
	req.Result = map[string]any{"batch": b.ID, "changed": sum.Changed, "unchanged": sum.Unchanged, "refused": sum.Refused,
		"not_done": sum.NotDone, "stopped": sum.Stopped}
	return batchSummaryReply(sum), nil
}

// batchStopped tells, before a batch's next page, whether it must stop, and
// why: a cancel was pressed (on any replica), its time is up, or it ended
// already: a settle pass took this process for gone and ended it as
// interrupted, and no page of it may be done after that.
func (s *Service) batchStopped(ctx context.Context, id int64) string {
	if ctx.Err() != nil {
		return "time"
	}
	b, err := s.batches.Batch(ctx, id)
	if err != nil {
		s.log.Warn("batches: reading whether to stop", "batch", id, "err", err)
		return ""
	}
	switch {
	case b.State != BatchRunning:
		return "interrupted"
	case b.Stop:
		return "cancel"
	}
	return ""
}

// protectBatchPage protects one page of a batch as a /protect of it alone
// would, in its own audit row (command protect, the batch's id among its
// arguments). st is the page as read at the start of the run. The result's
// State is empty when the audit log did not take the row and nothing was
// sent.
func (s *Service) protectBatchPage(ctx context.Context, req *Request, spec Spec, batchID int64, plan batchPlan, title string, st mw.PageState) batchResult {
	start := s.now()
	args := Args{Named: map[string]string{"title": title, cmdBatch: strconv.FormatInt(batchID, 10)}}
	for k, v := range plan.Args {
		args.Named[k] = v
	}
	rec := s.newRecord(req.Actor, cmdProtect, args, spec)
	rec.Args = args.Named // as the plan kept them: redacted already
	rec.Wiki, rec.WikiUser, rec.Outcome = req.Wiki.Name, req.Actor.WikiUser, OutcomePending
	if err := s.audit.Begin(ctx, rec); err != nil {
		s.log.Error("audit log unavailable; stopping a batch", "batch", batchID, "err", err)
		return batchResult{Title: title}
	}
	page := *req
	page.Args, page.Spec, page.Result, page.after, page.progress = args, spec, nil, nil, nil
	pctx, cancel := context.WithTimeout(ctx, cmp.Or(req.Wiki.Timeout, s.timeout))
	reply, err := s.protectPage(pctx, &page, plan.request(title), st)
	cancel()
	if err != nil {
		reply = s.errorReply(cmdProtect, err, nil)
	}
	reply.Command = cmdProtect
	reply.Outcome = cmp.Or(reply.Outcome, OutcomeOK)
	s.finishRecord(req.Wiki, rec, reply, start, page.Result)
	s.afterReply(ctx, cmdProtect, page.after)()
	res := batchResult{Title: title, Code: reply.Code}
	if t, ok := page.Result.(*ProtectOutcome); ok && t.Title != "" {
		res.Title = t.Title
	}
	switch {
	case reply.OK() && reply.Code == "unchanged":
		res.State = "unchanged"
	case reply.OK():
		res.State = "changed"
	default:
		res.State, res.reason = "refused", reply.Text
		if res.Code == "" {
			res.Code = string(reply.Outcome)
		}
	}
	return res
}

// protectPage protects one page of a batch, now as st says, as /protect
// does for a page named alone: planned from what it has, the person's
// rights checked for every level it has and will have, sent, and the wiki
// read back should its answer be lost. A page already protected as asked
// is not sent again.
func (s *Service) protectPage(ctx context.Context, req *Request, pr protectRequest, st mw.PageState) (Reply, error) {
	page := cmp.Or(st.Title, pr.title)
	if st.Invalid {
		return Reply{}, &Error{Outcome: OutcomeWikiError, Code: "invalidtitle", Message: i18n.M("wikimod-protect-invalid-title", pr.title)}
	}
	plan := PlanProtect(st.Protections, pr.changes, pr.exact, pr.cascade, req.Site.Restrictions.CascadingLevels)
	if pr.cascade != nil && *pr.cascade && !plan.Cascade {
		return Reply{}, usage("wikimod-protect-cascade-needs-level", page, levelNames(req.Site.Restrictions.CascadingLevels))
	}
	if err := req.CheckProtect(page, st, plan); err != nil {
		return Reply{}, err
	}
	p := mw.ProtectParams{Title: page, Protections: plan.Protections, Expiry: plan.Expiry, Cascade: plan.Cascade,
		Reason: req.SignedReason(pr.reason), Tags: pr.tags, Watchlist: pr.watchlist, WatchlistExpiry: pr.watchlistExpiry}
	if protectionsAsAsked(p, st.Protections) {
		return Reply{Code: "unchanged", Title: i18n.M("wikimod-protect-unchanged-title", page)}, nil
	}
	res, readBack, err := req.Protect(ctx, p, st.Protections)
	switch {
	case readBack != nil:
		return *readBack, nil
	case err != nil:
		return Reply{}, aboutPage(i18n.Raw(page), err)
	}
	out := &ProtectOutcome{Wiki: req.Wiki.Name, Title: res.Title, Reason: req.personReason(keptComment(res.Reason)), LogComment: keptComment(res.Reason),
		Cascade: res.Cascade, Protections: res.Protections, URL: req.Site.PageURL(res.Title)}
	req.Result = out
	req.after = s.trackProtect(req.Actor, out)
	return protectReply(out, st.Protections, plan, res.Warnings, protectHistory{}, s.now()), nil
}

// batchProgress is the message that shows how a running batch goes, with
// the button that stops it.
func batchProgress(id int64, wiki string, done, total int, sum batchSummary) Reply {
	return Reply{Command: cmdBatch, Outcome: OutcomeOK, Code: "batch-progress",
		Title: i18n.M("wikimod-batch-progress-title", done, total),
		Text:  i18n.M("wikimod-batch-progress-text", sum.Changed, sum.Unchanged, sum.Refused),
		Actions: []Action{{Label: i18n.M("wikimod-batch-button-stop"), Style: "danger", Command: cmdBatch,
			Args: map[string]string{"do": "cancel", "id": strconv.FormatInt(id, 10), "wiki": wiki}}}}
}

// batchStops are the catalogue keys of why a batch ended early.
var batchStops = map[string]string{
	"cancel":      "wikimod-batch-stopped-cancel",
	"time":        "wikimod-batch-stopped-time",
	"audit":       "wikimod-batch-stopped-audit",
	"interrupted": "wikimod-batch-stopped-interrupted",
}

// batchSummaryReply says what a batch did: how many pages changed, were
// already so, were refused (each with why) and, when it stopped early,
// were not done.
func batchSummaryReply(sum batchSummary) Reply {
	r := Reply{Code: "batch-done", Title: i18n.M("wikimod-batch-summary-title", sum.Changed, sum.Unchanged, sum.Refused),
		Announce: sum.Changed > 0}
	var notes []i18n.Message
	if sum.Stopped != "" {
		r.Code = "batch-stopped"
		notes = append(notes, i18n.M(batchStops[sum.Stopped], sum.NotDone))
	}
	var changed []i18n.Message
	for _, p := range sum.Pages {
		if p.State == "changed" {
			changed = append(changed, i18n.Raw(p.Title))
		}
	}
	if len(changed) > 0 {
		shown := changed[:min(len(changed), batchShown)]
		notes = append(notes, i18n.M("wikimod-batch-summary-changed", i18n.List(shown...), len(changed)-len(shown)))
	}
	for _, p := range sum.Pages {
		if p.State == "refused" && len(r.Fields) < batchShown {
			r.Fields = append(r.Fields, Field{Label: i18n.Raw(p.Title), Value: p.reason})
		}
	}
	if sum.Refused > len(r.Fields) {
		notes = append(notes, i18n.M("wikimod-batch-summary-more-refused", sum.Refused-len(r.Fields)))
	}
	r.Text = i18n.Lines(notes...)
	return r
}

// progressOf is how a queued job shows a long command's progress: in the
// person's language, named after its wiki, once the platform acknowledged
// the job; nil where the platform shows none.
func (s *Service) progressOf(it *item, actor Actor) func(context.Context, Reply) {
	if it.job.Progress == nil {
		return nil
	}
	return func(ctx context.Context, r Reply) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.queue.cfg.DeliverTimeout)
		defer cancel()
		if it.job.Acked != nil {
			select {
			case <-it.job.Acked:
			case <-ctx.Done():
				return
			}
		}
		it.job.Progress(ctx, s.localized(ctx, actor, s.named(it.wiki, r)))
	}
}
