package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The statuses of a reminder.
const (
	ReminderPending    = "pending"    // waiting for its time (or its next attempt)
	ReminderClaimed    = "claimed"    // a tick is sending it
	ReminderSent       = "sent"       // delivered
	ReminderFailed     = "failed"     // every attempt failed
	ReminderCancelled  = "cancelled"  // the protection changed; new reminders replace it
	ReminderDismissed  = "dismissed"  // a moderator dismissed it
	ReminderSuperseded = "superseded" // a reminder closer to the expiry went out instead
)

// ErrNotFound is returned for a row that does not exist (any more).
var ErrNotFound = errors.New("storage: not found")

// TrackedProtection is a finite protection wikimod knows of, to remind the
// moderators before it expires.
type TrackedProtection struct {
	ID int64
	// Wiki names the wiki the page is on (commands.Wiki.Name): the same
	// title on two wikis is two pages.
	Wiki   string
	Title  string
	Type   string // edit, move, create, upload
	Level  string
	Expiry time.Time
	// Length is how long the protection was set for, which an extension
	// adds again; zero if unknown.
	Length  time.Duration
	Cascade bool
	// SetBy names who set it: a chat user's name, or the wiki user's for a
	// protection set on the wiki directly (Platform "wiki").
	SetBy    string
	SetByID  string
	Platform string
	Channel  string // where it was set from
	Reason   string
	URL      string // the page on the wiki
	SetAt    time.Time
	Updated  time.Time

	// Filled in by ExpiringProtections only.
	Dismissed    bool      // a moderator dismissed its reminders
	NextReminder time.Time // zero when none is pending
}

// Reminder is one message to send about a protection's expiry. Its wiki
// is its protection's (Protection.Wiki).
type Reminder struct {
	ID         int64
	Protection TrackedProtection
	Expiry     time.Time     // the expiry it is about
	Lead       time.Duration // how long before the expiry; 0 at expiry
	RemindAt   time.Time     // when it is meant to go out
	Status     string
	Attempts   int  // failed sends so far
	Recovered  bool // it was being sent when wikimod stopped
	// Delivered names the notice channels it reached on an attempt that
	// failed on another channel; a retry skips them.
	Delivered []string
}

// ReminderGroup is the reminders due together about one page of one wiki:
// each protection type of the page that expires at the same time, at the
// same lead time. One message covers a group; a group never mixes wikis.
type ReminderGroup struct {
	Wiki      string
	Title     string
	Expiry    time.Time
	Lead      time.Duration
	Reminders []Reminder
}

// Backoff says when to try a failed send again: after Base, doubling with
// each failure up to Max, and not after Attempts failures.
type Backoff struct {
	Base     time.Duration
	Max      time.Duration
	Attempts int
}

// ReconcileResult counts what ReconcilePage changed.
type ReconcileResult struct {
	Added, Changed, Removed, Unchanged int
}

