package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/commands"
)

// PutForm keeps a pending form until expires, and forgets the forms that
// have expired. It implements commands.FormStore.
func (db *DB) PutForm(ctx context.Context, id string, f commands.PendingForm, expires time.Time) error {
	args, err := commands.EncodeFormArgs(f.Args)
	if err != nil {
		return fmt.Errorf("postgres: form: %w", err)
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM forms WHERE expires <= $1`, msUTC(db.now())); err != nil {
		return fmt.Errorf("postgres: prune forms: %w", err)
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO forms (id, user_id, command, secret, args, expires) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, f.UserID, f.Command, f.Secret, args, msUTC(expires)); err != nil {
		return fmt.Errorf("postgres: put form: %w", err)
	}
	return nil
}

// TakeForm returns and forgets the form with id, if it has not expired at
// now and userID opened it: one DELETE, so of two replicas taking it at
// once only one gets it. Someone else's submission leaves it for its owner.
// It implements commands.FormStore.
func (db *DB) TakeForm(ctx context.Context, id, userID string, now time.Time) (commands.PendingForm, bool, bool, error) {
	f := commands.PendingForm{UserID: userID}
	var args string
	err := db.pool.QueryRow(ctx, `DELETE FROM forms WHERE id = $1 AND user_id = $2 AND expires > $3
		RETURNING command, secret, args::text`, id, userID, msUTC(now)).Scan(&f.Command, &f.Secret, &args)
	switch {
	case err == nil:
		if f.Args, err = commands.DecodeFormArgs(args); err != nil {
			return commands.PendingForm{}, false, false, fmt.Errorf("postgres: form %s: %w", id, err)
		}
		return f, true, true, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return commands.PendingForm{}, false, false, fmt.Errorf("postgres: take form: %w", err)
	}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM forms WHERE id = $1 AND expires > $2`, id, msUTC(now)).Scan(&n); err != nil {
		return commands.PendingForm{}, false, false, fmt.Errorf("postgres: take form: %w", err)
	}
	return commands.PendingForm{}, n > 0, false, nil
}
