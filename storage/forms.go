package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// PutForm keeps a pending form until expires, and forgets the forms that
// have expired. It implements commands.FormStore.
func (db *DB) PutForm(ctx context.Context, id string, f commands.PendingForm, expires time.Time) error {
	args, err := commands.EncodeFormArgs(f.Args)
	if err != nil {
		return fmt.Errorf("storage: form: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, `DELETE FROM forms WHERE expires_ms <= ?`, db.now().UnixMilli()); err != nil {
		return fmt.Errorf("storage: prune forms: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO forms (id, user_id, command, secret, args, expires_ms) VALUES (?, ?, ?, ?, ?, ?)`,
		id, f.UserID, f.Command, f.Secret, args, expires.UnixMilli()); err != nil {
		return fmt.Errorf("storage: put form: %w", err)
	}
	return nil
}

// TakeForm returns and forgets the form with id, if it has not expired at
// now and userID opened it. Someone else's submission leaves it for its
// owner. It implements commands.FormStore.
func (db *DB) TakeForm(ctx context.Context, id, userID string, now time.Time) (commands.PendingForm, bool, bool, error) {
	f := commands.PendingForm{UserID: userID}
	var args string
	err := db.write.QueryRowContext(ctx, `DELETE FROM forms WHERE id = ? AND user_id = ? AND expires_ms > ?
		RETURNING command, secret, args`, id, userID, now.UnixMilli()).Scan(&f.Command, &f.Secret, &args)
	switch {
	case err == nil:
		if f.Args, err = commands.DecodeFormArgs(args); err != nil {
			return commands.PendingForm{}, false, false, fmt.Errorf("storage: form %s: %w", id, err)
		}
		return f, true, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return commands.PendingForm{}, false, false, fmt.Errorf("storage: take form: %w", err)
	}
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM forms WHERE id = ? AND expires_ms > ?`, id, now.UnixMilli()).Scan(&n); err != nil {
		return commands.PendingForm{}, false, false, fmt.Errorf("storage: take form: %w", err)
	}
	return commands.PendingForm{}, n > 0, false, nil
}
