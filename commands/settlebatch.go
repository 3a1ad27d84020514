package commands

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/wikimod/wikimod/i18n"
)

// A batch whose process dies while it runs (killed, crashed, or a replica
// whose lease ran out) would stay running: its requester's progress
// message keeps its Stop button, and nobody says what was done. The settle
// pass (Settle) ends it when it settles the batch's confirmation, whose
// audit record the dead process left pending, by the same rule as every
// record: its owner is gone. The batch's pages are settled first, each
// against the protect log as any /protect; the batch is then ended as
// interrupted, with a summary of what their audit records show, in one
// statement of the store (FinishBatch) that of several replicas one alone
// wins; the others, and a later pass, read the summary it wrote. The
// confirmation's record is settled with that summary and its requester
// told once (TellSettled), with how to finish: the same /protect again,
// whose preview leaves out the pages already protected as asked. Nothing
// is sent to the wiki: no page is protected again.

// isBatchRun reports whether rec is a batch's confirmation that a stop
// left pending: it may have run the batch.
func isBatchRun(rec AuditRecord) bool {
	return rec.Command == cmdBatch && rec.Args["do"] == "confirm" && rec.Outcome == OutcomePending
}

// isBatchPage reports whether rec is one page of a batch: its requester
// hears of the batch as a whole, not of each page.
func isBatchPage(rec AuditRecord) bool {
	return rec.Command == cmdProtect && rec.Args[cmdBatch] != ""
}

// batchSettled is what the settled record of a batch's confirmation keeps
// as its result: the batch, the command that made it as its requester
// typed it, and its summary.
type batchSettled struct {
	Batch   int64  `json:"batch"`
	Command string `json:"command"`
	batchSummary
}

// settleBatch settles rec, a batch's confirmation whose process is gone,
// with what became of its batch, ending the batch as interrupted if it
// still runs. It returns outcome, code and result as settleOne gave them
// where the record did not run a batch: the batch is not known any more,
// or another confirmation took it. An error means the store could not be
// read or written; the record is left for the next pass.
func (s *Service) settleBatch(ctx context.Context, rec AuditRecord, outcome Outcome, code string, result any) (Outcome, string, any, error) {
	id, err := strconv.ParseInt(rec.Args["id"], 10, 64)
	if s.batches == nil || err != nil {
		return outcome, code, result, nil
	}
	b, err := s.batches.Batch(ctx, id)
	switch {
	case errors.Is(err, ErrNoBatch):
		// Pruned: a day after its time to confirm ran out.
		return outcome, code, result, nil
	case err != nil:
		return outcome, code, result, err
	case b.State == BatchPending || b.State == BatchDeclined || b.Owner != rec.Owner:
		// This confirmation did not take the batch: it stopped before
		// its claim, or another confirmation, on another process, took
		// it, and that one's record tells.
		return OutcomeInterrupted, "not-run", nil, nil
	}
	var plan batchPlan
	if err := json.Unmarshal(b.Plan, &plan); err != nil {
		return outcome, code, result, fmt.Errorf("batch %d: its plan: %w", id, err)
	}
	if b.State == BatchRunning {
		pages, err := s.batches.BatchPages(ctx, id, rec.ID)
		if err != nil {
			return outcome, code, result, err
		}
		raw, err := json.Marshal(interruptedSummary(plan, pages))
		if err != nil {
			return outcome, code, result, err
		}
		var took bool
		if b, took, err = s.batches.FinishBatch(ctx, id, raw, s.now()); err != nil {
			return outcome, code, result, err
		}
		if took {
			s.log.Warn("ended a batch its process left running", "batch", id, "audit_id", rec.ID, "owner", rec.Owner)
		}
	}
	// Ended now: by this pass, by another replica's, or by its own run
	// before its confirmation's record could be.
	settled := batchSettled{Batch: id, Command: plan.describe()}
	if err := json.Unmarshal(b.Summary, &settled.batchSummary); err != nil {
		return outcome, code, result, fmt.Errorf("batch %d: its summary: %w", id, err)
	}
	switch settled.Stopped {
	case "interrupted":
		return OutcomeInterrupted, "batch-interrupted", settled, nil
	case "":
		return OutcomeOK, "batch-done", settled, nil
	}
	return OutcomeOK, "batch-stopped", settled, nil
}

