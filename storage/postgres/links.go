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
	linkSQL     = `SELECT wiki_user, method, linked FROM links WHERE wiki = $1 AND platform = $2 AND user_id = $3`
	saveLinkSQL = `INSERT INTO links (wiki, platform, user_id, wiki_user, method, linked) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (wiki, platform, user_id) DO UPDATE SET
			wiki_user = excluded.wiki_user, method = excluded.method, linked = excluded.linked`
	deleteLinkSQL = `DELETE FROM links WHERE wiki = $1 AND platform = $2 AND user_id = $3`

	linkAttemptSQL = `SELECT wiki_user, method, salt, code_hash, expires, tries, base_rev
		FROM link_attempts WHERE wiki = $1 AND platform = $2 AND user_id = $3`
	// saveLinkAttemptSQL sets tries to 0 itself: a new attempt has had no
	// wrong codes, whatever the one it replaces had.
	saveLinkAttemptSQL = `INSERT INTO link_attempts
		(wiki, platform, user_id, wiki_user, method, salt, code_hash, expires, tries, base_rev) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)
		ON CONFLICT (wiki, platform, user_id) DO UPDATE SET
			wiki_user = excluded.wiki_user, method = excluded.method, salt = excluded.salt,
			code_hash = excluded.code_hash, expires = excluded.expires, tries = 0, base_rev = excluded.base_rev`
	// addWrongCodeSQL counts and reads back in one statement, which holds
	// the row: two wrong codes given at once, to one replica or two,
	// count two.
	addWrongCodeSQL = `UPDATE link_attempts SET tries = tries + 1
		WHERE wiki = $1 AND platform = $2 AND user_id = $3 RETURNING tries`
	deleteLinkAttemptSQL = `DELETE FROM link_attempts WHERE wiki = $1 AND platform = $2 AND user_id = $3`
	// pruneLinkAttemptsSQL prunes every wiki's attempts at once.
	pruneLinkAttemptsSQL = `DELETE FROM link_attempts WHERE expires < $1`
)

// Link returns the chat identity's link on the wiki; ok is false when
// there is none. It implements commands.LinkStore.
func (db *DB) Link(ctx context.Context, wiki, platform, userID string) (commands.Link, bool, error) {
	l := commands.Link{Wiki: wiki, Platform: platform, UserID: userID}
	err := db.pool.QueryRow(ctx, linkSQL, wiki, platform, userID).Scan(&l.WikiUser, &l.Method, &l.Linked)
	if errors.Is(err, pgx.ErrNoRows) {
		return commands.Link{}, false, nil
	}
	if err != nil {
		return commands.Link{}, false, fmt.Errorf("postgres: link %s %s on %s: %w", platform, userID, wiki, err)
	}
	l.Linked = l.Linked.UTC()
	return l, true, nil
}

// SaveLink links a chat identity to an account on l.Wiki, replacing any
// link it had on that wiki; its links on other wikis stay. A zero l.Linked
// means now. It implements commands.LinkStore.
func (db *DB) SaveLink(ctx context.Context, l commands.Link) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("postgres: save link: %w", err)
	}
	t := l.Linked
	if t.IsZero() {
		t = db.now()
	}
	if _, err := db.pool.Exec(ctx, saveLinkSQL, l.Wiki, l.Platform, l.UserID, l.WikiUser, l.Method, msUTC(t)); err != nil {
		return fmt.Errorf("postgres: save link %s %s on %s: %w", l.Platform, l.UserID, l.Wiki, err)
	}
	return nil
}

// DeleteLink removes a chat identity's link on the wiki and reports
// whether there was one. It implements commands.LinkStore.
func (db *DB) DeleteLink(ctx context.Context, wiki, platform, userID string) (bool, error) {
	tag, err := db.pool.Exec(ctx, deleteLinkSQL, wiki, platform, userID)
	if err != nil {
		return false, fmt.Errorf("postgres: delete link %s %s on %s: %w", platform, userID, wiki, err)
	}
	return tag.RowsAffected() > 0, nil
}

// LinkAttempt returns the chat identity's attempt in progress on the wiki,
// expired or not; ok is false when there is none. It implements
// commands.LinkStore.
func (db *DB) LinkAttempt(ctx context.Context, wiki, platform, userID string) (commands.LinkAttempt, bool, error) {
	a := commands.LinkAttempt{Wiki: wiki, Platform: platform, UserID: userID}
	var tries int32
	err := db.pool.QueryRow(ctx, linkAttemptSQL, wiki, platform, userID).
		Scan(&a.WikiUser, &a.Method, &a.Salt, &a.CodeHash, &a.Expires, &tries, &a.BaseRevision)
	if errors.Is(err, pgx.ErrNoRows) {
		return commands.LinkAttempt{}, false, nil
	}
	if err != nil {
		return commands.LinkAttempt{}, false, fmt.Errorf("postgres: link attempt %s %s on %s: %w", platform, userID, wiki, err)
	}
	a.Expires = a.Expires.UTC()
	a.Tries = int(tries)
	return a, true, nil
}

