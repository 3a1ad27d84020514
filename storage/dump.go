package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// The rows a copy moves (wikimod storage copy) are the domain's
// (commands.DumpBatch and its rows), which both backends dump and
// restore. The names below stay for the callers that build a SQLite
// database's rows.
type (
	// Batch is some rows, as Dump hands them over and Restore writes
	// them; see commands.DumpBatch.
	Batch = commands.DumpBatch
	// AuditRow is one record of the audit log, as stored.
	AuditRow = commands.AuditRow
)

// DumpBatchRows bounds the rows of a Batch; see commands.DumpBatchRows.
const DumpBatchRows = commands.DumpBatchRows

var _ commands.DumpFunc = (*DB)(nil).Dump

// Dump reads every durable row (see commands.DumpBatch) in one read
// transaction, a consistent snapshot even while wikimod writes, and hands
// them to yield a batch at a time. It is a commands.DumpFunc.
func (db *DB) Dump(ctx context.Context, yield func(commands.DumpBatch) error) error {
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storage: dump: %w", err)
	}
	defer tx.Rollback()
	tables := []struct {
		name string
		dump func(context.Context, *sql.Tx, func(commands.DumpBatch) error) error
	}{
		{"audit", dumpAudit},
		{"links", dumpLinks},
		{"protections", dumpProtections},
		{"reminders", dumpReminders},
		{"reminder_state", dumpReminderState},
		{"security_counts", dumpSecurityCounts},
		{"storage_state", dumpStorageState},
		{"languages", dumpLanguages},
		{"alerts", dumpAlerts},
		{"alert_cursors", dumpAlertCursors},
	}
	for _, t := range tables {
		if err := t.dump(ctx, tx, yield); err != nil {
			return fmt.Errorf("storage: dump %s: %w", t.name, err)
		}
	}
	return nil
}

// dumpQuery runs query in tx and hands its rows over in batches: scan reads
// one row, wrap makes a commands.DumpBatch of a slice of them. Each batch is
// a new slice, so that yield may keep it.
func dumpQuery[T any](ctx context.Context, tx *sql.Tx, query string, scan func(*sql.Rows) (T, error), wrap func([]T) commands.DumpBatch, yield func(commands.DumpBatch) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	batch := make([]T, 0, commands.DumpBatchRows)
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return err
		}
		batch = append(batch, r)
		if len(batch) == commands.DumpBatchRows {
			if err := yield(wrap(batch)); err != nil {
				return err
			}
			batch = make([]T, 0, commands.DumpBatchRows)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return yield(wrap(batch))
	}
	return nil
}

// ms is a time stored in milliseconds since the epoch, as a time in UTC.
func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullMS is a nullable time in milliseconds; NULL is the zero time.
func nullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return ms(v.Int64)
}

// msOrNull is t in milliseconds, or NULL for the zero time.
func msOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func dumpAudit(ctx context.Context, tx *sql.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT id, time_ms, wiki, platform, user_id, user_name, wiki_user, channel, command, args,
		outcome, code, result, duration_us, owner FROM audit ORDER BY id`,
		func(rows *sql.Rows) (commands.AuditRow, error) {
			var (
				r       commands.AuditRow
				at, dur int64
				result  sql.NullString
			)
			err := rows.Scan(&r.ID, &at, &r.Wiki, &r.Platform, &r.UserID, &r.UserName, &r.WikiUser, &r.Channel, &r.Command,
				&r.Args, &r.Outcome, &r.Code, &result, &dur, &r.Owner)
			r.Time, r.Duration = ms(at), time.Duration(dur)*time.Microsecond
			if result.Valid {
				r.Result = &result.String
			}
			return r, err
		}, func(b []commands.AuditRow) commands.DumpBatch { return commands.DumpBatch{Audit: b} }, yield)
}

func dumpLinks(ctx context.Context, tx *sql.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT wiki, platform, user_id, wiki_user, method, linked_ms FROM links ORDER BY wiki, platform, user_id`,
		func(rows *sql.Rows) (commands.LinkRow, error) {
			var (
				r      commands.LinkRow
				linked int64
			)
			err := rows.Scan(&r.Wiki, &r.Platform, &r.UserID, &r.WikiUser, &r.Method, &linked)
			r.Linked = ms(linked)
			return r, err
		}, func(b []commands.LinkRow) commands.DumpBatch { return commands.DumpBatch{Links: b} }, yield)
}