// interruptedSummary is the summary of a batch whose process died, from
// its pages' audit records once settled: each page changed, already so,
// refused, or not known (the wiki could not be asked); a page never
// reached, or whose protection the protect log does not show, was not
// done.
func interruptedSummary(plan batchPlan, pages []AuditRecord) batchSummary {
	sum := batchSummary{Unchanged: plan.Unchanged, Stopped: "interrupted"}
	done := map[string]bool{}
	for _, r := range pages {
		title := r.Args["title"]
		if done[title] {
			continue
		}
		res := batchResult{Title: title, Code: r.Code}
		switch {
		case r.Outcome == OutcomeOK && r.Code == "unchanged":
			res.State = "unchanged"
			sum.Unchanged++
		case r.Outcome == OutcomeOK:
			res.State = "changed"
			sum.Changed++
		case r.Outcome == OutcomeInterrupted && (r.Code == "not-in-log" || r.Code == "not-run"):
			continue
		case r.Outcome == OutcomeUnknown || r.Outcome == OutcomeInterrupted || r.Outcome == OutcomePending || r.Outcome == OutcomeQueued:
			res.State = "unknown"
			sum.Unknown++
		default:
			res.State = "refused"
			res.Code = cmp.Or(res.Code, string(r.Outcome))
			sum.Refused++
		}
		done[title] = true
		sum.Pages = append(sum.Pages, res)
	}
	for _, t := range plan.Titles {
		if !done[t] {
			sum.NotDone++
		}
	}
	return sum
}

// describe writes the /protect that made the batch as its requester typed
// it: its source of pages and the rest of its arguments.
func (p batchPlan) describe() string {
	args := map[string]string{p.Source.Kind: p.Source.Value}
	for k, v := range p.Args {
		if k != "wiki" {
			args[k] = v
		}
	}
	return describeCommand(AuditRecord{Command: cmdProtect, Args: args})
}

// batchNotice is what the requester of a settled batch confirmation is
// told: that wikimod stopped while it ran their /protect, what its pages
// became, and, when it did not finish, how to finish it. ok is false for
// a record settled some other way (settledNotice says what then).
func batchNotice(rec AuditRecord) (r Reply, ok bool) {
	var settled batchSettled
	if rec.Command != cmdBatch || json.Unmarshal(rec.Result, &settled) != nil || settled.Batch == 0 {
		return Reply{}, false
	}
	switch rec.Code {
	case "batch-interrupted", "batch-done", "batch-stopped":
	default:
		return Reply{}, false
	}
	sum := settled.batchSummary
	for i, p := range sum.Pages {
		if p.State == "refused" {
			sum.Pages[i].reason = i18n.M("wikimod-batch-interrupted-refused", p.Code)
		}
	}
	r = batchSummaryReply(sum)
	r.Command, r.Outcome, r.Code, r.Announce = rec.Command, rec.Outcome, rec.Code, false
	cut := i18n.M("wikimod-notice-cut", settled.Command, when(rec.Time))
	if rec.Code != "batch-interrupted" {
		// Its run ended, and only the answer was lost: the summary says
		// it all.
		r.Text = i18n.Lines(cut, r.Text)
		return r, true
	}
	r.Title = i18n.M("wikimod-batch-interrupted-title", sum.Changed, sum.Unchanged, sum.Refused, sum.NotDone)
	notes := []i18n.Message{cut}
	var changed, unknown []i18n.Message
	for _, p := range sum.Pages {
		switch p.State {
		case "changed":
			changed = append(changed, i18n.Raw(p.Title))
		case "unknown":
			unknown = append(unknown, i18n.Raw(p.Title))
		}
	}
	if len(changed) > 0 {
		shown := changed[:min(len(changed), batchShown)]
		notes = append(notes, i18n.M("wikimod-batch-summary-changed", i18n.List(shown...), len(changed)-len(shown)))
	}
	if len(unknown) > 0 {
		notes = append(notes, i18n.M("wikimod-batch-interrupted-unknown", i18n.List(unknown...), len(unknown)))
	}
	if sum.NotDone > 0 {
		notes = append(notes, i18n.M("wikimod-batch-interrupted-not-done", sum.NotDone))
	}
	if sum.NotDone+sum.Unknown > 0 {
		notes = append(notes, i18n.M("wikimod-batch-interrupted-finish"))
	}
	if sum.Refused > len(r.Fields) {
		notes = append(notes, i18n.M("wikimod-batch-summary-more-refused", sum.Refused-len(r.Fields)))
	}
	r.Text = i18n.Lines(notes...)
	return r, true
}