// SaveLinkAttempt starts an attempt on a.Wiki, replacing any the chat
// identity had there and so voiding its code. The new attempt has no wrong
// codes: a.Tries is not stored. It implements commands.LinkStore.
func (db *DB) SaveLinkAttempt(ctx context.Context, a commands.LinkAttempt) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("postgres: save link attempt: %w", err)
	}
	if _, err := db.pool.Exec(ctx, saveLinkAttemptSQL,
		a.Wiki, a.Platform, a.UserID, a.WikiUser, a.Method, a.Salt, a.CodeHash, msUTC(a.Expires), a.BaseRevision); err != nil {
		return fmt.Errorf("postgres: save link attempt %s %s on %s: %w", a.Platform, a.UserID, a.Wiki, err)
	}
	return nil
}

// AddWrongCode counts one wrong code against the chat identity's attempt
// on the wiki and returns its wrong codes so far, or 0 if there is no
// attempt. Calls at the same time each count. It implements
// commands.LinkStore.
func (db *DB) AddWrongCode(ctx context.Context, wiki, platform, userID string) (int, error) {
	var tries int32
	err := db.pool.QueryRow(ctx, addWrongCodeSQL, wiki, platform, userID).Scan(&tries)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: wrong link code %s %s on %s: %w", platform, userID, wiki, err)
	}
	return int(tries), nil
}

// DeleteLinkAttempt ends the chat identity's attempt on the wiki, if any.
// It implements commands.LinkStore.
func (db *DB) DeleteLinkAttempt(ctx context.Context, wiki, platform, userID string) error {
	if _, err := db.pool.Exec(ctx, deleteLinkAttemptSQL, wiki, platform, userID); err != nil {
		return fmt.Errorf("postgres: delete link attempt %s %s on %s: %w", platform, userID, wiki, err)
	}
	return nil
}

// PruneLinkAttempts deletes the attempts, on every wiki, that expired
// before t (an attempt expiring at t itself stays) and returns how many.
// It implements commands.LinkStore.
func (db *DB) PruneLinkAttempts(ctx context.Context, t time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, pruneLinkAttemptsSQL, msUTC(t))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune link attempts: %w", err)
	}
	return tag.RowsAffected(), nil
}

const (
	// lockLinkMailsSQL makes the TakeLinkMail of replicas take turns: the
	// mode conflicts with itself, so a second transaction waits at it
	// until the first commits, then reads the mail the first added. Plain
	// reads of the table are not held up.
	lockLinkMailsSQL = `LOCK TABLE link_mails IN SHARE ROW EXCLUSIVE MODE`
	// The mails that count against a new one: those sent within the
	// longest limit, to the account on its wiki and for the chat identity
	// on every wiki.
	linkMailsToAccountSQL = `SELECT sent FROM link_mails WHERE wiki = $1 AND wiki_user = $2 AND sent > $3`
	linkMailsForChatSQL   = `SELECT sent FROM link_mails WHERE platform = $1 AND user_id = $2 AND sent > $3`
	addLinkMailSQL        = `INSERT INTO link_mails (wiki, wiki_user, platform, user_id, sent) VALUES ($1, $2, $3, $4, $5)`
	// pruneLinkMailsSQL forgets the mails no limit counts any more.
	pruneLinkMailsSQL = `DELETE FROM link_mails WHERE sent <= $1`
)

// TakeLinkMail records m, a mail about to be sent, unless one of limits
// refuses it given the mails recorded before; a refused mail is not
// recorded. The reads and the write are one transaction that first locks
// the table against other takers, so that of replicas racing for a last
// free mail only one gets it. It forgets the mails older than the longest
// limit. It implements commands.LinkStore.
func (db *DB) TakeLinkMail(ctx context.Context, m commands.LinkMail, limits []commands.MailLimit) (commands.MailLimitHit, bool, error) {
	if err := m.Validate(limits); err != nil {
		return commands.MailLimitHit{}, false, fmt.Errorf("postgres: link mail: %w", err)
	}
	m.Wiki, m.WikiUser, m.Platform, m.UserID = storable(m.Wiki), storable(m.WikiUser), storable(m.Platform), storable(m.UserID)
	hit, taken, err := db.takeLinkMail(ctx, m, limits)
	if err != nil {
		return commands.MailLimitHit{}, false, fmt.Errorf("postgres: link mail to %s on %s for %s %s: %w", m.WikiUser, m.Wiki, m.Platform, m.UserID, err)
	}
	return hit, taken, nil
}

func (db *DB) takeLinkMail(ctx context.Context, m commands.LinkMail, limits []commands.MailLimit) (commands.MailLimitHit, bool, error) {
	since := msUTC(m.Sent.Add(-commands.MailWindow(limits)))
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return commands.MailLimitHit{}, false, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, lockLinkMailsSQL); err != nil {
		return commands.MailLimitHit{}, false, err
	}
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
	if _, err := tx.Exec(ctx, addLinkMailSQL, m.Wiki, m.WikiUser, m.Platform, m.UserID, msUTC(m.Sent)); err != nil {
		return commands.MailLimitHit{}, false, err
	}
	if _, err := tx.Exec(ctx, pruneLinkMailsSQL, since); err != nil {
		return commands.MailLimitHit{}, false, err
	}
	return commands.MailLimitHit{}, true, tx.Commit(ctx)
}

// sentTimes reads the times of the link mails a query selects.
func sentTimes(ctx context.Context, tx pgx.Tx, query string, args ...any) ([]time.Time, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	times, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	for i := range times {
		times[i] = times[i].UTC()
	}
	return times, err
}
