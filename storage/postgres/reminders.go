package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wikimod/wikimod/commands"
)

// The reminders' protections, reminders and state are shared by the
// replicas sharing the database: any of them may reconcile a page, and
// each tick claims what is due without waiting for the others.

// errNoReminder is what the reminder methods return (wrapped) for a
// reminder that does not exist: it matches commands.ErrNotFound and
// commands.ErrNoReminder, as the SQLite backend's does.
var errNoReminder = commands.NotFound(commands.ErrNoReminder)

// pageLock is the first key of the advisory locks ReconcilePage takes, one
// a page: "remi" in ASCII. The two-key locks are apart from the one-key
// lock Open migrates under.
const pageLock int32 = 0x72656d69

const (
	protectionCols = `p.id, p.wiki, p.title, p.type, p.level, p.expiry, p.length_ms, p.cascading, p.set_by, p.set_by_id,
		p.platform, p.channel, p.reason, p.url, p.set_at, p.updated`
	// pageProtectionsSQL reads the protections of a page. ReconcilePage
	// reads them FOR UPDATE, so that a prune running at the same time
	// waits for it rather than deleting a row it is about to update.
	pageProtectionsSQL = `SELECT ` + protectionCols + ` FROM protections p WHERE p.wiki = $1 AND p.title = $2 ORDER BY p.type COLLATE "C"`

	// insertProtectionSQL tracks a protection and schedules its reminders
	// ($16, $17: their lead times and when they go out), in one statement.
	insertProtectionSQL = `WITH p AS (
		INSERT INTO protections (wiki, title, type, level, expiry, length_ms, cascading, set_by, set_by_id, platform, channel,
			reason, url, set_at, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		RETURNING id, expiry)
	INSERT INTO reminders (protection_id, expiry, lead_ms, remind_at, next_at)
	SELECT p.id, p.expiry, s.lead_ms, s.at, s.at FROM p, unnest($16::bigint[], $17::timestamptz[]) WITH ORDINALITY AS s (lead_ms, at, n)
	ORDER BY s.n`
	// updateProtectionSQL changes a tracked protection, cancels its
	// pending reminders and schedules new ones ($15, $16), in one
	// statement. Its parts see the same snapshot: the cancel does not see
	// the reminders the insert adds.
	updateProtectionSQL = `WITH p AS (
		UPDATE protections SET level = $2, expiry = $3, length_ms = $4, cascading = $5, set_by = $6, set_by_id = $7,
			platform = $8, channel = $9, reason = $10, url = $11, set_at = $12, updated = $13
		WHERE id = $1 RETURNING id, expiry),
	cancelled AS (
		UPDATE reminders SET status = 'cancelled', done_at = $14 WHERE protection_id = $1 AND status = 'pending')
	INSERT INTO reminders (protection_id, expiry, lead_ms, remind_at, next_at)
	SELECT p.id, p.expiry, s.lead_ms, s.at, s.at FROM p, unnest($15::bigint[], $16::timestamptz[]) WITH ORDINALITY AS s (lead_ms, at, n)
	ORDER BY s.n`
	dropProtectionsSQL = `DELETE FROM protections WHERE id = ANY($1)`

	reminderCols = `r.id, r.expiry, r.lead_ms, r.remind_at, r.status, r.attempts, r.recovered, r.delivered, ` + protectionCols
	reminderSQL  = `SELECT ` + reminderCols + ` FROM reminders r JOIN protections p ON p.id = r.protection_id WHERE r.id = $1`

	// claimDueSQL claims for claim ($2) the pending reminders due at $1,
	// in one statement. SKIP LOCKED leaves the rows another replica's
	// claim is taking to it, so that two ticks never claim one reminder
	// and neither waits for the other. Of the reminders about one expiry
	// of a protection, one is superseded when another closer to the
	// expiry is claimed with it, or is claimed by another tick, or was
	// sent: it stays out of the claim. It returns how many stay claimed.
	claimDueSQL = `WITH due AS (
		SELECT id, protection_id, expiry, lead_ms FROM reminders
		WHERE status = 'pending' AND next_at <= $1
		FOR UPDATE SKIP LOCKED
	), fate AS (
		SELECT d.id, d.lead_ms > min(d.lead_ms) OVER (PARTITION BY d.protection_id, d.expiry)
			OR EXISTS (SELECT 1 FROM reminders c WHERE c.protection_id = d.protection_id AND c.status IN ('claimed', 'sent')
				AND c.expiry = d.expiry AND c.lead_ms < d.lead_ms) AS superseded
		FROM due d
	), done AS (
		UPDATE reminders r SET
			status = CASE WHEN f.superseded THEN 'superseded' ELSE 'claimed' END,
			claim = CASE WHEN f.superseded THEN NULL ELSE $2::bigint END,
			claimed_at = $1,
			done_at = CASE WHEN f.superseded THEN $1::timestamptz END
		FROM fate f WHERE r.id = f.id
		RETURNING r.status
	)
	SELECT count(*) FILTER (WHERE status = 'claimed') FROM done`

	// claimFilter narrows the reminders r of a claim to a wiki's ($3, off
	// when '') and to the given ids ($4, off when NULL). The claim's index
	// finds its few rows; the filter is read on them.
	// Each row's protection is found by its key: reading every protection
	// the wiki tracks made the call as slow as the wiki is big.
	claimFilter = `($3 = '' OR EXISTS (SELECT 1 FROM protections p WHERE p.id = r.protection_id AND p.wiki = $3)) AND ($4::bigint[] IS NULL OR r.id = ANY($4))`

	// markSentSQL marks delivered and releases the reminders of claim $2
	// that claimFilter selects, and supersedes the pending reminders about
	// the same expiries that were meant to go out earlier.
	markSentSQL = `WITH sent AS (
		UPDATE reminders r SET status = 'sent', done_at = $1, last_error = '', claim = NULL
		WHERE r.claim = $2 AND r.status = 'claimed' AND ` + claimFilter + `
		RETURNING r.protection_id, r.expiry, r.lead_ms)
	UPDATE reminders r SET status = 'superseded', done_at = $1
	FROM sent s WHERE r.protection_id = s.protection_id AND r.status = 'pending' AND r.expiry = s.expiry AND r.lead_ms > s.lead_ms`

	// retryAttemptsSQL reads how often the reminders RetryLater releases
	// have failed: those of claim $1 on wiki $2 ('' for every wiki) with
	// ids $3 (NULL for all), as claimFilter selects them.
	retryAttemptsSQL = `SELECT DISTINCT r.attempts FROM reminders r WHERE r.claim = $1 AND r.status = 'claimed'
		AND ($2 = '' OR EXISTS (SELECT 1 FROM protections p WHERE p.id = r.protection_id AND p.wiki = $2)) AND ($3::bigint[] IS NULL OR r.id = ANY($3))`
	// retrySQL releases the reminders of claim $2 that claimFilter
	// selects, each as what Backoff.Retry said for its number of failures:
	// $6 lists those numbers, $7, $8 and $9 the status, next attempt and
	// end (NULL unless failed) for each. $1 is the error, $5 the channels
	// the send reached.
	retrySQL = `UPDATE reminders r SET status = f.status, next_at = f.next_at, done_at = f.done_at, attempts = r.attempts + 1,
		last_error = $1, delivered = $5, claim = NULL
	FROM unnest($6::integer[], $7::text[], $8::timestamptz[], $9::timestamptz[]) AS f (attempts, status, next_at, done_at)
	WHERE r.claim = $2 AND r.status = 'claimed' AND r.attempts = f.attempts AND ` + claimFilter + `
	RETURNING r.status`
)

