package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/commands"
)

var _ commands.DumpFunc = (*DB)(nil).Dump

// Dump reads every durable row (see commands.DumpBatch) in one read-only,
// repeatable-read transaction, a consistent snapshot even while replicas
// write, and hands them to yield a batch at a time. It is a
// commands.DumpFunc.
func (db *DB) Dump(ctx context.Context, yield func(commands.DumpBatch) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: dump: %w", err)
	}
	defer tx.Rollback(ctx)
	tables := []struct {
		name string
		dump func(context.Context, pgx.Tx, func(commands.DumpBatch) error) error
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
			return fmt.Errorf("postgres: dump %s: %w", t.name, err)
		}
	}
	return nil
}

// dumpQuery runs query in tx and hands its rows over in batches of
// commands.DumpBatchRows: scan reads one row, wrap makes a DumpBatch of a
// slice of them. Each batch is a new slice, so that yield may keep it.
func dumpQuery[T any](ctx context.Context, tx pgx.Tx, query string, scan func(pgx.Rows) (T, error), wrap func([]T) commands.DumpBatch, yield func(commands.DumpBatch) error) error {
	rows, err := tx.Query(ctx, query)
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

// utc is *t in UTC, or the zero time for NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// timeOrNull is t as stored, or NULL for the zero time.
func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return msUTC(t)
}

func dumpAudit(ctx context.Context, tx pgx.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT `+auditCols+` FROM audit ORDER BY id`,
		func(rows pgx.Rows) (commands.AuditRow, error) {
			var (
				r   commands.AuditRow
				dur int64
			)
			err := rows.Scan(&r.ID, &r.Time, &r.Wiki, &r.Platform, &r.UserID, &r.UserName, &r.WikiUser, &r.Channel, &r.Command,
				&r.Args, &r.Outcome, &r.Code, &r.Result, &dur, &r.Owner)
			r.Time, r.Duration = r.Time.UTC(), time.Duration(dur)*time.Microsecond
			return r, err
		}, func(b []commands.AuditRow) commands.DumpBatch { return commands.DumpBatch{Audit: b} }, yield)
}

func dumpLinks(ctx context.Context, tx pgx.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT wiki, platform, user_id, wiki_user, method, linked FROM links
		ORDER BY wiki COLLATE "C", platform COLLATE "C", user_id COLLATE "C"`,
		func(rows pgx.Rows) (commands.LinkRow, error) {
			var r commands.LinkRow
			err := rows.Scan(&r.Wiki, &r.Platform, &r.UserID, &r.WikiUser, &r.Method, &r.Linked)
			r.Linked = r.Linked.UTC()
			return r, err
		}, func(b []commands.LinkRow) commands.DumpBatch { return commands.DumpBatch{Links: b} }, yield)
}

func dumpProtections(ctx context.Context, tx pgx.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT id, wiki, title, type, level, expiry, length_ms, cascading, set_by, set_by_id,
		platform, channel, reason, url, set_at, updated FROM protections ORDER BY id`,
		func(rows pgx.Rows) (commands.ProtectionRow, error) {
			var (
				r      commands.ProtectionRow
				length int64
			)
			err := rows.Scan(&r.ID, &r.Wiki, &r.Title, &r.Type, &r.Level, &r.Expiry, &length, &r.Cascade, &r.SetBy, &r.SetByID,
				&r.Platform, &r.Channel, &r.Reason, &r.URL, &r.SetAt, &r.Updated)
			r.Expiry, r.SetAt, r.Updated = r.Expiry.UTC(), r.SetAt.UTC(), r.Updated.UTC()
			r.Length = time.Duration(length) * time.Millisecond
			return r, err
		}, func(b []commands.ProtectionRow) commands.DumpBatch { return commands.DumpBatch{Protections: b} }, yield)
}

func dumpReminders(ctx context.Context, tx pgx.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT id, protection_id, expiry, lead_ms, remind_at, next_at, status, attempts, claim,
		claimed_at, recovered, last_error, delivered, done_at, done_by FROM reminders ORDER BY id`,
		func(rows pgx.Rows) (commands.ReminderRow, error) {
			var (
				r                 commands.ReminderRow
				lead              int64
				attempts          int32
				claim             *int64
				claimedAt, doneAt *time.Time
			)
			err := rows.Scan(&r.ID, &r.ProtectionID, &r.Expiry, &lead, &r.RemindAt, &r.Next, &r.Status, &attempts, &claim,
				&claimedAt, &r.Recovered, &r.LastError, &r.Delivered, &doneAt, &r.DoneBy)
			r.Expiry, r.RemindAt, r.Next = r.Expiry.UTC(), r.RemindAt.UTC(), r.Next.UTC()
			r.Lead, r.Attempts = time.Duration(lead)*time.Millisecond, int(attempts)
			if claim != nil {
				r.Claim = *claim
			}
			r.ClaimedAt, r.DoneAt = utc(claimedAt), utc(doneAt)
			if len(r.Delivered) == 0 {
				r.Delivered = nil
			}
			return r, err
		}, func(b []commands.ReminderRow) commands.DumpBatch { return commands.DumpBatch{Reminders: b} }, yield)
}

