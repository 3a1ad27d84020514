package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/commands"
)

const (
	// languageSQL is read for every command's reply, on the readers.
	languageSQL    = `SELECT lang FROM languages WHERE platform = ? AND user_id = ?`
	setLanguageSQL = `INSERT INTO languages (platform, user_id, lang, updated_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (platform, user_id) DO UPDATE SET lang = excluded.lang, updated_ms = excluded.updated_ms`
	forgetLanguageSQL = `DELETE FROM languages WHERE platform = ? AND user_id = ?`
)

// Language returns the language code platform's user chose, "" if none.
// It implements commands.PreferenceStore.
func (db *DB) Language(ctx context.Context, platform, user string) (string, error) {
	var lang string
	err := db.languageStmt.QueryRowContext(ctx, platform, user).Scan(&lang)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("storage: language of %s %s: %w", platform, user, err)
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
		return fmt.Errorf("storage: set language: %w", err)
	}
	if now.IsZero() {
		now = db.now()
	}
	var err error
	if lang == "" {
		_, err = db.write.ExecContext(ctx, forgetLanguageSQL, platform, user)
	} else {
		_, err = db.write.ExecContext(ctx, setLanguageSQL, platform, user, lang, now.UnixMilli())
	}
	if err != nil {
		return fmt.Errorf("storage: set language of %s %s: %w", platform, user, err)
	}
	return nil
}
