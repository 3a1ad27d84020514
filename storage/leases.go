package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// tryLeaseSQL takes the lease if it is new, expired or the holder's own,
// in one statement on the writer connection: processes sharing the file
// take SQLite's write lock in turn, and each sees the others' leases.
const tryLeaseSQL = `INSERT INTO leases (name, holder, until_ms) VALUES (?, ?, ?)
	ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
	WHERE leases.until_ms < ? OR leases.holder = excluded.holder`

// TryLease takes the lease called name for holder until the given time,
// and reports whether it did. It takes it when no one holds it, when its
// holder's time ran out (a lease is held through its until, free at any
// later instant), or when holder holds it already, which renews it: until
// then replaces the one it had, shorter or longer. Held by another, it is
// left alone and TryLease reports false. It refuses what
// commands.ValidateLease refuses.
func (db *DB) TryLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error) {
	if err := commands.ValidateLease(name, holder, until, now); err != nil {
		return false, fmt.Errorf("storage: lease %q: %w", name, err)
	}
	res, err := db.write.ExecContext(ctx, tryLeaseSQL, name, holder, until.UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("storage: lease %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("storage: lease %q: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease gives up the lease called name if holder holds it, so that
// another may take it at once rather than when it expires. A lease held
// by another, or by no one, is left alone.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.write.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("storage: release lease %q: %w", name, err)
	}
	return nil
}
