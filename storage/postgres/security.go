package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/commands"
)

// addSecurityCountSQL adds to a stored count and keeps its first
// non-empty detail.
const addSecurityCountSQL = `INSERT INTO security_counts (minute, platform, kind, source, count, detail)
	VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (minute, platform, kind, source) DO UPDATE SET
		count = security_counts.count + excluded.count,
		detail = CASE WHEN security_counts.detail = '' THEN excluded.detail ELSE security_counts.detail END`

// securityKey is what a count is kept by.
type securityKey struct {
	minute                 time.Time
	platform, kind, source string
}

// AddSecurityCounts adds counts of refused requests, as a flusher gathers
// them, in one transaction: the counts of a (minute, platform, kind,
// source) already stored grow by Count, and keep the first non-empty
// detail. Minute is truncated to the minute; a zero Minute means now. A
// count of zero adds nothing; a negative one is an error, and then nothing
// is added.
//
// The batch is summed by key and written in key order, so that replicas
// flushing at once lock the rows they share in the same order and never
// deadlock; it goes to the server in one round trip.
func (db *DB) AddSecurityCounts(ctx context.Context, counts []commands.SecurityCount) error {
	if len(counts) == 0 {
		return nil
	}
	now := db.now()
	sums := map[securityKey]*commands.SecurityCount{}
	for _, c := range counts {
		if c.Count < 0 {
			return fmt.Errorf("postgres: security counts: %s %s from %s: negative count %d", c.Platform, c.Kind, c.Source, c.Count)
		}
		if c.Count == 0 {
			continue
		}
		minute := c.Minute
		if minute.IsZero() {
			minute = now
		}
		k := securityKey{minute.Truncate(time.Minute).UTC(), storable(c.Platform), storable(c.Kind), storable(c.Source)}
		sum, ok := sums[k]
		if !ok {
			sum = &commands.SecurityCount{Minute: k.minute, Platform: k.platform, Kind: k.kind, Source: k.source}
			sums[k] = sum
		}
		sum.Count += c.Count
		if sum.Detail == "" {
			sum.Detail = commands.SecurityDetail(storable(c.Detail))
		}
	}
	if len(sums) == 0 {
		return nil
	}
	keys := make([]securityKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if !a.minute.Equal(b.minute) {
			return a.minute.Before(b.minute)
		}
		if a.platform != b.platform {
			return a.platform < b.platform
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.source < b.source
	})
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var batch pgx.Batch
		for _, k := range keys {
			c := sums[k]
			batch.Queue(addSecurityCountSQL, c.Minute, c.Platform, c.Kind, c.Source, c.Count, c.Detail)
		}
		return tx.SendBatch(ctx, &batch).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: security counts: %w", err)
	}
	return nil
}

// SecurityCounts returns the counts of the minute holding since and of
// later minutes, newest minute first and the largest counts of a minute
// first, at most limit of them (0 means 50): what an operator looks at
// after an alert. Ties are ordered by bytes (COLLATE "C"), as SQLite
// orders them, whatever the database's locale.
func (db *DB) SecurityCounts(ctx context.Context, since time.Time, limit int) ([]commands.SecurityCount, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.pool.Query(ctx, `SELECT minute, platform, kind, source, count, detail FROM security_counts
		WHERE minute >= $1
		ORDER BY minute DESC, count DESC, platform COLLATE "C", kind COLLATE "C", source COLLATE "C" LIMIT $2`,
		since.Truncate(time.Minute).UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: security counts: %w", err)
	}
	defer rows.Close()
	var out []commands.SecurityCount
	for rows.Next() {
		var c commands.SecurityCount
		if err := rows.Scan(&c.Minute, &c.Platform, &c.Kind, &c.Source, &c.Count, &c.Detail); err != nil {
			return nil, fmt.Errorf("postgres: security counts: %w", err)
		}
		c.Minute = c.Minute.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: security counts: %w", err)
	}
	return out, nil
}

// PruneSecurityCounts deletes the counts of minutes that started before
// before, and returns how many it deleted, so that the counts cover a
// retention window rather than all time.
func (db *DB) PruneSecurityCounts(ctx context.Context, before time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM security_counts WHERE minute < $1`, msUTC(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune security counts: %w", err)
	}
	return tag.RowsAffected(), nil
}
