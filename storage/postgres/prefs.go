package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/commands"
)

const (
	languageSQL    = `SELECT lang FROM languages WHERE platform = $1 AND user_id = $2`
	setLanguageSQL = `INSERT INTO languages (platform, user_id, lang, updated) VALUES ($1, $2, $3, $4)
		ON CONFLICT (platform, user_id) DO UPDATE SET lang = excluded.lang, updated = excluded.updated`
	forgetLanguageSQL = `DELETE FROM languages WHERE platform = $1 AND user_id = $2`
)

// Language returns the language code platform's user chose, "" if none.
// It implements commands.PreferenceStore.
func (db *DB) Language(ctx context.Context, platform, user string) (string, error) {
	var lang string
	err := db.pool.QueryRow(ctx, languageSQL, storable(platform), storable(user)).Scan(&lang)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: language of %s %s: %w", platform, user, err)
	}
	return lang, nil
}

// SetLanguage records the language platform's user chose at now (the zero
// time means the database's clock), replacing any they chose before; lang
// "" forgets their choice. It refuses what
// commands.ValidateLanguagePreference refuses, and then writes nothing.
// It implements commands.PreferenceStore.
func (db *DB) SetLanguage(ctx context.Context, platform, user, lang string, now time.Time) error {
	if err := commands.ValidateLanguagePreference(platform, user, lang); err != nil {
		return fmt.Errorf("postgres: set language: %w", err)
	}
	if now.IsZero() {
		now = db.now()
	}
	var err error
	if lang == "" {
		_, err = db.pool.Exec(ctx, forgetLanguageSQL, platform, user)
	} else {
		_, err = db.pool.Exec(ctx, setLanguageSQL, platform, user, lang, msUTC(now))
	}
	if err != nil {
		return fmt.Errorf("postgres: set language of %s %s: %w", platform, user, err)
	}
	return nil
}