// ReconcilePage makes the tracked protections of one page of a wiki match
// want, as commands.PlanPage plans it from those tracked now, and writes
// the plan in the transaction it read them in. The transaction holds an
// advisory lock on the page, so that replicas reconciling one page at once
// (a /protect on one, the protect log's sync on another) take turns: each
// plans from what the one before wrote.
func (db *DB) ReconcilePage(ctx context.Context, wiki, title string, want []commands.TrackedProtection, leads []time.Duration, now time.Time) (commands.ReconcileResult, error) {
	if wiki == "" {
		return commands.ReconcileResult{}, fmt.Errorf("postgres: reconcile %q: no wiki", title)
	}
	wiki, title = storable(wiki), storable(title)
	want = storableProtections(want)
	var result commands.ReconcileResult
	err := db.retry(ctx, func() error {
		return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, pageLock, pageKey(wiki, title)); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			rows, _ := tx.Query(ctx, pageProtectionsSQL+` FOR UPDATE OF p`, wiki, title)
			tracked, err := collectProtections(rows)
			if err != nil {
				return err
			}
			plan := commands.PlanPage(wiki, title, tracked, want, leads, now)
			result = plan.Result
			if plan.Empty() {
				return nil
			}
			return writePlan(ctx, tx, plan, now)
		})
	})
	if err != nil {
		return commands.ReconcileResult{}, fmt.Errorf("postgres: reconcile %q: %w", title, err)
	}
	return result, nil
}

