package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// AddSecurityCounts adds counts of refused requests, as a flusher gathers
// them, in one transaction: the counts of a (minute, platform, kind,
// source) already stored grow by Count, and keep the first non-empty
// detail. Minute is truncated to the minute; a zero Minute means now. A
// count of zero adds nothing; a negative one is an error, and then nothing
// is added.
func (db *DB) AddSecurityCounts(ctx context.Context, counts []commands.SecurityCount) error {
	if len(counts) == 0 {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storage: security counts: %w", err)
	}
	defer tx.Rollback()
	if err := addSecurityCounts(ctx, tx, counts, db.now()); err != nil {
		return fmt.Errorf("storage: security counts: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("storage: security counts: %w", err)
	}
	return nil
}

func addSecurityCounts(ctx context.Context, tx *sql.Tx, counts []commands.SecurityCount, now time.Time) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO security_counts (minute_ms, platform, kind, source, count, detail)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (minute_ms, platform, kind, source) DO UPDATE SET
			count = count + excluded.count,
			detail = CASE WHEN detail = '' THEN excluded.detail ELSE detail END`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, c := range counts {
		if c.Count < 0 {
			return fmt.Errorf("%s %s from %s: negative count %d", c.Platform, c.Kind, c.Source, c.Count)
		}
		if c.Count == 0 {
			continue
		}
		minute := c.Minute
		if minute.IsZero() {
			minute = now
		}
		minute = minute.Truncate(time.Minute)
		if _, err := stmt.ExecContext(ctx, minute.UnixMilli(), c.Platform, c.Kind, c.Source, c.Count,
			commands.SecurityDetail(c.Detail)); err != nil {
			return err
		}
	}
	return nil
}

// SecurityCounts returns the counts of the minute holding since and of
// later minutes, newest minute first and the largest counts of a minute
// first, at most limit of them (0 means 50): what an operator looks at
// after an alert.
func (db *DB) SecurityCounts(ctx context.Context, since time.Time, limit int) ([]commands.SecurityCount, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.read.QueryContext(ctx, `SELECT minute_ms, platform, kind, source, count, detail FROM security_counts
		WHERE minute_ms >= ? ORDER BY minute_ms DESC, count DESC, platform, kind, source LIMIT ?`,
		since.Truncate(time.Minute).UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("storage: security counts: %w", err)
	}
	defer rows.Close()
	var out []commands.SecurityCount
	for rows.Next() {
		var c commands.SecurityCount
		var ms int64
		if err := rows.Scan(&ms, &c.Platform, &c.Kind, &c.Source, &c.Count, &c.Detail); err != nil {
			return nil, fmt.Errorf("storage: security counts: %w", err)
		}
		c.Minute = time.UnixMilli(ms).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: security counts: %w", err)
	}
	return out, nil
}

// PruneSecurityCounts deletes the counts of minutes that started before
// before, and returns how many it deleted, so that the counts cover a
// retention window rather than all time.
func (db *DB) PruneSecurityCounts(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM security_counts WHERE minute_ms < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("storage: prune security counts: %w", err)
	}
	return res.RowsAffected()
}