func dumpProtections(ctx context.Context, tx *sql.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT id, wiki, title, type, level, expiry_ms, length_ms, cascading, set_by, set_by_id,
		platform, channel, reason, url, set_ms, updated_ms FROM protections ORDER BY id`,
		func(rows *sql.Rows) (commands.ProtectionRow, error) {
			var (
				r                            commands.ProtectionRow
				expiry, length, set, updated int64
			)
			err := rows.Scan(&r.ID, &r.Wiki, &r.Title, &r.Type, &r.Level, &expiry, &length, &r.Cascade, &r.SetBy, &r.SetByID,
				&r.Platform, &r.Channel, &r.Reason, &r.URL, &set, &updated)
			r.Expiry, r.Length, r.SetAt, r.Updated = ms(expiry), time.Duration(length)*time.Millisecond, ms(set), ms(updated)
			return r, err
		}, func(b []commands.ProtectionRow) commands.DumpBatch { return commands.DumpBatch{Protections: b} }, yield)
}

func dumpReminders(ctx context.Context, tx *sql.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT id, protection_id, expiry_ms, lead_ms, remind_ms, next_ms, status, attempts, claim,
		claimed_ms, recovered, last_error, delivered, done_ms, done_by FROM reminders ORDER BY id`,
		func(rows *sql.Rows) (commands.ReminderRow, error) {
			var (
				r                          commands.ReminderRow
				expiry, lead, remind, next int64
				claim, claimedAt, doneAt   sql.NullInt64
				delivered                  string
			)
			err := rows.Scan(&r.ID, &r.ProtectionID, &expiry, &lead, &remind, &next, &r.Status, &r.Attempts, &claim,
				&claimedAt, &r.Recovered, &r.LastError, &delivered, &doneAt, &r.DoneBy)
			r.Expiry, r.Lead, r.RemindAt, r.Next = ms(expiry), time.Duration(lead)*time.Millisecond, ms(remind), ms(next)
			r.Claim, r.ClaimedAt, r.DoneAt = claim.Int64, nullMS(claimedAt), nullMS(doneAt)
			if delivered != "" {
				r.Delivered = strings.Split(delivered, ",")
			}
			return r, err
		}, func(b []commands.ReminderRow) commands.DumpBatch { return commands.DumpBatch{Reminders: b} }, yield)
}

func dumpReminderState(ctx context.Context, tx *sql.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT wiki, key, value FROM reminder_state ORDER BY wiki, key`,
		func(rows *sql.Rows) (commands.ReminderStateRow, error) {
			var r commands.ReminderStateRow
			return r, rows.Scan(&r.Wiki, &r.Key, &r.Value)
		}, func(b []commands.ReminderStateRow) commands.DumpBatch { return commands.DumpBatch{ReminderState: b} }, yield)
}

func dumpSecurityCounts(ctx context.Context, tx *sql.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT minute_ms, platform, kind, source, count, detail FROM security_counts
		ORDER BY minute_ms, platform, kind, source`,
		func(rows *sql.Rows) (commands.SecurityRow, error) {
			var (
				r      commands.SecurityRow
				minute int64
			)
			err := rows.Scan(&minute, &r.Platform, &r.Kind, &r.Source, &r.Count, &r.Detail)
			r.Minute = ms(minute)
			return r, err
		}, func(b []commands.SecurityRow) commands.DumpBatch { return commands.DumpBatch{SecurityCounts: b} }, yield)
}