// ReconcilePage makes the tracked protections of one page of a wiki match
// want: the page's finite protections as they are now, on that wiki. A new protection
// is tracked and its reminders scheduled; one whose level or expiry changed
// gets want's details and fresh reminders (pending ones are cancelled); one
// no longer in want is dropped with its reminders, unless it has expired,
// so that its reminder at expiry still goes out. Reminders are scheduled at
// each lead time before the expiry, except those already past, and at the
// expiry itself. An unchanged protection keeps its details.
func (db *DB) ReconcilePage(ctx context.Context, wiki, title string, want []TrackedProtection, leads []time.Duration, now time.Time) (ReconcileResult, error) {
	var res ReconcileResult
	if wiki == "" {
		return res, fmt.Errorf("storage: reconcile %q: no wiki", title)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("storage: reconcile %q: %w", title, err)
	}
	defer tx.Rollback()
	existing, err := pageProtections(ctx, tx, wiki, title)
	if err != nil {
		return res, fmt.Errorf("storage: reconcile %q: %w", title, err)
	}
	byType := make(map[string]TrackedProtection, len(existing))
	for _, p := range existing {
		byType[p.Type] = p
	}
	seen := map[string]bool{}
	for _, w := range want {
		w.Wiki, w.Title = wiki, title
		seen[w.Type] = true
		old, ok := byType[w.Type]
		switch {
		case ok && old.Level == w.Level && old.Expiry.UnixMilli() == w.Expiry.UnixMilli():
			res.Unchanged++
			continue
		case ok:
			w.ID = old.ID
			if err := updateProtection(ctx, tx, w, now); err != nil {
				return res, fmt.Errorf("storage: reconcile %q: %w", title, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE reminders SET status = 'cancelled', done_ms = ?
				WHERE protection_id = ? AND status = 'pending'`, now.UnixMilli(), old.ID); err != nil {
				return res, fmt.Errorf("storage: reconcile %q: cancel: %w", title, err)
			}
			res.Changed++
		default:
			if w.ID, err = insertProtection(ctx, tx, w, now); err != nil {
				return res, fmt.Errorf("storage: reconcile %q: %w", title, err)
			}
			res.Added++
		}
		if err := scheduleReminders(ctx, tx, w.ID, w.Expiry, leads, now); err != nil {
			return res, fmt.Errorf("storage: reconcile %q: %w", title, err)
		}
	}
	for _, old := range existing {
		if seen[old.Type] || !old.Expiry.After(now) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM protections WHERE id = ?`, old.ID); err != nil {
			return res, fmt.Errorf("storage: reconcile %q: drop %s: %w", title, old.Type, err)
		}
		res.Removed++
	}
	return res, tx.Commit()
}

const protectionCols = `p.id, p.wiki, p.title, p.type, p.level, p.expiry_ms, p.length_ms, p.cascading, p.set_by, p.set_by_id,
	p.platform, p.channel, p.reason, p.url, p.set_ms, p.updated_ms`

// protectionDest returns scan destinations for protectionCols and a
// function that converts what was scanned into p.
func protectionDest(p *TrackedProtection) ([]any, func()) {
	var expiry, length, set, updated int64
	dest := []any{&p.ID, &p.Wiki, &p.Title, &p.Type, &p.Level, &expiry, &length, &p.Cascade, &p.SetBy, &p.SetByID,
		&p.Platform, &p.Channel, &p.Reason, &p.URL, &set, &updated}
	return dest, func() {
		p.Expiry = time.UnixMilli(expiry).UTC()
		p.Length = time.Duration(length) * time.Millisecond
		p.SetAt = time.UnixMilli(set).UTC()
		p.Updated = time.UnixMilli(updated).UTC()
	}
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func pageProtections(ctx context.Context, q querier, wiki, title string) ([]TrackedProtection, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+protectionCols+` FROM protections p WHERE p.wiki = ? AND p.title = ? ORDER BY p.type`, wiki, title)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TrackedProtection
	for rows.Next() {
		var p TrackedProtection
		dest, done := protectionDest(&p)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		done()
		out = append(out, p)
	}
	return out, rows.Err()
}

func insertProtection(ctx context.Context, tx *sql.Tx, p TrackedProtection, now time.Time) (int64, error) {
	setAt := p.SetAt
	if setAt.IsZero() {
		setAt = now
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO protections
		(wiki, title, type, level, expiry_ms, length_ms, cascading, set_by, set_by_id, platform, channel, reason, url, set_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.Wiki, p.Title, p.Type, p.Level, p.Expiry.UnixMilli(), p.Length.Milliseconds(), p.Cascade, p.SetBy, p.SetByID,
		p.Platform, p.Channel, p.Reason, p.URL, setAt.UnixMilli(), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("track %s: %w", p.Type, err)
	}
	return res.LastInsertId()
}

func updateProtection(ctx context.Context, tx *sql.Tx, p TrackedProtection, now time.Time) error {
	setAt := p.SetAt
	if setAt.IsZero() {
		setAt = now
	}
	_, err := tx.ExecContext(ctx, `UPDATE protections SET level = ?, expiry_ms = ?, length_ms = ?, cascading = ?, set_by = ?,
		set_by_id = ?, platform = ?, channel = ?, reason = ?, url = ?, set_ms = ?, updated_ms = ? WHERE id = ?`,
		p.Level, p.Expiry.UnixMilli(), p.Length.Milliseconds(), p.Cascade, p.SetBy, p.SetByID, p.Platform, p.Channel,
		p.Reason, p.URL, setAt.UnixMilli(), now.UnixMilli(), p.ID)
	if err != nil {
		return fmt.Errorf("update %s: %w", p.Type, err)
	}
	return nil
}

func scheduleReminders(ctx context.Context, tx *sql.Tx, protectionID int64, expiry time.Time, leads []time.Duration, now time.Time) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO reminders (protection_id, expiry_ms, lead_ms, remind_ms, next_ms) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	defer stmt.Close()
	done := map[time.Duration]bool{}
	for _, lead := range append([]time.Duration{0}, leads...) {
		if lead < 0 || done[lead] {
			continue
		}
		done[lead] = true
		at := expiry.Add(-lead)
		if lead > 0 && at.Before(now) {
			continue // set for less than the lead time: that warning is moot
		}
		if _, err := stmt.ExecContext(ctx, protectionID, expiry.UnixMilli(), lead.Milliseconds(), at.UnixMilli(), at.UnixMilli()); err != nil {
			return fmt.Errorf("schedule: %w", err)
		}
	}
	return nil
}

// PageProtections returns the tracked protections of a page of a wiki.
func (db *DB) PageProtections(ctx context.Context, wiki, title string) ([]TrackedProtection, error) {
	ps, err := pageProtections(ctx, db.read, wiki, title)
	if err != nil {
		return nil, fmt.Errorf("storage: protections of %q on %s: %w", title, wiki, err)
	}
	return ps, nil
}

// ExpiringProtections returns the tracked protections of a wiki (of every
// wiki when wiki is "") that expire after from and no later than until,
// soonest first, at most limit of them, and how many there are in all.
func (db *DB) ExpiringProtections(ctx context.Context, wiki string, from, until time.Time, limit int) ([]TrackedProtection, int, error) {
	// Two spellings rather than (? = '' OR p.wiki = ?), which would keep
	// SQLite from reading protections_wiki_expiry for one wiki.
	where, args := `p.expiry_ms > ? AND p.expiry_ms <= ?`, []any{from.UnixMilli(), until.UnixMilli()}
	if wiki != "" {
		where, args = `p.wiki = ? AND `+where, append([]any{wiki}, args...)
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM protections p WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("storage: expiring protections: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+protectionCols+`,
		EXISTS (SELECT 1 FROM reminders r WHERE r.protection_id = p.id AND r.status = 'dismissed' AND r.expiry_ms = p.expiry_ms),
		(SELECT MIN(r.next_ms) FROM reminders r WHERE r.protection_id = p.id AND r.status = 'pending')
		FROM protections p WHERE `+where+`
		ORDER BY p.expiry_ms, p.wiki, p.title, p.type LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: expiring protections: %w", err)
	}
	defer rows.Close()
	var out []TrackedProtection
	for rows.Next() {
		var p TrackedProtection
		var next sql.NullInt64
		dest, done := protectionDest(&p)
		if err := rows.Scan(append(dest, &p.Dismissed, &next)...); err != nil {
			return nil, 0, fmt.Errorf("storage: expiring protections: %w", err)
		}
		done()
		if next.Valid {
			p.NextReminder = time.UnixMilli(next.Int64).UTC()
		}
		out = append(out, p)
	}
	return out, total, rows.Err()
}

const reminderCols = `r.id, r.expiry_ms, r.lead_ms, r.remind_ms, r.status, r.attempts, r.recovered, r.delivered, ` + protectionCols

func scanReminder(rows interface{ Scan(...any) error }) (Reminder, error) {
	var (
		r                      Reminder
		expiry, lead, remindAt int64
		delivered              string
	)
	dest, done := protectionDest(&r.Protection)
	if err := rows.Scan(append([]any{&r.ID, &expiry, &lead, &remindAt, &r.Status, &r.Attempts, &r.Recovered, &delivered}, dest...)...); err != nil {
		return r, err
	}
	done()
	if delivered != "" {
		r.Delivered = strings.Split(delivered, ",")
	}
	r.Expiry = time.UnixMilli(expiry).UTC()
	r.Lead = time.Duration(lead) * time.Millisecond
	r.RemindAt = time.UnixMilli(remindAt).UTC()
	return r, nil
}

// Reminder returns one reminder with its protection, or ErrNotFound.
func (db *DB) Reminder(ctx context.Context, id int64) (Reminder, error) {
	row := db.read.QueryRowContext(ctx, `SELECT `+reminderCols+` FROM reminders r JOIN protections p ON p.id = r.protection_id WHERE r.id = ?`, id)
	r, err := scanReminder(row)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("storage: reminder %d: %w", id, err)
	}
	return r, nil
}

// PageReminders returns every reminder of the tracked protections of a
// page of a wiki, oldest first, for tests and diagnostics.
func (db *DB) PageReminders(ctx context.Context, wiki, title string) ([]Reminder, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+reminderCols+` FROM reminders r JOIN protections p ON p.id = r.protection_id
		WHERE p.wiki = ? AND p.title = ? ORDER BY r.id`, wiki, title)
	if err != nil {
		return nil, fmt.Errorf("storage: reminders of %q on %s: %w", title, wiki, err)
	}
	defer rows.Close()
	var out []Reminder
	for rows.Next() {
		r, err := scanReminder(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: reminders of %q: %w", title, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ClaimDue claims, for the tick identified by claim, every pending reminder
// due at now, on every wiki, and returns how many it claimed. Where several reminders of
// one protection are due at once (after downtime), only the one closest to
// the expiry is kept; the others are marked superseded. The claimed
// reminders must then be marked sent, retried or released; any still
// claimed when wikimod starts again are recovered by RecoverClaimed.
func (db *DB) ClaimDue(ctx context.Context, now time.Time, claim int64) (int, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("storage: claim: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE reminders SET status = 'claimed', claim = ?, claimed_ms = ?
		WHERE status = 'pending' AND next_ms <= ?`, claim, now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("storage: claim: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return 0, nil
	}
	// The unary + keeps SQLite from looking s up by claim, which would
	// read every claimed row for each one: by protection it reads a few.
	res, err = tx.ExecContext(ctx, `UPDATE reminders SET status = 'superseded', claim = NULL, done_ms = ?
		WHERE claim = ? AND EXISTS (SELECT 1 FROM reminders s
			WHERE s.protection_id = reminders.protection_id AND s.status = 'claimed' AND +s.claim = ?
			AND s.expiry_ms = reminders.expiry_ms AND s.lead_ms < reminders.lead_ms)`, now.UnixMilli(), claim, claim)
	if err != nil {
		return 0, fmt.Errorf("storage: claim: supersede: %w", err)
	}
	superseded, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("storage: claim: %w", err)
	}
	return int(n - superseded), nil
}

// ClaimedWiki is a wiki with claimed reminders, and how many groups
// (messages) they make.
type ClaimedWiki struct {
	Wiki   string
	Groups int
}

// ClaimedWikis returns the wikis that have reminders claimed by claim, in
// the order of their names, each with the number of groups they make.
func (db *DB) ClaimedWikis(ctx context.Context, claim int64) ([]ClaimedWiki, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT wiki, COUNT(*) FROM (
		SELECT p.wiki FROM reminders r JOIN protections p ON p.id = r.protection_id
		WHERE r.claim = ? GROUP BY p.wiki, p.title, r.expiry_ms, r.lead_ms)
		GROUP BY wiki ORDER BY wiki`, claim)
	if err != nil {
		return nil, fmt.Errorf("storage: claimed wikis: %w", err)
	}
	defer rows.Close()
	var out []ClaimedWiki
	for rows.Next() {
		var w ClaimedWiki
		if err := rows.Scan(&w.Wiki, &w.Groups); err != nil {
			return nil, fmt.Errorf("storage: claimed wikis: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// ClaimedGroups returns the reminders claimed by claim on a wiki (on every
// wiki when wiki is ""), grouped by wiki, page, expiry and lead time,
// soonest expiry first: all of them when there are at most limit groups,
// else the first limit groups. It also returns the number of groups in
// all.
func (db *DB) ClaimedGroups(ctx context.Context, claim int64, wiki string, limit int) ([]ReminderGroup, int, error) {
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM reminders r JOIN protections p ON p.id = r.protection_id
		WHERE r.claim = ? AND (? = '' OR p.wiki = ?) GROUP BY p.wiki, p.title, r.expiry_ms, r.lead_ms)`, claim, wiki, wiki).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("storage: claimed reminders: %w", err)
	}
	rowLimit := -1
	if total > limit {
		rowLimit = limit * 8 // enough for the first groups: a page has a handful of protection types
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+reminderCols+` FROM reminders r JOIN protections p ON p.id = r.protection_id
		WHERE r.claim = ? AND (? = '' OR p.wiki = ?) ORDER BY r.expiry_ms, p.wiki, p.title, r.lead_ms, p.type LIMIT ?`, claim, wiki, wiki, rowLimit)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: claimed reminders: %w", err)
	}
	defer rows.Close()
	var groups []ReminderGroup
	for rows.Next() {
		r, err := scanReminder(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("storage: claimed reminders: %w", err)
		}
		if n := len(groups); n > 0 {
			if g := &groups[n-1]; g.Wiki == r.Protection.Wiki && g.Title == r.Protection.Title && g.Expiry.Equal(r.Expiry) && g.Lead == r.Lead {
				g.Reminders = append(g.Reminders, r)
				continue
			}
		}
		if len(groups) == limit && total > limit {
			break
		}
		groups = append(groups, ReminderGroup{Wiki: r.Protection.Wiki, Title: r.Protection.Title, Expiry: r.Expiry, Lead: r.Lead, Reminders: []Reminder{r}})
	}
	return groups, total, rows.Err()
}

// claimFilter returns the conditions that narrow the reminders of a claim
// to a wiki's (none when wiki is "") and to the given ids (none when ids is
// nil), and their arguments.
func claimFilter(wiki string, ids []int64) (string, []any) {
	var (
		filter string
		args   []any
	)
	if wiki != "" {
		filter, args = " AND protection_id IN (SELECT id FROM protections WHERE wiki = ?)", []any{wiki}
	}
	if ids != nil {
		filter += " AND id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")"
		for _, id := range ids {
			args = append(args, id)
		}
	}
	return filter, args
}

// MarkSent records that the reminders of claim on wiki (every wiki when
// wiki is "") with the given ids (nil: all of them) were delivered. Pending reminders about the same expiries that
// were meant to go out earlier are superseded: the moderators have heard.
func (db *DB) MarkSent(ctx context.Context, claim int64, wiki string, ids []int64, now time.Time) error {
	if ids != nil && len(ids) == 0 {
		return nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storage: mark sent: %w", err)
	}
	defer tx.Rollback()
	filter, args := claimFilter(wiki, ids)
	if _, err := tx.ExecContext(ctx, `UPDATE reminders SET status = 'sent', done_ms = ?, last_error = ''
		WHERE claim = ? AND status = 'claimed'`+filter, append([]any{now.UnixMilli(), claim}, args...)...); err != nil {
		return fmt.Errorf("storage: mark sent: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE reminders SET status = 'superseded', done_ms = ? WHERE id IN (
		SELECT r.id FROM reminders s JOIN reminders r ON r.protection_id = s.protection_id AND r.status = 'pending'
		WHERE s.claim = ? AND s.status = 'sent' AND r.expiry_ms = s.expiry_ms AND r.lead_ms > s.lead_ms)`,
		now.UnixMilli(), claim); err != nil {
		return fmt.Errorf("storage: mark sent: supersede: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE reminders SET claim = NULL WHERE claim = ? AND status = 'sent'`, claim); err != nil {
		return fmt.Errorf("storage: mark sent: %w", err)
	}
	return tx.Commit()
}

// RetryLater puts the reminders of claim on wiki (every wiki when wiki is
// "") with the given ids (nil: all of them) back as pending after a failed send, to be tried again after the
// back-off, and records the error and the channels it did reach. Those that
// have failed b.Attempts times are marked failed instead; RetryLater returns
// how many.
func (db *DB) RetryLater(ctx context.Context, claim int64, wiki string, ids []int64, now time.Time, b Backoff, sendErr string, delivered []string) (int, error) {
	if ids != nil && len(ids) == 0 {
		return 0, nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("storage: retry: %w", err)
	}
	defer tx.Rollback()
	filter, args := claimFilter(wiki, ids)
	var gaveUp int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM reminders WHERE claim = ? AND status = 'claimed' AND attempts + 1 >= ?`+filter,
		append([]any{claim, b.Attempts}, args...)...).Scan(&gaveUp); err != nil {
		return 0, fmt.Errorf("storage: retry: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE reminders SET
		status = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE 'pending' END,
		done_ms = CASE WHEN attempts + 1 >= ? THEN ? ELSE NULL END,
		next_ms = ? + MIN(? * (1 << MIN(attempts, 30)), ?),
		attempts = attempts + 1, last_error = ?, delivered = ?, claim = NULL
		WHERE claim = ? AND status = 'claimed'`+filter,
		append([]any{b.Attempts, b.Attempts, now.UnixMilli(), now.UnixMilli(), b.Base.Milliseconds(), b.Max.Milliseconds(),
			sendErr, strings.Join(delivered, ","), claim}, args...)...); err != nil {
		return 0, fmt.Errorf("storage: retry: %w", err)
	}
	return gaveUp, tx.Commit()
}

// ReleaseClaim puts every reminder still claimed by claim back as pending,
// unchanged, for a tick that stopped before sending them.
func (db *DB) ReleaseClaim(ctx context.Context, claim int64) error {
	if _, err := db.write.ExecContext(ctx, `UPDATE reminders SET status = 'pending', claim = NULL
		WHERE claim = ? AND status = 'claimed'`, claim); err != nil {
		return fmt.Errorf("storage: release claim: %w", err)
	}
	return nil
}

// RecoverClaimed puts back as pending, marked recovered, every reminder
// left claimed by a process that stopped in the middle of sending it. Call
// it at start-up, before the first tick. They are sent again: one may have
// gone out before the stop, but none is lost.
func (db *DB) RecoverClaimed(ctx context.Context) (int, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE reminders SET status = 'pending', claim = NULL, recovered = 1 WHERE status = 'claimed'`)
	if err != nil {
		return 0, fmt.Errorf("storage: recover claimed reminders: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DueReminders counts the pending reminders due at now.
func (db *DB) DueReminders(ctx context.Context, now time.Time) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM reminders WHERE status = 'pending' AND next_ms <= ?`,
		now.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: due reminders: %w", err)
	}
	return n, nil
}

// DismissReminders dismisses the pending reminders about the expiry that
// reminder id is about: those of every protection of its page, on its
// wiki, expiring at that time. It returns the reminder and how many were dismissed.
func (db *DB) DismissReminders(ctx context.Context, id int64, by string, now time.Time) (Reminder, int, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return Reminder{}, 0, fmt.Errorf("storage: dismiss: %w", err)
	}
	defer tx.Rollback()
	r, err := scanReminder(tx.QueryRowContext(ctx, `SELECT `+reminderCols+` FROM reminders r JOIN protections p ON p.id = r.protection_id WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, 0, ErrNotFound
	}
	if err != nil {
		return r, 0, fmt.Errorf("storage: dismiss: %w", err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE reminders SET status = 'dismissed', done_ms = ?, done_by = ?
		WHERE status = 'pending' AND expiry_ms = ? AND protection_id IN (
			SELECT id FROM protections WHERE wiki = ? AND title = ? AND expiry_ms = ?)`,
		now.UnixMilli(), by, r.Expiry.UnixMilli(), r.Protection.Wiki, r.Protection.Title, r.Expiry.UnixMilli())
	if err != nil {
		return r, 0, fmt.Errorf("storage: dismiss: %w", err)
	}
	n, _ := res.RowsAffected()
	return r, int(n), tx.Commit()
}

// PruneProtections drops protections, on every wiki, that expired before
// the given time and have nothing left to send, with their reminders.
func (db *DB) PruneProtections(ctx context.Context, before time.Time) (int, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM protections WHERE expiry_ms < ? AND NOT EXISTS (
		SELECT 1 FROM reminders r WHERE r.protection_id = protections.id AND r.status IN ('pending', 'claimed'))`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("storage: prune protections: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ReminderState returns a named value the reminders keep about a wiki,
// such as its protect log sync's cursor; "" if it was never set. Values
// kept before wikimod served several wikis are the default wiki's.
func (db *DB) ReminderState(ctx context.Context, wiki, key string) (string, error) {
	var v string
	err := db.read.QueryRowContext(ctx, `SELECT value FROM reminder_state WHERE wiki = ? AND key = ?`, wiki, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("storage: reminder state %s of %s: %w", key, wiki, err)
	}
	return v, nil
}

// SetReminderState sets a named value about a wiki.
func (db *DB) SetReminderState(ctx context.Context, wiki, key, value string) error {
	if _, err := db.write.ExecContext(ctx, `INSERT INTO reminder_state (wiki, key, value) VALUES (?, ?, ?)
		ON CONFLICT (wiki, key) DO UPDATE SET value = excluded.value`, wiki, key, value); err != nil {
		return fmt.Errorf("storage: set reminder state %s of %s: %w", key, wiki, err)
	}
	return nil
}