func dumpReminderState(ctx context.Context, tx pgx.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT wiki, key, value FROM reminder_state ORDER BY wiki COLLATE "C", key COLLATE "C"`,
		func(rows pgx.Rows) (commands.ReminderStateRow, error) {
			var r commands.ReminderStateRow
			return r, rows.Scan(&r.Wiki, &r.Key, &r.Value)
		}, func(b []commands.ReminderStateRow) commands.DumpBatch { return commands.DumpBatch{ReminderState: b} }, yield)
}

func dumpSecurityCounts(ctx context.Context, tx pgx.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT minute, platform, kind, source, count, detail FROM security_counts
		ORDER BY minute, platform COLLATE "C", kind COLLATE "C", source COLLATE "C"`,
		func(rows pgx.Rows) (commands.SecurityRow, error) {
			var r commands.SecurityRow
			err := rows.Scan(&r.Minute, &r.Platform, &r.Kind, &r.Source, &r.Count, &r.Detail)
			r.Minute = r.Minute.UTC()
			return r, err
		}, func(b []commands.SecurityRow) commands.DumpBatch { return commands.DumpBatch{SecurityCounts: b} }, yield)
}

func dumpStorageState(ctx context.Context, tx pgx.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT key, value FROM storage_state ORDER BY key COLLATE "C"`,
		func(rows pgx.Rows) (commands.StorageStateRow, error) {
			var r commands.StorageStateRow
			return r, rows.Scan(&r.Key, &r.Value)
		}, func(b []commands.StorageStateRow) commands.DumpBatch { return commands.DumpBatch{StorageState: b} }, yield)
}

func dumpLanguages(ctx context.Context, tx pgx.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT platform, user_id, lang, updated FROM languages ORDER BY platform COLLATE "C", user_id COLLATE "C"`,
		func(rows pgx.Rows) (commands.LanguageRow, error) {
			var r commands.LanguageRow
			err := rows.Scan(&r.Platform, &r.UserID, &r.Lang, &r.Updated)
			r.Updated = r.Updated.UTC()
			return r, err
		}, func(b []commands.LanguageRow) commands.DumpBatch { return commands.DumpBatch{Languages: b} }, yield)
}

// identityTables are the tables whose ids PostgreSQL numbers: after a
// restore, each one's sequence is set past the highest id copied, so that
// new rows do not collide with copied ones.
var identityTables = []string{"audit", "protections", "reminders", "alerts"}

// Restore writes what dump hands over into this database, which must hold
// no row in any table it writes (commands.DumpedTables): otherwise it
// returns an error wrapping commands.ErrNotEmpty, naming the tables, and
// writes nothing. It writes in one transaction, with COPY, and sets the
// sequences of the audit log, the protections, the reminders and the
// alerts past the ids copied; a failure anywhere leaves the database as it
// was. The
// tables are locked against writes (not reads) from the check to the
// commit, so that no wikimod started against the target meanwhile can
// slip a row in between.
func (db *DB) Restore(ctx context.Context, dump commands.DumpFunc) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(commands.DumpedTables, ", ")+` IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if err := checkEmpty(ctx, tx); err != nil {
			return err
		}
		if err := dump(ctx, func(b commands.DumpBatch) error { return restoreBatch(ctx, tx, b) }); err != nil {
			return err
		}
		for _, t := range identityTables {
			// is_called false: the next id is MAX(id) + 1, or 1 when the
			// table is empty.
			if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), COALESCE(MAX(id), 0) + 1, false) FROM `+t,
				t); err != nil {
				return fmt.Errorf("sequence of %s: %w", t, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: restore: %w", err)
	}
	return nil
}

