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
	linkSQL     = `SELECT wiki_user, method, linked_ms FROM links WHERE wiki = ? AND platform = ? AND user_id = ?`
	saveLinkSQL = `INSERT INTO links (wiki, platform, user_id, wiki_user, method, linked_ms) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (wiki, platform, user_id) DO UPDATE SET
			wiki_user = excluded.wiki_user, method = excluded.method, linked_ms = excluded.linked_ms`
	deleteLinkSQL = `DELETE FROM links WHERE wiki = ? AND platform = ? AND user_id = ?`

	linkAttemptSQL = `SELECT wiki_user, method, salt, code_hash, expires_ms, tries, base_rev
		FROM link_attempts WHERE wiki = ? AND platform = ? AND user_id = ?`
	// saveLinkAttemptSQL sets tries to 0 itself: a new attempt has had no
	// wrong codes, whatever the one it replaces had.
	saveLinkAttemptSQL = `INSERT INTO link_attempts
		(wiki, platform, user_id, wiki_user, method, salt, code_hash, expires_ms, tries, base_rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
		ON CONFLICT (wiki, platform, user_id) DO UPDATE SET
			wiki_user = excluded.wiki_user, method = excluded.method, salt = excluded.salt,
			code_hash = excluded.code_hash, expires_ms = excluded.expires_ms, tries = 0, base_rev = excluded.base_rev`
	// addWrongCodeSQL counts and reads back in one statement on the one
	// writer connection, so two wrong codes given at once count two.
	addWrongCodeSQL = `UPDATE link_attempts SET tries = tries + 1
		WHERE wiki = ? AND platform = ? AND user_id = ? RETURNING tries`
	deleteLinkAttemptSQL = `DELETE FROM link_attempts WHERE wiki = ? AND platform = ? AND user_id = ?`
	// pruneLinkAttemptsSQL prunes every wiki's attempts at once.
	pruneLinkAttemptsSQL = `DELETE FROM link_attempts WHERE expires_ms < ?`
)

// Link returns the chat identity's link on the wiki; ok is false when
// there is none. It implements commands.LinkStore.
func (db *DB) Link(ctx context.Context, wiki, platform, userID string) (commands.Link, bool, error) {
	// The columns are scanned into a struct of their own: Scan's pointers
	// escape, and would take the whole Link to the heap.
	var r struct {
		wikiUser, method string
		ms               int64
	}
	err := db.linkStmt.QueryRowContext(ctx, wiki, platform, userID).Scan(&r.wikiUser, &r.method, &r.ms)
	if errors.Is(err, sql.ErrNoRows) {
		return commands.Link{}, false, nil
	}
	if err != nil {
		return commands.Link{}, false, fmt.Errorf("storage: link %s %s on %s: %w", platform, userID, wiki, err)
	}
	return commands.Link{Wiki: wiki, Platform: platform, UserID: userID, WikiUser: r.wikiUser, Method: r.method,
		Linked: time.UnixMilli(r.ms).UTC()}, true, nil
}

// SaveLink links a chat identity to an account on l.Wiki, replacing any
// link it had on that wiki; its links on other wikis stay. A zero l.Linked
// means now. It implements commands.LinkStore.
func (db *DB) SaveLink(ctx context.Context, l commands.Link) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("storage: save link: %w", err)
	}
	t := l.Linked
	if t.IsZero() {
		t = db.now()
	}
	if _, err := db.saveLinkStmt.ExecContext(ctx, l.Wiki, l.Platform, l.UserID, l.WikiUser, l.Method, t.UnixMilli()); err != nil {
		return fmt.Errorf("storage: save link %s %s on %s: %w", l.Platform, l.UserID, l.Wiki, err)
	}
	return nil
}

// DeleteLink removes a chat identity's link on the wiki and reports
// whether there was one. It implements commands.LinkStore.
func (db *DB) DeleteLink(ctx context.Context, wiki, platform, userID string) (bool, error) {
	res, err := db.deleteLinkStmt.ExecContext(ctx, wiki, platform, userID)
	if err != nil {
		return false, fmt.Errorf("storage: delete link %s %s on %s: %w", platform, userID, wiki, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("storage: delete link %s %s on %s: %w", platform, userID, wiki, err)
	}
	return n > 0, nil
}

// LinkAttempt returns the chat identity's attempt in progress on the wiki,
// expired or not; ok is false when there is none. It implements
// commands.LinkStore.
func (db *DB) LinkAttempt(ctx context.Context, wiki, platform, userID string) (commands.LinkAttempt, bool, error) {
	a := commands.LinkAttempt{Wiki: wiki, Platform: platform, UserID: userID}
	var ms int64
	err := db.attemptStmt.QueryRowContext(ctx, wiki, platform, userID).
		Scan(&a.WikiUser, &a.Method, &a.Salt, &a.CodeHash, &ms, &a.Tries, &a.BaseRevision)
	if errors.Is(err, sql.ErrNoRows) {
		return commands.LinkAttempt{}, false, nil
	}
	if err != nil {
		return commands.LinkAttempt{}, false, fmt.Errorf("storage: link attempt %s %s on %s: %w", platform, userID, wiki, err)
	}
	a.Expires = time.UnixMilli(ms).UTC()
	return a, true, nil
}

// SaveLinkAttempt starts an attempt on a.Wiki, replacing any the chat
// identity had there and so voiding its code. The new attempt has no wrong
// codes: a.Tries is not stored. It implements commands.LinkStore.
func (db *DB) SaveLinkAttempt(ctx context.Context, a commands.LinkAttempt) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("storage: save link attempt: %w", err)
	}
	if _, err := db.saveAttemptStmt.ExecContext(ctx,
		a.Wiki, a.Platform, a.UserID, a.WikiUser, a.Method, a.Salt, a.CodeHash, a.Expires.UnixMilli(), a.BaseRevision); err != nil {
		return fmt.Errorf("storage: save link attempt %s %s on %s: %w", a.Platform, a.UserID, a.Wiki, err)
	}
	return nil
}

