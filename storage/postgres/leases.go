package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/commands"
)

// tryLeaseSQL takes the lease if it is new, expired or the holder's own,
// and returns a row if it did. PostgreSQL makes the statement atomic: of
// replicas taking one lease at once, one inserts or updates the row and the
// others wait for it, then find it held.
const tryLeaseSQL = `INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
	ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
	WHERE leases.until < $4 OR leases.holder = excluded.holder
	RETURNING true`

// TryLease takes the lease called name for holder until the given time,
// and reports whether it did. It takes it when no one holds it, when its
// holder's time ran out (a lease is held through its until, free at any
// later instant), or when holder holds it already, which renews it: until
// then replaces the one it had, shorter or longer. Held by another, it is
// left alone and TryLease reports false. until must be after now. The
// times are the replicas' own clocks: they must agree to well within a
// lease.
func (db *DB) TryLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error) {
	if err := commands.ValidateLease(name, holder, until, now); err != nil {
		return false, fmt.Errorf("postgres: lease %q: %w", name, err)
	}
	var took bool
	err := db.pool.QueryRow(ctx, tryLeaseSQL, storable(name), storable(holder), msUTC(until), msUTC(now)).Scan(&took)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: lease %q: %w", name, err)
	}
	return took, nil
}

// ReleaseLease gives up the lease called name if holder holds it, so that
// another may take it at once rather than when it expires. A lease held
// by another, or by no one, is left alone.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, storable(name), storable(holder)); err != nil {
		return fmt.Errorf("postgres: release lease %q: %w", name, err)
	}
	return nil
}