// checkEmpty returns an error wrapping commands.ErrNotEmpty that names the
// tables of commands.DumpedTables holding rows, and how many, if any does.
func checkEmpty(ctx context.Context, tx pgx.Tx) error {
	var full []string
	for _, t := range commands.DumpedTables {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
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

// copyRows copies n rows into table's columns with COPY; row(i) gives the
// values of the i-th.
func copyRows(ctx context.Context, tx pgx.Tx, table string, columns []string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromSlice(n, func(i int) ([]any, error) { return row(i), nil }))
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	return nil
}

// restoreBatch writes the rows of b, table by table in Batch's order. Text
// is made storable, as every write here makes it: SQLite keeps bytes that
// PostgreSQL's text refuses, and one such byte must not fail the copy.
func restoreBatch(ctx context.Context, tx pgx.Tx, b commands.DumpBatch) error {
	if err := copyRows(ctx, tx, "audit", []string{"id", "at", "wiki", "platform", "user_id", "user_name", "wiki_user", "channel",
		"command", "args", "outcome", "code", "result", "duration_us", "owner"}, len(b.Audit), func(i int) []any {
		r := b.Audit[i]
		var result *string
		if r.Result != nil {
			s := storable(*r.Result)
			result = &s
		}
		return []any{r.ID, msUTC(r.Time), storable(r.Wiki), storable(r.Platform), storable(r.UserID), storable(r.UserName),
			storable(r.WikiUser), storable(r.Channel), storable(r.Command), storable(r.Args), storable(r.Outcome), storable(r.Code),
			result, r.Duration.Microseconds(), storable(r.Owner)}
	}); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "links", []string{"wiki", "platform", "user_id", "wiki_user", "method", "linked"}, len(b.Links), func(i int) []any {
		r := b.Links[i]
		return []any{storable(r.Wiki), storable(r.Platform), storable(r.UserID), storable(r.WikiUser), storable(r.Method), msUTC(r.Linked)}
	}); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "protections", []string{"id", "wiki", "title", "type", "level", "expiry", "length_ms", "cascading",
		"set_by", "set_by_id", "platform", "channel", "reason", "url", "set_at", "updated"}, len(b.Protections), func(i int) []any {
		r := b.Protections[i]
		return []any{r.ID, storable(r.Wiki), storable(r.Title), storable(r.Type), storable(r.Level), msUTC(r.Expiry), r.Length.Milliseconds(),
			r.Cascade, storable(r.SetBy), storable(r.SetByID), storable(r.Platform), storable(r.Channel), storable(r.Reason),
			storable(r.URL), msUTC(r.SetAt), msUTC(r.Updated)}
	}); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "reminders", []string{"id", "protection_id", "expiry", "lead_ms", "remind_at", "next_at", "status",
		"attempts", "claim", "claimed_at", "recovered", "last_error", "delivered", "done_at", "done_by"}, len(b.Reminders), func(i int) []any {
		r := b.Reminders[i]
		var claim any
		if r.Claim != 0 {
			claim = r.Claim
		}
		delivered := make([]string, len(r.Delivered)) // never nil: the column is NOT NULL
		for j, c := range r.Delivered {
			delivered[j] = storable(c)
		}
		return []any{r.ID, r.ProtectionID, msUTC(r.Expiry), r.Lead.Milliseconds(), msUTC(r.RemindAt), msUTC(r.Next), storable(r.Status),
			int32(r.Attempts), claim, timeOrNull(r.ClaimedAt), r.Recovered, storable(r.LastError), delivered, timeOrNull(r.DoneAt),
			storable(r.DoneBy)}
	}); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "reminder_state", []string{"wiki", "key", "value"}, len(b.ReminderState), func(i int) []any {
		r := b.ReminderState[i]
		return []any{storable(r.Wiki), storable(r.Key), storable(r.Value)}
	}); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "security_counts", []string{"minute", "platform", "kind", "source", "count", "detail"},
		len(b.SecurityCounts), func(i int) []any {
			r := b.SecurityCounts[i]
			return []any{msUTC(r.Minute), storable(r.Platform), storable(r.Kind), storable(r.Source), r.Count, storable(r.Detail)}
		}); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "storage_state", []string{"key", "value"}, len(b.StorageState), func(i int) []any {
		r := b.StorageState[i]
		return []any{storable(r.Key), r.Value}
	}); err != nil {
		return err
	}
	if err := copyRows(ctx, tx, "languages", []string{"platform", "user_id", "lang", "updated"}, len(b.Languages), func(i int) []any {
		r := b.Languages[i]
		return []any{storable(r.Platform), storable(r.UserID), storable(r.Lang), msUTC(r.Updated)}
	}); err != nil {
		return err
	}
	return restoreAlerts(ctx, tx, b)
}
