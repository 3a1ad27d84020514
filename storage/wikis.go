package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/wikimod/wikimod/commands"
)

// AdoptWiki gives the default wiki's rows (commands.DefaultWiki: those kept
// while wikimod served one wiki from a [wiki] section) to the wiki called
// name, in every table and in one transaction, for an operator whose
// configuration now names that one wiki. Protections keep their ids, so
// their reminders stay theirs. It is idempotent: with no default rows left
// it changes nothing, and it reads only the audit records added since it
// last ran rather than the whole log. It refuses, wrapping
// commands.ErrWikiCollision and naming the tables, when name already has
// rows that the default wiki's would collide with (the same chat identity
// linked on both, the same page's protection tracked on both); it then
// renames nothing.
func (db *DB) AdoptWiki(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("storage: adopt wiki: no name")
	}
	if name == commands.DefaultWiki {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storage: adopt wiki %q: %w", name, err)
	}
	defer tx.Rollback()
	var collisions []string
	for _, t := range commands.WikiTables {
		var on []string
		for _, c := range t.Key {
			on = append(on, "n."+c+" = d."+c)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t.Name+` d JOIN `+t.Name+` n
			ON n.wiki = ? AND `+strings.Join(on, " AND ")+` WHERE d.wiki = ?`, name, commands.DefaultWiki).Scan(&n); err != nil {
			return fmt.Errorf("storage: adopt wiki %q: %s: %w", name, t.Name, err)
		}
		if n > 0 {
			collisions = append(collisions, fmt.Sprintf("%s (%d)", t.Name, n))
		}
	}
	if len(collisions) > 0 {
		return fmt.Errorf("storage: adopt wiki %q: %w %q in %s; nothing was renamed",
			name, commands.ErrWikiCollision, commands.DefaultWiki, strings.Join(collisions, ", "))
	}
	for _, t := range commands.WikiTables {
		if _, err := tx.ExecContext(ctx, `UPDATE `+t.Name+` SET wiki = ? WHERE wiki = ?`, name, commands.DefaultWiki); err != nil {
			return fmt.Errorf("storage: adopt wiki %q: %s: %w", name, t.Name, err)
		}
	}
	if err := adoptAudit(ctx, tx, name); err != nil {
		return fmt.Errorf("storage: adopt wiki %q: audit: %w", name, err)
	}
	return tx.Commit()
}

// adoptAudit renames the default wiki's audit records after the last ones
// adopted, and remembers how far it went. The log has no index by wiki,
// so without the mark every start would read all of it. Records are never
// deleted, so a new one always has a higher id than the mark.
func adoptAudit(ctx context.Context, tx *sql.Tx, name string) error {
	var after int64
	err := tx.QueryRowContext(ctx, `SELECT value FROM storage_state WHERE key = ?`, commands.AdoptedAuditKey).Scan(&after)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(id) FROM audit`).Scan(&last); err != nil {
		return err
	}
	if !last.Valid || last.Int64 <= after {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit SET wiki = ? WHERE id > ? AND id <= ? AND wiki = ?`,
		name, after, last.Int64, commands.DefaultWiki); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO storage_state (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, commands.AdoptedAuditKey, last.Int64)
	return err
}
