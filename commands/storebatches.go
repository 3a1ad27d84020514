package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// BatchStore keeps the batches a moderator previews before they run
// (/protect on many pages): who asked, what is to be done, until when it
// may be confirmed, and where it stands, so that a confirmation pressed
// twice, or taken by another replica, runs it once, and a cancel pressed on
// any replica stops it between pages. Both backends of Store keep it. A
// batch is short-lived: it is not copied (Dump), and PruneBatches forgets
// it.
type BatchStore interface {
	// CreateBatch records a new batch, pending, and returns it with its
	// ID. It refuses what ValidateBatch refuses.
	CreateBatch(ctx context.Context, b Batch) (Batch, error)
	// Batch returns one batch, or an error matching ErrNoBatch and
	// ErrNotFound.
	Batch(ctx context.Context, id int64) (Batch, error)
	// ClaimBatch takes a pending batch whose time to confirm has not run
	// out at now, in one statement, and marks it running, run by owner
	// (the instance of the process that runs it, Config.Instance). It
	// returns the batch as it is after, and whether this call took it: of
	// two confirmations, on any replicas, one takes it.
	ClaimBatch(ctx context.Context, id int64, owner string, now time.Time) (Batch, bool, error)
	// StopBatch declines a pending batch, or asks a running one to stop
	// (Stop) before its next page; a batch that ended is left as it is. It
	// returns the batch as it is after.
	StopBatch(ctx context.Context, id int64, now time.Time) (Batch, error)
	// FinishBatch records that a running batch ended, with its summary (the
	// domain's JSON), in one statement. It returns the batch as it is
	// after, and whether this call ended it: of the run's own end and the
	// settle passes that end it as interrupted once its process is gone,
	// on any replicas, one alone writes its end; the others read it.
	FinishBatch(ctx context.Context, id int64, summary json.RawMessage, now time.Time) (Batch, bool, error)
	// BatchPages returns the audit records of a batch's pages (command
	// protect, with the argument batch=id) among those after the audit
	// record after (the batch's confirmation, which each page follows),
	// oldest first: what the settle pass reads to tell what an
	// interrupted batch did.
	BatchPages(ctx context.Context, id, after int64) ([]AuditRecord, error)
	// PruneBatches forgets the batches whose time to confirm ran out
	// before the given time, and returns how many.
	PruneBatches(ctx context.Context, before time.Time) (int, error)
}

// The states of a batch (Batch.State).
const (
	BatchPending  = "pending"  // previewed, waiting for its confirmation
	BatchRunning  = "running"  // confirmed, running (or its process died)
	BatchDone     = "done"     // ran to its end, or stopped
	BatchDeclined = "declined" // cancelled before it ran
)

// ErrNoBatch is what a BatchStore returns (or wraps) for a batch that does
// not exist (any more); a store's error matches ErrNotFound too
// (NotFound).
var ErrNoBatch = errors.New("batches: not found")

// Batch is a command's work on many pages, kept between its preview and
// its end.
type Batch struct {
	ID   int64
	Wiki string
	// Command names the command the batch runs (/protect).
	Command string
	// Platform and UserID are who asked (Actor.Platform and UserID): only
	// they may confirm it. UserName is a name to show.
	Platform string
	UserID   string
	UserName string
	// Plan is what to do, as the command wrote it (JSON): the store keeps
	// it as it is.
	Plan json.RawMessage
	// Created is when it was previewed; Expires, when a confirmation stops
	// being taken.
	Created time.Time
	Expires time.Time
	// State is where it stands (BatchPending, ...); Stop is set once a
	// cancel was pressed while it ran. Updated is when either last
	// changed.
	State   string
	Stop    bool
	Updated time.Time
	// Owner is the instance of the process that took it to run
	// (ClaimBatch): once that process is gone, the settle pass ends the
	// batch as interrupted.
	Owner string
	// Summary is what it did, as the command wrote it (JSON), once done.
	Summary json.RawMessage
}

// maxBatchPlan bounds, in bytes, the plan a batch keeps: the titles of a
// few hundred pages and what to set on them.
const maxBatchPlan = 1 << 20

// ValidateBatch refuses a batch that does not say its wiki, command, who
// asked, its plan (valid JSON, at most a megabyte) and its times, and
// returns it as every backend keeps it: pending, times in UTC to the
// millisecond. The rule every store applies in CreateBatch.
func ValidateBatch(b Batch) (Batch, error) {
	switch {
	case b.Wiki == "" || b.Command == "" || b.Platform == "" || b.UserID == "":
		return b, fmt.Errorf("batch: wiki %q, command %q, platform %q, user %q: none may be empty", b.Wiki, b.Command, b.Platform, b.UserID)
	case len(b.Plan) == 0 || len(b.Plan) > maxBatchPlan || !json.Valid(b.Plan):
		return b, fmt.Errorf("batch: a plan of %d bytes: it must be JSON of at most %d bytes", len(b.Plan), maxBatchPlan)
	case b.Created.IsZero() || !b.Expires.After(b.Created):
		return b, fmt.Errorf("batch: created %v, expires %v: it must expire after it is created", b.Created, b.Expires)
	}
	b.State, b.Stop, b.Summary, b.Owner = BatchPending, false, nil, ""
	b.Created = b.Created.UTC().Truncate(time.Millisecond)
	b.Expires = b.Expires.UTC().Truncate(time.Millisecond)
	b.Updated = b.Created
	return b, nil
}

// BatchPagesOf keeps, of recs (read by BatchPageLike), the audit records
// of the pages of batch id: each a /protect whose arguments name the
// batch. It is the rule every store applies in BatchPages; recs is reused.
func BatchPagesOf(recs []AuditRecord, id int64) []AuditRecord {
	want := strconv.FormatInt(id, 10)
	out := recs[:0]
	for _, r := range recs {
		if r.Command == cmdProtect && r.Args[cmdBatch] == want {
			out = append(out, r)
		}
	}
	return out
}

// BatchPageLike is a pattern for SQL's LIKE that the stored arguments of
// every audit record of a page of batch id match (the JSON Begin stores,
// its keys sorted), so that a store reads few rows besides them before
// BatchPagesOf picks them.
func BatchPageLike(id int64) string { return fmt.Sprintf(`%%"%s":"%d"%%`, cmdBatch, id) }