func dumpStorageState(ctx context.Context, tx *sql.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT key, value FROM storage_state ORDER BY key`,
		func(rows *sql.Rows) (commands.StorageStateRow, error) {
			var r commands.StorageStateRow
			return r, rows.Scan(&r.Key, &r.Value)
		}, func(b []commands.StorageStateRow) commands.DumpBatch { return commands.DumpBatch{StorageState: b} }, yield)
}

func dumpLanguages(ctx context.Context, tx *sql.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT platform, user_id, lang, updated_ms FROM languages ORDER BY platform, user_id`,
		func(rows *sql.Rows) (commands.LanguageRow, error) {
			var (
				r       commands.LanguageRow
				updated int64
			)
			err := rows.Scan(&r.Platform, &r.UserID, &r.Lang, &updated)
			r.Updated = ms(updated)
			return r, err
		}, func(b []commands.LanguageRow) commands.DumpBatch { return commands.DumpBatch{Languages: b} }, yield)
}

// Restore writes what dump hands over into this database, which must hold no
// row in any table it writes (commands.DumpedTables): otherwise it returns
// an error wrapping commands.ErrNotEmpty, naming the tables, and writes
// nothing. It writes in one transaction, holding the database's write lock:
// a failure anywhere leaves the database as it was. Ids are kept; SQLite
// numbers new rows after the highest id, so they do not collide with copied
// ones.
func (db *DB) Restore(ctx context.Context, dump commands.DumpFunc) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	defer tx.Rollback()
	if err := checkEmpty(ctx, tx); err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	w, err := prepareRestore(ctx, tx)
	if err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	defer w.close()
	if err := dump(ctx, func(b commands.DumpBatch) error { return w.write(ctx, b) }); err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	return nil
}

