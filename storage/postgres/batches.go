package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/commands"
)

// errNoBatch is what the batch methods return (wrapped) for a batch that
// does not exist (any more).
var errNoBatch = commands.NotFound(commands.ErrNoBatch)

const (
	batchColumns    = `id, wiki, command, platform, user_id, user_name, plan, created, expires, state, stop, updated, summary, owner`
	batchByIDSQL    = `SELECT ` + batchColumns + ` FROM batches WHERE id = $1`
	createBatchSQL  = `INSERT INTO batches (wiki, command, platform, user_id, user_name, plan, created, expires, state, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`
	claimBatchSQL   = `UPDATE batches SET state = 'running', owner = $3, updated = $2 WHERE id = $1 AND state = 'pending' AND expires > $2`
	declineBatchSQL = `UPDATE batches SET state = 'declined', updated = $2 WHERE id = $1 AND state = 'pending'`
	stopBatchSQL    = `UPDATE batches SET stop = true, updated = $2 WHERE id = $1 AND state = 'running' AND NOT stop`
	finishBatchSQL  = `UPDATE batches SET state = 'done', summary = $3, updated = $2 WHERE id = $1 AND state = 'running'`
	pruneBatchesSQL = `DELETE FROM batches WHERE expires < $1`
	// batchPagesSQL reads the rows after the batch's confirmation through
	// the primary key; LIKE leaves few of them to decode.
	batchPagesSQL = `SELECT ` + auditCols + ` FROM audit WHERE id > $1 AND command = 'protect' AND args LIKE $2 ORDER BY id`
)

// CreateBatch records a new pending batch and returns it with its ID. It
// implements commands.BatchStore.
func (db *DB) CreateBatch(ctx context.Context, b commands.Batch) (commands.Batch, error) {
	b, err := commands.ValidateBatch(b)
	if err != nil {
		return b, fmt.Errorf("postgres: create batch: %w", err)
	}
	b.Wiki, b.Command, b.Platform, b.UserID, b.UserName = storable(b.Wiki), storable(b.Command), storable(b.Platform), storable(b.UserID), storable(b.UserName)
	if err := db.pool.QueryRow(ctx, createBatchSQL, b.Wiki, b.Command, b.Platform, b.UserID, b.UserName, storable(string(b.Plan)),
		b.Created, b.Expires, b.State, b.Updated).Scan(&b.ID); err != nil {
		return b, fmt.Errorf("postgres: create batch: %w", err)
	}
	return b, nil
}

// Batch returns one batch. It implements commands.BatchStore.
func (db *DB) Batch(ctx context.Context, id int64) (commands.Batch, error) {
	b, err := scanBatch(db.pool.QueryRow(ctx, batchByIDSQL, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("postgres: batch %d: %w", id, errNoBatch)
	}
	if err != nil {
		return b, fmt.Errorf("postgres: batch %d: %w", id, err)
	}
	return b, nil
}

// ClaimBatch marks a pending, unexpired batch running, in one statement,
// and reports whether this call did. It implements commands.BatchStore.
func (db *DB) ClaimBatch(ctx context.Context, id int64, owner string, now time.Time) (commands.Batch, bool, error) {
	n, b, err := db.changeBatch(ctx, id, []string{claimBatchSQL}, msUTC(now), storable(owner))
	if err != nil {
		return b, false, fmt.Errorf("postgres: claim batch %d: %w", id, err)
	}
	return b, n == 1, nil
}

// StopBatch declines a pending batch or asks a running one to stop. It
// implements commands.BatchStore.
func (db *DB) StopBatch(ctx context.Context, id int64, now time.Time) (commands.Batch, error) {
	_, b, err := db.changeBatch(ctx, id, []string{declineBatchSQL, stopBatchSQL}, msUTC(now))
	if err != nil {
		return b, fmt.Errorf("postgres: stop batch %d: %w", id, err)
	}
	return b, nil
}

// FinishBatch records a running batch's end and summary, in one
// statement, and reports whether this call did. It implements
// commands.BatchStore.
func (db *DB) FinishBatch(ctx context.Context, id int64, summary json.RawMessage, now time.Time) (commands.Batch, bool, error) {
	var s *string
	if summary != nil {
		v := storable(string(summary))
		s = &v
	}
	n, b, err := db.changeBatch(ctx, id, []string{finishBatchSQL}, msUTC(now), s)
	if err != nil {
		return b, false, fmt.Errorf("postgres: finish batch %d: %w", id, err)
	}
	return b, n == 1, nil
}

// BatchPages returns the audit records of a batch's pages after the audit
// record after, oldest first. It implements commands.BatchStore.
func (db *DB) BatchPages(ctx context.Context, id, after int64) ([]commands.AuditRecord, error) {
	rows, err := db.pool.Query(ctx, batchPagesSQL, after, commands.BatchPageLike(id))
	if err != nil {
		return nil, fmt.Errorf("postgres: batch %d pages: %w", id, err)
	}
	recs, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: batch %d pages: %w", id, err)
	}
	return commands.BatchPagesOf(recs, id), nil
}

// PruneBatches forgets the batches that expired before the given time. It
// implements commands.BatchStore.
func (db *DB) PruneBatches(ctx context.Context, before time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, pruneBatchesSQL, msUTC(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune batches: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// changeBatch runs updates of a batch (each taking the id, now and the
// further arguments) and reads it back, in one transaction: how many rows
// they changed, and the batch after.
func (db *DB) changeBatch(ctx context.Context, id int64, queries []string, now time.Time, more ...any) (int64, commands.Batch, error) {
	var (
		n int64
		b commands.Batch
	)
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, q := range queries {
			tag, err := tx.Exec(ctx, q, append([]any{id, now}, more...)...)
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		var err error
		b, err = scanBatch(tx.QueryRow(ctx, batchByIDSQL, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, b, errNoBatch
	}
	return n, b, err
}

func scanBatch(row pgx.Row) (commands.Batch, error) {
	var (
		b       commands.Batch
		plan    string
		summary *string
	)
	if err := row.Scan(&b.ID, &b.Wiki, &b.Command, &b.Platform, &b.UserID, &b.UserName, &plan, &b.Created, &b.Expires, &b.State, &b.Stop,
		&b.Updated, &summary, &b.Owner); err != nil {
		return commands.Batch{}, err
	}
	b.Plan = json.RawMessage(plan)
	if summary != nil {
		b.Summary = json.RawMessage(*summary)
	}
	b.Created, b.Expires, b.Updated = msUTC(b.Created), msUTC(b.Expires), msUTC(b.Updated)
	return b, nil
}