// AddWrongCode counts one wrong code against the chat identity's attempt
// on the wiki and returns its wrong codes so far, or 0 if there is no
// attempt. Calls at the same time each count. It implements
// commands.LinkStore.
func (db *DB) AddWrongCode(ctx context.Context, wiki, platform, userID string) (int, error) {
	var tries int
	err := db.wrongCodeStmt.QueryRowContext(ctx, wiki, platform, userID).Scan(&tries)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("storage: wrong link code %s %s on %s: %w", platform, userID, wiki, err)
	}
	return tries, nil
}

// DeleteLinkAttempt ends the chat identity's attempt on the wiki, if any.
// It implements commands.LinkStore.
func (db *DB) DeleteLinkAttempt(ctx context.Context, wiki, platform, userID string) error {
	if _, err := db.deleteAttemptStmt.ExecContext(ctx, wiki, platform, userID); err != nil {
		return fmt.Errorf("storage: delete link attempt %s %s on %s: %w", platform, userID, wiki, err)
	}
	return nil
}

// PruneLinkAttempts deletes the attempts, on every wiki, that expired
// before t (an attempt expiring at t itself stays) and returns how many. It implements
// commands.LinkStore.
func (db *DB) PruneLinkAttempts(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.pruneAttemptsStmt.ExecContext(ctx, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("storage: prune link attempts: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("storage: prune link attempts: %w", err)
	}
	return n, nil
}

const (
	// The mails that count against a new one: those sent within the
	// longest limit, to the account on its wiki and for the chat identity
	// on every wiki.
	linkMailsToAccountSQL = `SELECT sent_ms FROM link_mails WHERE wiki = ? AND wiki_user = ? AND sent_ms > ?`
	linkMailsForChatSQL   = `SELECT sent_ms FROM link_mails WHERE platform = ? AND user_id = ? AND sent_ms > ?`
	addLinkMailSQL        = `INSERT INTO link_mails (wiki, wiki_user, platform, user_id, sent_ms) VALUES (?, ?, ?, ?, ?)`
	// pruneLinkMailsSQL forgets the mails no limit counts any more.
	pruneLinkMailsSQL = `DELETE FROM link_mails WHERE sent_ms <= ?`
)

// TakeLinkMail records m, a mail about to be sent, unless one of limits
// refuses it given the mails recorded before; a refused mail is not
// recorded. The reads and the write are one immediate transaction on the
// writer connection, so processes sharing the file take their turns under
// SQLite's write lock and only one gets a last free mail. It forgets the
// mails older than the longest limit. It implements commands.LinkStore.
func (db *DB) TakeLinkMail(ctx context.Context, m commands.LinkMail, limits []commands.MailLimit) (commands.MailLimitHit, bool, error) {
	if err := m.Validate(limits); err != nil {
		return commands.MailLimitHit{}, false, fmt.Errorf("storage: link mail: %w", err)
	}
	since := m.Sent.Add(-commands.MailWindow(limits)).UnixMilli()
	hit, taken, err := db.takeLinkMail(ctx, m, limits, since)
	if err != nil {
		return commands.MailLimitHit{}, false, fmt.Errorf("storage: link mail to %s on %s for %s %s: %w", m.WikiUser, m.Wiki, m.Platform, m.UserID, err)
	}
	return hit, taken, nil
}

func (db *DB) takeLinkMail(ctx context.Context, m commands.LinkMail, limits []commands.MailLimit, since int64) (commands.MailLimitHit, bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return commands.MailLimitHit{}, false, err
	}
	defer tx.Rollback()
	toAccount, err := sentTimes(ctx, tx, linkMailsToAccountSQL, m.Wiki, m.WikiUser, since)
	if err != nil {
		return commands.MailLimitHit{}, false, err
	}
	forChatUser, err := sentTimes(ctx, tx, linkMailsForChatSQL, m.Platform, m.UserID, since)
	if err != nil {
		return commands.MailLimitHit{}, false, err
	}
	if hit, refused := commands.CheckMailLimits(limits, m.Sent, toAccount, forChatUser); refused {
		return hit, false, nil
	}
	if _, err := tx.ExecContext(ctx, addLinkMailSQL, m.Wiki, m.WikiUser, m.Platform, m.UserID, m.Sent.UnixMilli()); err != nil {
		return commands.MailLimitHit{}, false, err
	}
	if _, err := tx.ExecContext(ctx, pruneLinkMailsSQL, since); err != nil {
		return commands.MailLimitHit{}, false, err
	}
	return commands.MailLimitHit{}, true, tx.Commit()
}

// sentTimes reads the times of the link mails a query selects.
func sentTimes(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]time.Time, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var ms int64
		if err := rows.Scan(&ms); err != nil {
			return nil, err
		}
		out = append(out, time.UnixMilli(ms).UTC())
	}
	return out, rows.Err()
}