// checkEmpty returns an error wrapping commands.ErrNotEmpty that names the
// tables of commands.DumpedTables holding rows, and how many, if any does.
func checkEmpty(ctx context.Context, tx *sql.Tx) error {
	var full []string
	for _, t := range commands.DumpedTables {
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return fmt.Errorf("count %s: %w", t, err)
		}
		if n > 0 {
			full = append(full, fmt.Sprintf("%s (%d)", t, n))
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: it holds rows in %s", commands.ErrNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

// restoreWriter holds Restore's insert statements, prepared in its
// transaction.
type restoreWriter struct {
	audit, links, protections, reminders, state, security, storageState, languages, alerts, alertCursors *sql.Stmt
}

func prepareRestore(ctx context.Context, tx *sql.Tx) (*restoreWriter, error) {
	w := &restoreWriter{}
	for _, s := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&w.audit, `INSERT INTO audit (id, time_ms, wiki, platform, user_id, user_name, wiki_user, channel, command, args,
			outcome, code, result, duration_us, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.links, `INSERT INTO links (wiki, platform, user_id, wiki_user, method, linked_ms) VALUES (?, ?, ?, ?, ?, ?)`},
		{&w.protections, `INSERT INTO protections (id, wiki, title, type, level, expiry_ms, length_ms, cascading, set_by,
			set_by_id, platform, channel, reason, url, set_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.reminders, `INSERT INTO reminders (id, protection_id, expiry_ms, lead_ms, remind_ms, next_ms, status, attempts,
			claim, claimed_ms, recovered, last_error, delivered, done_ms, done_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.state, `INSERT INTO reminder_state (wiki, key, value) VALUES (?, ?, ?)`},
		{&w.security, `INSERT INTO security_counts (minute_ms, platform, kind, source, count, detail) VALUES (?, ?, ?, ?, ?, ?)`},
		{&w.storageState, `INSERT INTO storage_state (key, value) VALUES (?, ?)`},
		{&w.languages, `INSERT INTO languages (platform, user_id, lang, updated_ms) VALUES (?, ?, ?, ?)`},
		{&w.alerts, `INSERT INTO alerts (` + alertCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.alertCursors, `INSERT INTO alert_cursors (wiki, stream, value) VALUES (?, ?, ?)`},
	} {
		stmt, err := tx.PrepareContext(ctx, s.query)
		if err != nil {
			w.close()
			return nil, err
		}
		*s.stmt = stmt
	}
	return w, nil
}

func (w *restoreWriter) close() {
	for _, s := range []*sql.Stmt{w.audit, w.links, w.protections, w.reminders, w.state, w.security, w.storageState, w.languages,
		w.alerts, w.alertCursors} {
		if s != nil {
			s.Close()
		}
	}
}

// write inserts the rows of b, table by table in commands.DumpBatch's order.
func (w *restoreWriter) write(ctx context.Context, b commands.DumpBatch) error {
	for _, r := range b.Audit {
		var result any
		if r.Result != nil {
			result = *r.Result
		}
		if _, err := w.audit.ExecContext(ctx, r.ID, r.Time.UnixMilli(), r.Wiki, r.Platform, r.UserID, r.UserName, r.WikiUser,
			r.Channel, r.Command, r.Args, r.Outcome, r.Code, result, r.Duration.Microseconds(), r.Owner); err != nil {
			return fmt.Errorf("audit %d: %w", r.ID, err)
		}
	}
	for _, r := range b.Links {
		if _, err := w.links.ExecContext(ctx, r.Wiki, r.Platform, r.UserID, r.WikiUser, r.Method, r.Linked.UnixMilli()); err != nil {
			return fmt.Errorf("link %s %s on %s: %w", r.Platform, r.UserID, r.Wiki, err)
		}
	}
	for _, r := range b.Protections {
		if _, err := w.protections.ExecContext(ctx, r.ID, r.Wiki, r.Title, r.Type, r.Level, r.Expiry.UnixMilli(), r.Length.Milliseconds(),
			r.Cascade, r.SetBy, r.SetByID, r.Platform, r.Channel, r.Reason, r.URL, r.SetAt.UnixMilli(), r.Updated.UnixMilli()); err != nil {
			return fmt.Errorf("protection %d: %w", r.ID, err)
		}
	}
	for _, r := range b.Reminders {
		var claim any
		if r.Claim != 0 {
			claim = r.Claim
		}
		if _, err := w.reminders.ExecContext(ctx, r.ID, r.ProtectionID, r.Expiry.UnixMilli(), r.Lead.Milliseconds(), r.RemindAt.UnixMilli(),
			r.Next.UnixMilli(), r.Status, r.Attempts, claim, msOrNull(r.ClaimedAt), r.Recovered, r.LastError,
			strings.Join(r.Delivered, ","), msOrNull(r.DoneAt), r.DoneBy); err != nil {
			return fmt.Errorf("reminder %d: %w", r.ID, err)
		}
	}
	for _, r := range b.ReminderState {
		if _, err := w.state.ExecContext(ctx, r.Wiki, r.Key, r.Value); err != nil {
			return fmt.Errorf("reminder state %s of %s: %w", r.Key, r.Wiki, err)
		}
	}
	for _, r := range b.SecurityCounts {
		if _, err := w.security.ExecContext(ctx, r.Minute.UnixMilli(), r.Platform, r.Kind, r.Source, r.Count, r.Detail); err != nil {
			return fmt.Errorf("security count: %w", err)
		}
	}
	for _, r := range b.StorageState {
		if _, err := w.storageState.ExecContext(ctx, r.Key, r.Value); err != nil {
			return fmt.Errorf("storage state %s: %w", r.Key, err)
		}
	}
	for _, r := range b.Languages {
		if _, err := w.languages.ExecContext(ctx, r.Platform, r.UserID, r.Lang, r.Updated.UnixMilli()); err != nil {
			return fmt.Errorf("language of %s %s: %w", r.Platform, r.UserID, err)
		}
	}
	for _, r := range b.Alerts {
		if _, err := w.alerts.ExecContext(ctx, r.ID, r.Wiki, r.Title, r.Started.UnixMilli(), r.LastSeen.UnixMilli(), r.Raised.UnixMilli(),
			r.Rule, r.Reverts, names(r.Editors), names(r.Reverters), r.AbuseHits, names(r.AbuseUsers), names(r.Filters), r.Posted,
			names(r.Delivered), r.Attempts, r.Action, r.ActClaim, r.ActedBy, r.ActedName, msOrZeroMS(r.ActedAt), r.ActDone, r.ActDetail,
			msOrZeroMS(r.ActUpdated)); err != nil {
			return fmt.Errorf("alert %d: %w", r.ID, err)
		}
	}
	for _, r := range b.AlertCursors {
		if _, err := w.alertCursors.ExecContext(ctx, r.Wiki, r.Stream, r.Value); err != nil {
			return fmt.Errorf("alert cursor %s of %s: %w", r.Stream, r.Wiki, err)
		}
	}
	return nil
}
