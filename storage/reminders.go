package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// errNoReminder is what the reminder methods return (wrapped) for a
// reminder that does not exist: it matches commands.ErrNotFound and
// commands.ErrNoReminder.
var errNoReminder = commands.NotFound(commands.ErrNoReminder)

const (
	protectionCols = `p.id, p.wiki, p.title, p.type, p.level, p.expiry_ms, p.length_ms, p.cascading, p.set_by, p.set_by_id,
	p.platform, p.channel, p.reason, p.url, p.set_ms, p.updated_ms`
	pageProtectionsSQL = `SELECT ` + protectionCols + ` FROM protections p WHERE p.wiki = ? AND p.title = ? ORDER BY p.type`
	// trackedSQL reads, for ReconcilePage, what PlanPage looks at of a
	// page's tracked protections: it matches them by type, compares
	// level and expiry, and writes by id; should it look at more, read
	// more here. It has no ORDER BY, which PlanPage does not need:
	// ordering by type made SQLite prepare the statement again on every
	// run.
	trackedSQL          = `SELECT id, type, level, expiry_ms FROM protections WHERE wiki = ? AND title = ?`
	insertProtectionSQL = `INSERT INTO protections
		(wiki, title, type, level, expiry_ms, length_ms, cascading, set_by, set_by_id, platform, channel, reason, url, set_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateProtectionSQL = `UPDATE protections SET level = ?, expiry_ms = ?, length_ms = ?, cascading = ?, set_by = ?,
		set_by_id = ?, platform = ?, channel = ?, reason = ?, url = ?, set_ms = ?, updated_ms = ? WHERE id = ?`
	cancelPendingSQL = `UPDATE reminders SET status = 'cancelled', done_ms = ? WHERE protection_id = ? AND status = 'pending'`
	// scheduleRemindersSQL schedules the reminders of a plan in one
	// statement: its argument is a JSON array with one array for each,
	// [protection id, expiry, lead, time] in milliseconds (see
	// appendSchedule), inserted in their order.
	scheduleRemindersSQL = `INSERT INTO reminders (protection_id, expiry_ms, lead_ms, remind_ms, next_ms)
		SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 3 FROM json_each(?) ORDER BY key`
	dropProtectionSQL = `DELETE FROM protections WHERE id = ?`
)

// ReconcilePage makes the tracked protections of one page of a wiki match
// want, as commands.PlanPage plans it from those tracked now, and writes
// the plan in the transaction it read them in.
func (db *DB) ReconcilePage(ctx context.Context, wiki, title string, want []commands.TrackedProtection, leads []time.Duration, now time.Time) (commands.ReconcileResult, error) {
	if wiki == "" {
		return commands.ReconcileResult{}, fmt.Errorf("storage: reconcile %q: no wiki", title)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return commands.ReconcileResult{}, fmt.Errorf("storage: reconcile %q: %w", title, err)
	}
	defer tx.Rollback()
	tracked, err := scanTracked(tx.QueryContext(ctx, trackedSQL, wiki, title))
	if err != nil {
		return commands.ReconcileResult{}, fmt.Errorf("storage: reconcile %q: %w", title, err)
	}
	plan := commands.PlanPage(wiki, title, tracked, want, leads, now)
	if plan.Empty() {
		return plan.Result, nil
	}
	if err := writePlan(ctx, tx, plan, now); err != nil {
		return commands.ReconcileResult{}, fmt.Errorf("storage: reconcile %q: %w", title, err)
	}
	if err := tx.Commit(); err != nil {
		return commands.ReconcileResult{}, fmt.Errorf("storage: reconcile %q: %w", title, err)
	}
	return plan.Result, nil
}

// scanTracked reads the rows of trackedSQL and closes them.
func scanTracked(rows *sql.Rows, err error) ([]commands.TrackedProtection, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		out []commands.TrackedProtection
		r   struct {
			id, expiry int64
			typ, level string
		}
	)
	dest := []any{&r.id, &r.typ, &r.level, &r.expiry}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, commands.TrackedProtection{ID: r.id, Type: r.typ, Level: r.level, Expiry: time.UnixMilli(r.expiry).UTC()})
	}
	return out, rows.Err()
}

// writePlan writes a page's plan in tx: each protection, then the
// reminders of them all in one statement, then the drops.
func writePlan(ctx context.Context, tx *sql.Tx, plan commands.PagePlan, now time.Time) error {
	var buf [512]byte // the reminders of a few protections, on the stack
	schedule := append(buf[:0], '[')
	for _, t := range plan.Track {
		p := t.Protection
		if p.ID == 0 {
			res, err := tx.ExecContext(ctx, insertProtectionSQL, p.Wiki, p.Title, p.Type, p.Level, p.Expiry.UnixMilli(), p.Length.Milliseconds(), p.Cascade,
				p.SetBy, p.SetByID, p.Platform, p.Channel, p.Reason, p.URL, p.SetAt.UnixMilli(), p.Updated.UnixMilli())
			if err != nil {
				return fmt.Errorf("track %s: %w", p.Type, err)
			}
			if p.ID, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("track %s: %w", p.Type, err)
			}
		} else {
			if _, err := tx.ExecContext(ctx, updateProtectionSQL, p.Level, p.Expiry.UnixMilli(), p.Length.Milliseconds(), p.Cascade, p.SetBy, p.SetByID,
				p.Platform, p.Channel, p.Reason, p.URL, p.SetAt.UnixMilli(), p.Updated.UnixMilli(), p.ID); err != nil {
				return fmt.Errorf("update %s: %w", p.Type, err)
			}
			if _, err := tx.ExecContext(ctx, cancelPendingSQL, now.UnixMilli(), p.ID); err != nil {
				return fmt.Errorf("cancel %s: %w", p.Type, err)
			}
		}
		schedule = appendSchedule(schedule, p, t.Reminders)
	}
	if len(schedule) > 1 {
		if _, err := tx.ExecContext(ctx, scheduleRemindersSQL, string(append(schedule, ']'))); err != nil {
			return fmt.Errorf("schedule: %w", err)
		}
	}
	for _, id := range plan.Drop {
		if _, err := tx.ExecContext(ctx, dropProtectionSQL, id); err != nil {
			return fmt.Errorf("drop protection %d: %w", id, err)
		}
	}
	return nil
}

// appendSchedule appends to b, an open JSON array, the reminders of p for
// scheduleRemindersSQL, each [protection id, expiry, lead, time].
func appendSchedule(b []byte, p commands.TrackedProtection, slots []commands.ReminderSlot) []byte {
	for _, s := range slots {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, p.ID, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, p.Expiry.UnixMilli(), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, s.Lead.Milliseconds(), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, s.At.UnixMilli(), 10)
		b = append(b, ']')
	}
	return b
}

// protectionDest returns scan destinations for protectionCols and a
// function that converts what was scanned into p.
func protectionDest(p *commands.TrackedProtection) ([]any, func()) {
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

// scanProtections reads the rows of a query for protectionCols.
func scanProtections(rows *sql.Rows, err error) ([]commands.TrackedProtection, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commands.TrackedProtection
	for rows.Next() {
		var p commands.TrackedProtection
		dest, done := protectionDest(&p)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		done()
		out = append(out, p)
	}
	return out, rows.Err()
}

// PageProtections returns the tracked protections of a page of a wiki.
func (db *DB) PageProtections(ctx context.Context, wiki, title string) ([]commands.TrackedProtection, error) {
	ps, err := scanProtections(db.read.QueryContext(ctx, pageProtectionsSQL, wiki, title))
	if err != nil {
		return nil, fmt.Errorf("storage: protections of %q on %s: %w", title, wiki, err)
	}
	return ps, nil
}

// ExpiringProtections returns the tracked protections of a wiki (of every
// wiki when wiki is "") that expire after from and no later than until,
// soonest first, at most limit of them, and how many there are in all.
func (db *DB) ExpiringProtections(ctx context.Context, wiki string, from, until time.Time, limit int) ([]commands.TrackedProtection, int, error) {
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
		(SELECT MIN(r.next_ms) FROM reminders r WHERE r.protection_id = p.id AND r.status = 'pending'),
		(SELECT MAX(r.id) FROM reminders r WHERE r.protection_id = p.id AND r.expiry_ms = p.expiry_ms)
		FROM protections p WHERE `+where+`
		ORDER BY p.expiry_ms, p.wiki, p.title, p.type LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: expiring protections: %w", err)
	}
	defer rows.Close()
	var out []commands.TrackedProtection
	for rows.Next() {
		var p commands.TrackedProtection
		var next, id sql.NullInt64
		dest, done := protectionDest(&p)
		if err := rows.Scan(append(dest, &p.Dismissed, &next, &id)...); err != nil {
			return nil, 0, fmt.Errorf("storage: expiring protections: %w", err)
		}
		done()
		p.ReminderID = id.Int64
		if next.Valid {
			p.NextReminder = time.UnixMilli(next.Int64).UTC()
		}
		out = append(out, p)
	}
	return out, total, rows.Err()
}

const reminderCols = `r.id, r.expiry_ms, r.lead_ms, r.remind_ms, r.status, r.attempts, r.recovered, r.delivered, ` + protectionCols

func scanReminder(rows interface{ Scan(...any) error }) (commands.Reminder, error) {
	var (
		r                      commands.Reminder
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

// Reminder returns one reminder with its protection, or an error matching
// commands.ErrNotFound and commands.ErrNoReminder.
func (db *DB) Reminder(ctx context.Context, id int64) (commands.Reminder, error) {
	row := db.read.QueryRowContext(ctx, `SELECT `+reminderCols+` FROM reminders r JOIN protections p ON p.id = r.protection_id WHERE r.id = ?`, id)
	r, err := scanReminder(row)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("storage: reminder %d: %w", id, errNoReminder)
	}
	if err != nil {
		return r, fmt.Errorf("storage: reminder %d: %w", id, err)
	}
	return r, nil
}

// PageReminders returns every reminder of the tracked protections of a
// page of a wiki, oldest first, for tests and diagnostics.
func (db *DB) PageReminders(ctx context.Context, wiki, title string) ([]commands.Reminder, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+reminderCols+` FROM reminders r JOIN protections p ON p.id = r.protection_id
		WHERE p.wiki = ? AND p.title = ? ORDER BY r.id`, wiki, title)
	if err != nil {
		return nil, fmt.Errorf("storage: reminders of %q on %s: %w", title, wiki, err)
	}
	defer rows.Close()
	var out []commands.Reminder
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

// ClaimedReminders returns the reminders claim holds, on every wiki, with
// their protections, in the order they were scheduled.
func (db *DB) ClaimedReminders(ctx context.Context, claim int64) ([]commands.Reminder, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+reminderCols+` FROM reminders r JOIN protections p ON p.id = r.protection_id
		WHERE r.claim = ? ORDER BY r.id`, claim)
	if err != nil {
		return nil, fmt.Errorf("storage: claimed reminders: %w", err)
	}
	defer rows.Close()
	var out []commands.Reminder
	for rows.Next() {
		r, err := scanReminder(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: claimed reminders: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
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
		// Each row's protection by its key: reading every protection the
		// wiki tracks made the call as slow as the wiki is big.
		filter, args = " AND EXISTS (SELECT 1 FROM protections p WHERE p.id = reminders.protection_id AND p.wiki = ?)", []any{wiki}
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
// "") with the given ids (nil: all of them) back as pending after a failed
// send, to be tried again when b.Retry says, and records the error and the
// channels it did reach. Those b.Retry gives up on are marked failed
// instead; RetryLater returns how many.
func (db *DB) RetryLater(ctx context.Context, claim int64, wiki string, ids []int64, now time.Time, b commands.ReminderBackoff, sendErr string, delivered []string) (int, error) {
	if ids != nil && len(ids) == 0 {
		return 0, nil
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("storage: retry: %w", err)
	}
	defer tx.Rollback()
	filter, args := claimFilter(wiki, ids)
	// The reminders that have failed as often are retried alike: one
	// update for each number of failures, usually one in all.
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT attempts FROM reminders WHERE claim = ? AND status = 'claimed'`+filter,
		append([]any{claim}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("storage: retry: %w", err)
	}
	var failures []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return 0, fmt.Errorf("storage: retry: %w", err)
		}
		failures = append(failures, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("storage: retry: %w", err)
	}
	var gaveUp int
	for _, n := range failures {
		next, last := b.Retry(n, now)
		status, done := commands.ReminderPending, sql.NullInt64{}
		if last {
			status, done = commands.ReminderFailed, sql.NullInt64{Int64: now.UnixMilli(), Valid: true}
		}
		// Released, a row no longer matches claim: the next update does
		// not take it for one that had failed once more.
		res, err := tx.ExecContext(ctx, `UPDATE reminders SET status = ?, done_ms = ?, next_ms = ?,
			attempts = attempts + 1, last_error = ?, delivered = ?, claim = NULL
			WHERE claim = ? AND status = 'claimed' AND attempts = ?`+filter,
			append([]any{status, done, next.UnixMilli(), sendErr, strings.Join(delivered, ","), claim, n}, args...)...)
		if err != nil {
			return 0, fmt.Errorf("storage: retry: %w", err)
		}
		if last {
			k, _ := res.RowsAffected()
			gaveUp += int(k)
		}
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

// RecoverStaleClaims puts back as pending, marked recovered, the reminders
// claimed before olderThan (and any claimed at no known time), and returns
// how many: those of a process that died, or hung, while sending them,
// taken over by another sharing the database. Claims made at or after
// olderThan are left to the tick holding them. Call it with olderThan a
// lease before now, the lease longer than any tick holds its claim.
func (db *DB) RecoverStaleClaims(ctx context.Context, olderThan time.Time) (int, error) {
	res, err := db.write.ExecContext(ctx, `UPDATE reminders SET status = 'pending', claim = NULL, recovered = 1
		WHERE status = 'claimed' AND (claimed_ms IS NULL OR claimed_ms < ?)`, olderThan.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("storage: recover stale claims: %w", err)
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
func (db *DB) DismissReminders(ctx context.Context, id int64, by string, now time.Time) (commands.Reminder, int, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return commands.Reminder{}, 0, fmt.Errorf("storage: dismiss: %w", err)
	}
	defer tx.Rollback()
	r, err := scanReminder(tx.QueryRowContext(ctx, `SELECT `+reminderCols+` FROM reminders r JOIN protections p ON p.id = r.protection_id WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, 0, fmt.Errorf("storage: dismiss reminder %d: %w", id, errNoReminder)
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