// pageKey is the second key of a page's advisory lock: a hash of its wiki
// and title. Two pages with one hash merely take turns.
func pageKey(wiki, title string) int32 {
	h := fnv.New32a()
	h.Write([]byte(wiki))
	h.Write([]byte{0})
	h.Write([]byte(title))
	return int32(h.Sum32())
}

// storableProtections returns ps with their text made storable, so that
// what PlanPage compares with what was read is what was written.
func storableProtections(ps []commands.TrackedProtection) []commands.TrackedProtection {
	out := make([]commands.TrackedProtection, len(ps))
	for i, p := range ps {
		for _, s := range []*string{&p.Wiki, &p.Title, &p.Type, &p.Level, &p.SetBy, &p.SetByID, &p.Platform, &p.Channel, &p.Reason, &p.URL} {
			*s = storable(*s)
		}
		out[i] = p
	}
	return out
}

// writePlan writes a page's plan in tx, in one round trip: one statement
// for each protection to track, with its reminders, and one for those to
// drop.
func writePlan(ctx context.Context, tx pgx.Tx, plan commands.PagePlan, now time.Time) error {
	b := &pgx.Batch{}
	for _, t := range plan.Track {
		p := t.Protection
		leads := make([]int64, len(t.Reminders))
		at := make([]time.Time, len(t.Reminders))
		for i, s := range t.Reminders {
			leads[i], at[i] = s.Lead.Milliseconds(), msUTC(s.At)
		}
		if p.ID == 0 {
			b.Queue(insertProtectionSQL, p.Wiki, p.Title, p.Type, p.Level, msUTC(p.Expiry), p.Length.Milliseconds(), p.Cascade,
				p.SetBy, p.SetByID, p.Platform, p.Channel, p.Reason, p.URL, msUTC(p.SetAt), msUTC(p.Updated), leads, at)
		} else {
			b.Queue(updateProtectionSQL, p.ID, p.Level, msUTC(p.Expiry), p.Length.Milliseconds(), p.Cascade, p.SetBy, p.SetByID,
				p.Platform, p.Channel, p.Reason, p.URL, msUTC(p.SetAt), msUTC(p.Updated), msUTC(now), leads, at)
		}
	}
	if len(plan.Drop) > 0 {
		b.Queue(dropProtectionsSQL, plan.Drop)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// protectionDest returns scan destinations for protectionCols and a
// function that converts what was scanned into p.
func protectionDest(p *commands.TrackedProtection) ([]any, func()) {
	var length int64
	dest := []any{&p.ID, &p.Wiki, &p.Title, &p.Type, &p.Level, &p.Expiry, &length, &p.Cascade, &p.SetBy, &p.SetByID,
		&p.Platform, &p.Channel, &p.Reason, &p.URL, &p.SetAt, &p.Updated}
	return dest, func() {
		p.Expiry, p.SetAt, p.Updated = p.Expiry.UTC(), p.SetAt.UTC(), p.Updated.UTC()
		p.Length = time.Duration(length) * time.Millisecond
	}
}

// collectProtections reads rows of protectionCols and closes them.
func collectProtections(rows pgx.Rows) ([]commands.TrackedProtection, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (commands.TrackedProtection, error) {
		var p commands.TrackedProtection
		dest, done := protectionDest(&p)
		err := row.Scan(dest...)
		done()
		return p, err
	})
}

// PageProtections returns the tracked protections of a page of a wiki, in
// the order of their types.
func (db *DB) PageProtections(ctx context.Context, wiki, title string) ([]commands.TrackedProtection, error) {
	rows, _ := db.pool.Query(ctx, pageProtectionsSQL, storable(wiki), storable(title))
	ps, err := collectProtections(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: protections of %q on %s: %w", title, wiki, err)
	}
	return ps, nil
}

// ExpiringProtections returns the tracked protections of a wiki (of every
// wiki when wiki is "") that expire after from and no later than until,
// soonest first (then by wiki, title and type, compared byte by byte as
// SQLite compares them), at most limit of them (no limit when it is
// negative, as in SQLite), with Dismissed and NextReminder filled in, and
// how many there are in all.
func (db *DB) ExpiringProtections(ctx context.Context, wiki string, from, until time.Time, limit int) ([]commands.TrackedProtection, int, error) {
	// Two spellings rather than ($4 = '' OR p.wiki = $4), which a generic
	// plan could not read protections_wiki_expiry for.
	where, args := `p.expiry > $1 AND p.expiry <= $2`, []any{msUTC(from), msUTC(until)}
	if wiki != "" {
		where, args = where+` AND p.wiki = $3`, append(args, storable(wiki))
	}
	var total int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM protections p WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("postgres: expiring protections: %w", err)
	}
	var lim *int64
	if limit >= 0 {
		l := int64(limit)
		lim = &l
	}
	rows, _ := db.pool.Query(ctx, `SELECT `+protectionCols+`,
		EXISTS (SELECT 1 FROM reminders r WHERE r.protection_id = p.id AND r.status = 'dismissed' AND r.expiry = p.expiry),
		(SELECT min(r.next_at) FROM reminders r WHERE r.protection_id = p.id AND r.status = 'pending'),
		(SELECT max(r.id) FROM reminders r WHERE r.protection_id = p.id AND r.expiry = p.expiry)
		FROM protections p WHERE `+where+`
		ORDER BY p.expiry, p.wiki COLLATE "C", p.title COLLATE "C", p.type COLLATE "C" LIMIT $`+fmt.Sprint(len(args)+1),
		append(args, lim)...)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (commands.TrackedProtection, error) {
		var (
			p    commands.TrackedProtection
			next *time.Time
			id   *int64
		)
		dest, done := protectionDest(&p)
		if err := row.Scan(append(dest, &p.Dismissed, &next, &id)...); err != nil {
			return p, err
		}
		done()
		if id != nil {
			p.ReminderID = *id
		}
		if next != nil {
			p.NextReminder = next.UTC()
		}
		return p, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: expiring protections: %w", err)
	}
	return out, int(total), nil
}

