package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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
		return errors.New("postgres: adopt wiki: no name")
	}
	if name == commands.DefaultWiki {
		return nil
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: adopt wiki %q: %w", name, err)
	}
	defer tx.Rollback(ctx)
	// Audit ids are taken when a record is inserted, not when it is
	// committed: another replica's record may become visible after one
	// with a higher id. This lock waits for the inserts in flight and
	// holds back new ones (reads go on) until the commit, so that no
	// record of the default wiki can appear below the mark set here. It
	// also makes two AdoptWikis take turns.
	if _, err := tx.Exec(ctx, `LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("postgres: adopt wiki %q: %w", name, err)
	}
	var collisions []string
	for _, t := range commands.WikiTables {
		var on []string
		for _, c := range t.Key {
			on = append(on, "n."+c+" = d."+c)
		}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+t.Name+` d JOIN `+t.Name+` n
			ON n.wiki = $1 AND `+strings.Join(on, " AND ")+` WHERE d.wiki = $2`, name, commands.DefaultWiki).Scan(&n); err != nil {
			return fmt.Errorf("postgres: adopt wiki %q: %s: %w", name, t.Name, err)
		}
		if n > 0 {
			collisions = append(collisions, fmt.Sprintf("%s (%d)", t.Name, n))
		}
	}
	if len(collisions) > 0 {
		return fmt.Errorf("postgres: adopt wiki %q: %w %q in %s; nothing was renamed",
			name, commands.ErrWikiCollision, commands.DefaultWiki, strings.Join(collisions, ", "))
	}
	for _, t := range commands.WikiTables {
		if _, err := tx.Exec(ctx, `UPDATE `+t.Name+` SET wiki = $1 WHERE wiki = $2`, name, commands.DefaultWiki); err != nil {
			return fmt.Errorf("postgres: adopt wiki %q: %s: %w", name, t.Name, err)
		}
	}
	if err := adoptAudit(ctx, tx, name); err != nil {
		return fmt.Errorf("postgres: adopt wiki %q: audit: %w", name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: adopt wiki %q: %w", name, err)
	}
	return nil
}

// adoptAudit renames the default wiki's audit records after the last ones
// adopted, and remembers how far it went. The log has no index by wiki,
// so without the mark every start would read all of it.
func adoptAudit(ctx context.Context, tx pgx.Tx, name string) error {
	var after int64
	err := tx.QueryRow(ctx, `SELECT value FROM storage_state WHERE key = $1`, commands.AdoptedAuditKey).Scan(&after)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	var last *int64
	if err := tx.QueryRow(ctx, `SELECT MAX(id) FROM audit`).Scan(&last); err != nil {
		return err
	}
	if last == nil || *last <= after {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE audit SET wiki = $1 WHERE id > $2 AND id <= $3 AND wiki = $4`,
		name, after, *last, commands.DefaultWiki); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO storage_state (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, commands.AdoptedAuditKey, *last)
	return err
}
