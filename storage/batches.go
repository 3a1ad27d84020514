package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// errNoBatch is what the batch methods return (wrapped) for a batch that
// does not exist (any more).
var errNoBatch = commands.NotFound(commands.ErrNoBatch)

const (
	batchColumns    = `id, wiki, command, platform, user_id, user_name, plan, created_ms, expires_ms, state, stop, updated_ms, summary, owner`
	batchByIDSQL    = `SELECT ` + batchColumns + ` FROM batches WHERE id = ?`
	createBatchSQL  = `INSERT INTO batches (wiki, command, platform, user_id, user_name, plan, created_ms, expires_ms, state, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	claimBatchSQL   = `UPDATE batches SET state = 'running', owner = ?, updated_ms = ? WHERE id = ? AND state = 'pending' AND expires_ms > ?`
	declineBatchSQL = `UPDATE batches SET state = 'declined', updated_ms = ? WHERE id = ? AND state = 'pending'`
	stopBatchSQL    = `UPDATE batches SET stop = 1, updated_ms = ? WHERE id = ? AND state = 'running' AND stop = 0`
	finishBatchSQL  = `UPDATE batches SET state = 'done', summary = ?, updated_ms = ? WHERE id = ? AND state = 'running'`
	pruneBatchesSQL = `DELETE FROM batches WHERE expires_ms < ?`
	// batchPagesSQL reads the rows after the batch's confirmation through
	// the primary key; LIKE leaves few of them to decode.
	batchPagesSQL = `SELECT ` + auditCols + ` FROM audit WHERE id > ? AND command = 'protect' AND args LIKE ? ORDER BY id`
)

// CreateBatch records a new pending batch and returns it with its ID. It
// implements commands.BatchStore.
func (db *DB) CreateBatch(ctx context.Context, b commands.Batch) (commands.Batch, error) {
	b, err := commands.ValidateBatch(b)
	if err != nil {
		return b, fmt.Errorf("storage: create batch: %w", err)
	}
	res, err := db.write.ExecContext(ctx, createBatchSQL, b.Wiki, b.Command, b.Platform, b.UserID, b.UserName, string(b.Plan),
		b.Created.UnixMilli(), b.Expires.UnixMilli(), b.State, b.Updated.UnixMilli())
	if err != nil {
		return b, fmt.Errorf("storage: create batch: %w", err)
	}
	if b.ID, err = res.LastInsertId(); err != nil {
		return b, fmt.Errorf("storage: create batch: %w", err)
	}
	return b, nil
}

// Batch returns one batch. It implements commands.BatchStore.
func (db *DB) Batch(ctx context.Context, id int64) (commands.Batch, error) {
	b, err := scanBatch(db.read.QueryRowContext(ctx, batchByIDSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("storage: batch %d: %w", id, errNoBatch)
	}
	if err != nil {
		return b, fmt.Errorf("storage: batch %d: %w", id, err)
	}
	return b, nil
}

// ClaimBatch marks a pending, unexpired batch running, in one statement on
// the writer, and reports whether this call did. It implements
// commands.BatchStore.
func (db *DB) ClaimBatch(ctx context.Context, id int64, owner string, now time.Time) (commands.Batch, bool, error) {
	n, b, err := db.changeBatch(ctx, id, claimBatchSQL, owner, now.UnixMilli(), id, now.UnixMilli())
	if err != nil {
		return b, false, fmt.Errorf("storage: claim batch %d: %w", id, err)
	}
	return b, n == 1, nil
}

// StopBatch declines a pending batch or asks a running one to stop. It
// implements commands.BatchStore.
func (db *DB) StopBatch(ctx context.Context, id int64, now time.Time) (commands.Batch, error) {
	if _, _, err := db.changeBatch(ctx, id, declineBatchSQL, now.UnixMilli(), id); err != nil {
		return commands.Batch{}, fmt.Errorf("storage: stop batch %d: %w", id, err)
	}
	_, b, err := db.changeBatch(ctx, id, stopBatchSQL, now.UnixMilli(), id)
	if err != nil {
		return b, fmt.Errorf("storage: stop batch %d: %w", id, err)
	}
	return b, nil
}

// FinishBatch records a running batch's end and summary, in one
// statement on the writer, and reports whether this call did. It
// implements commands.BatchStore.
func (db *DB) FinishBatch(ctx context.Context, id int64, summary json.RawMessage, now time.Time) (commands.Batch, bool, error) {
	var s any
	if summary != nil {
		s = string(summary)
	}
	n, b, err := db.changeBatch(ctx, id, finishBatchSQL, s, now.UnixMilli(), id)
	if err != nil {
		return b, false, fmt.Errorf("storage: finish batch %d: %w", id, err)
	}
	return b, n == 1, nil
}

// BatchPages returns the audit records of a batch's pages after the audit
// record after, oldest first. It implements commands.BatchStore.
func (db *DB) BatchPages(ctx context.Context, id, after int64) ([]commands.AuditRecord, error) {
	rows, err := db.read.QueryContext(ctx, batchPagesSQL, after, commands.BatchPageLike(id))
	if err != nil {
		return nil, fmt.Errorf("storage: batch %d pages: %w", id, err)
	}
	recs, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("storage: batch %d pages: %w", id, err)
	}
	return commands.BatchPagesOf(recs, id), nil
}

// PruneBatches forgets the batches that expired before the given time. It
// implements commands.BatchStore.
func (db *DB) PruneBatches(ctx context.Context, before time.Time) (int, error) {
	res, err := db.write.ExecContext(ctx, pruneBatchesSQL, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("storage: prune batches: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// changeBatch runs one update of a batch and reads it back, in one
// transaction on the writer: how many rows changed, and the batch after.
func (db *DB) changeBatch(ctx context.Context, id int64, query string, args ...any) (int64, commands.Batch, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, commands.Batch{}, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, commands.Batch{}, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, commands.Batch{}, err
	}
	b, err := scanBatch(tx.QueryRowContext(ctx, batchByIDSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, b, errNoBatch
	}
	if err != nil {
		return 0, b, err
	}
	return n, b, tx.Commit()
}

func scanBatch(row interface{ Scan(...any) error }) (commands.Batch, error) {
	var (
		b                         commands.Batch
		plan                      string
		summary                   sql.NullString
		created, expires, updated int64
	)
	if err := row.Scan(&b.ID, &b.Wiki, &b.Command, &b.Platform, &b.UserID, &b.UserName, &plan, &created, &expires, &b.State, &b.Stop,
		&updated, &summary, &b.Owner); err != nil {
		return commands.Batch{}, err
	}
	b.Plan = json.RawMessage(plan)
	if summary.Valid {
		b.Summary = json.RawMessage(summary.String)
	}
	b.Created, b.Expires, b.Updated = ms(created), ms(expires), ms(updated)
	return b, nil
}