// scanReminder reads a row of reminderCols.
func scanReminder(row pgx.Row) (commands.Reminder, error) {
	var (
		r         commands.Reminder
		lead      int64
		delivered []string
	)
	dest, done := protectionDest(&r.Protection)
	if err := row.Scan(append([]any{&r.ID, &r.Expiry, &lead, &r.RemindAt, &r.Status, &r.Attempts, &r.Recovered, &delivered}, dest...)...); err != nil {
		return r, err
	}
	done()
	if len(delivered) > 0 {
		r.Delivered = delivered
	}
	r.Expiry, r.RemindAt = r.Expiry.UTC(), r.RemindAt.UTC()
	r.Lead = time.Duration(lead) * time.Millisecond
	return r, nil
}

// collectReminders reads rows of reminderCols and closes them.
func collectReminders(rows pgx.Rows) ([]commands.Reminder, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (commands.Reminder, error) { return scanReminder(row) })
}

// Reminder returns one reminder with its protection, or an error matching
// commands.ErrNotFound and commands.ErrNoReminder.
func (db *DB) Reminder(ctx context.Context, id int64) (commands.Reminder, error) {
	r, err := scanReminder(db.pool.QueryRow(ctx, reminderSQL, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("postgres: reminder %d: %w", id, errNoReminder)
	}
	if err != nil {
		return r, fmt.Errorf("postgres: reminder %d: %w", id, err)
	}
	return r, nil
}

// PageReminders returns every reminder of the tracked protections of a
// page of a wiki, oldest first, for tests and diagnostics.
func (db *DB) PageReminders(ctx context.Context, wiki, title string) ([]commands.Reminder, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+reminderCols+` FROM reminders r JOIN protections p ON p.id = r.protection_id
		WHERE p.wiki = $1 AND p.title = $2 ORDER BY r.id`, storable(wiki), storable(title))
	out, err := collectReminders(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: reminders of %q on %s: %w", title, wiki, err)
	}
	return out, nil
}

// ClaimDue claims, for the tick identified by claim, every pending
// reminder due at now, on every wiki, and returns how many it claimed. It
// is one statement that waits for no other: rows another replica is
// claiming at that moment are its. Where several reminders about one
// expiry of a protection are due at once (after downtime), only the one
// closest to the expiry is kept; the others are marked superseded, as is
// one due while a reminder closer to its expiry is claimed by another
// tick or was sent. The claimed reminders, stamped with now, must then be
// marked sent, retried or released; those whose replica stopped are taken
// over by RecoverStaleClaims, or by RecoverClaimed where one process runs.
//
// Two replicas claiming at the very same moment may each take some of one
// page's reminders: a page may then get two messages where one process
// would have sent one.
func (db *DB) ClaimDue(ctx context.Context, now time.Time, claim int64) (int, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, claimDueSQL, msUTC(now), claim).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: claim: %w", err)
	}
	return int(n), nil
}

// ClaimedReminders returns the reminders claim holds, on every wiki, with
// their protections, in the order they were scheduled.
func (db *DB) ClaimedReminders(ctx context.Context, claim int64) ([]commands.Reminder, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+reminderCols+` FROM reminders r JOIN protections p ON p.id = r.protection_id
		WHERE r.claim = $1 ORDER BY r.id`, claim)
	out, err := collectReminders(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: claimed reminders: %w", err)
	}
	return out, nil
}

// idsArg is ids as claimFilter's $4: NULL for nil, every reminder.
func idsArg(ids []int64) any {
	if ids == nil {
		return nil
	}
	return ids
}

// MarkSent records that the reminders of claim on wiki (every wiki when
// wiki is "") with the given ids (nil: all of them) were delivered, and
// releases them. Pending reminders about the same expiries that were meant
// to go out earlier are superseded: the moderators have heard. A reminder
// the claim no longer holds (RecoverStaleClaims took it over) is left as
// it is.
func (db *DB) MarkSent(ctx context.Context, claim int64, wiki string, ids []int64, now time.Time) error {
	if ids != nil && len(ids) == 0 {
		return nil
	}
	err := db.retry(ctx, func() error {
		_, err := db.pool.Exec(ctx, markSentSQL, msUTC(now), claim, storable(wiki), idsArg(ids))
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: mark sent: %w", err)
	}
	return nil
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
	wiki = storable(wiki)
	// The reminders that have failed as often are retried alike. Only this
	// claim changes its reminders' attempts, so the numbers read here are
	// still theirs when the update runs; a reminder released meanwhile
	// (taken over) is no longer the claim's and is left alone.
	rows, _ := db.pool.Query(ctx, retryAttemptsSQL, claim, wiki, idsArg(ids))
	failures, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return 0, fmt.Errorf("postgres: retry: %w", err)
	}
	if len(failures) == 0 {
		return 0, nil
	}
	var (
		statuses = make([]string, len(failures))
		next     = make([]time.Time, len(failures))
		done     = make([]*time.Time, len(failures))
	)
	for i, n := range failures {
		at, last := b.Retry(int(n), now)
		statuses[i], next[i] = commands.ReminderPending, msUTC(at)
		if last {
			end := msUTC(now)
			statuses[i], done[i] = commands.ReminderFailed, &end
		}
	}
	reached := make([]string, len(delivered))
	for i, c := range delivered {
		reached[i] = storable(c)
	}
	var gaveUp int
	err = db.retry(ctx, func() error {
		rows, _ := db.pool.Query(ctx, retrySQL, storable(sendErr), claim, wiki, idsArg(ids), reached,
			failures, statuses, next, done)
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		gaveUp = 0
		for _, s := range got {
			if s == commands.ReminderFailed {
				gaveUp++
			}
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: retry: %w", err)
	}
	return gaveUp, nil
}

// ReleaseClaim puts every reminder still claimed by claim back as pending,
// unchanged, for a tick that stopped before sending them.
func (db *DB) ReleaseClaim(ctx context.Context, claim int64) error {
	err := db.retry(ctx, func() error {
		_, err := db.pool.Exec(ctx, `UPDATE reminders SET status = 'pending', claim = NULL, claimed_at = NULL
			WHERE claim = $1 AND status = 'claimed'`, claim)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: release claim: %w", err)
	}
	return nil
}

// RecoverClaimed puts back as pending, marked recovered, every claimed
// reminder, and returns how many: for one wikimod alone on the database,
// at start-up, before its first tick. They are sent again: one may have
// gone out before the stop, but none is lost. With replicas it would take
// the live claims of the others: they use RecoverStaleClaims.
func (db *DB) RecoverClaimed(ctx context.Context) (int, error) {
	return db.execCount(ctx, "recover claimed reminders", `UPDATE reminders SET status = 'pending', claim = NULL, claimed_at = NULL, recovered = true
		WHERE status = 'claimed'`)
}

// RecoverStaleClaims puts back as pending, marked recovered, the reminders
// claimed before olderThan (and any claimed at no known time), and returns
// how many: those of a replica that died, or hung, while sending them.
// Claims made at or after olderThan are left to the tick holding them.
// Call it with olderThan a lease before now, the lease longer than any
// tick holds its claim: a tick still sending after that may find its
// reminders taken over, and one may go out twice (it is marked Recovered).
func (db *DB) RecoverStaleClaims(ctx context.Context, olderThan time.Time) (int, error) {
	return db.execCount(ctx, "recover stale claims", `UPDATE reminders SET status = 'pending', claim = NULL, claimed_at = NULL, recovered = true
		WHERE status = 'claimed' AND (claimed_at IS NULL OR claimed_at < $1)`, msUTC(olderThan))
}

// execCount runs one statement that changes rows, again after a deadlock,
// and returns how many rows it changed.
func (db *DB) execCount(ctx context.Context, what, query string, args ...any) (int, error) {
	var n int64
	err := db.retry(ctx, func() error {
		tag, err := db.pool.Exec(ctx, query, args...)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return int(n), nil
}

// DueReminders counts the pending reminders due at now.
func (db *DB) DueReminders(ctx context.Context, now time.Time) (int, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM reminders WHERE status = 'pending' AND next_at <= $1`,
		msUTC(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: due reminders: %w", err)
	}
	return int(n), nil
}

// DismissReminders dismisses the pending reminders about the expiry that
// reminder id is about: those of every protection of its page, on its
// wiki, expiring at that time. It returns the reminder and how many were
// dismissed, or an error matching commands.ErrNotFound and
// commands.ErrNoReminder.
func (db *DB) DismissReminders(ctx context.Context, id int64, by string, now time.Time) (commands.Reminder, int, error) {
	var (
		r commands.Reminder
		n int64
	)
	err := db.retry(ctx, func() error {
		return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			var err error
			if r, err = scanReminder(tx.QueryRow(ctx, reminderSQL, id)); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `UPDATE reminders SET status = 'dismissed', done_at = $1, done_by = $2
				WHERE status = 'pending' AND expiry = $3 AND protection_id IN (
					SELECT id FROM protections WHERE wiki = $4 AND title = $5 AND expiry = $3)`,
				msUTC(now), storable(by), r.Expiry, r.Protection.Wiki, r.Protection.Title)
			n = tag.RowsAffected()
			return err
		})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return r, 0, fmt.Errorf("postgres: dismiss reminder %d: %w", id, errNoReminder)
	}
	if err != nil {
		return r, 0, fmt.Errorf("postgres: dismiss: %w", err)
	}
	return r, int(n), nil
}

// PruneProtections drops protections, on every wiki, that expired before
// the given time and have nothing left to send, with their reminders.
func (db *DB) PruneProtections(ctx context.Context, before time.Time) (int, error) {
	return db.execCount(ctx, "prune protections", `DELETE FROM protections p WHERE p.expiry < $1 AND NOT EXISTS (
		SELECT 1 FROM reminders r WHERE r.protection_id = p.id AND r.status IN ('pending', 'claimed'))`, msUTC(before))
}

// ReminderState returns a named value the reminders keep about a wiki,
// such as its protect log sync's cursor; "" if it was never set.
func (db *DB) ReminderState(ctx context.Context, wiki, key string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, `SELECT value FROM reminder_state WHERE wiki = $1 AND key = $2`, storable(wiki), storable(key)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: reminder state %s of %s: %w", key, wiki, err)
	}
	return v, nil
}

// SetReminderState sets a named value about a wiki.
func (db *DB) SetReminderState(ctx context.Context, wiki, key, value string) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO reminder_state (wiki, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (wiki, key) DO UPDATE SET value = excluded.value`, storable(wiki), storable(key), storable(value)); err != nil {
		return fmt.Errorf("postgres: set reminder state %s of %s: %w", key, wiki, err)
	}
	return nil
}

// PostgreSQL's codes for a transaction it aborted so that others could go
// on, which running it again from the start resolves.
const (
	codeDeadlock      = "40P01" // deadlock_detected
	codeSerialization = "40001" // serialization_failure
)

// retry runs fn, which runs one statement or one transaction, and runs it
// again, up to three times in all, when PostgreSQL aborted it for a
// deadlock. Writes that lock several reminders (a supersede, a dismissal,
// a reconcile's cancel, a prune's cascade) can meet in opposite orders
// when replicas run them at once; PostgreSQL then aborts one of them, and
// the rows are free when it runs again.
func (db *DB) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		var pgErr *pgconn.PgError
		if attempt < 3 && errors.As(err, &pgErr) && (pgErr.Code == codeDeadlock || pgErr.Code == codeSerialization) && ctx.Err() == nil {
			continue
		}
		return err
	}
}
