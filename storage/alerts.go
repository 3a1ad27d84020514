package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// errNoAlert is what the alert methods return (wrapped) for an alert that
// does not exist: it matches commands.ErrNotFound and commands.ErrNoAlert.
var errNoAlert = commands.NotFound(commands.ErrNoAlert)

const (
	alertCols = `id, wiki, title, started, last_ms, raised_ms, rule, reverts, editors, reverters, abuse_hits, abuse_users, filters,
		posted, delivered, attempts, action, act_claim, acted_by, acted_name, acted_ms, act_done, act_detail, act_updated_ms`
	alertCursorSQL    = `SELECT value FROM alert_cursors WHERE wiki = ? AND stream = ?`
	setAlertCursorSQL = `INSERT INTO alert_cursors (wiki, stream, value) VALUES (?, ?, ?)
		ON CONFLICT (wiki, stream) DO UPDATE SET value = excluded.value`
	latestAlertSQL = `SELECT ` + alertCols + ` FROM alerts WHERE wiki = ? AND title = ? ORDER BY last_ms DESC, id DESC LIMIT 1`
	alertByKeySQL  = `SELECT ` + alertCols + ` FROM alerts WHERE wiki = ? AND title = ? AND started = ?`
	alertByIDSQL   = `SELECT ` + alertCols + ` FROM alerts WHERE id = ?`
	insertAlertSQL = `INSERT INTO alerts (wiki, title, started, last_ms, raised_ms, rule, reverts, editors, reverters, abuse_hits,
		abuse_users, filters) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (wiki, title, started) DO NOTHING`
	mergeAlertSQL = `UPDATE alerts SET last_ms = ?, reverts = ?, editors = ?, reverters = ?, abuse_hits = ?, abuse_users = ?,
		filters = ? WHERE id = ?`
	touchAlertSQL = `UPDATE alerts SET last_ms = ? WHERE id = ? AND last_ms < ?`
	openAlertsSQL = `SELECT ` + alertCols + ` FROM alerts WHERE wiki = ? AND (last_ms >= ? OR posted = 0) ORDER BY id LIMIT ?`
	postedSQL     = `UPDATE alerts SET delivered = ?, attempts = attempts + 1, posted = posted OR ? WHERE id = ?`
	// claimAlertSQL takes an alert no action holds, or one whose action
	// was claimed before the stale time and never finished.
	claimAlertSQL = `UPDATE alerts SET action = ?, act_claim = ?, acted_by = ?, acted_name = ?, acted_ms = ?, act_done = 0,
		act_detail = '', act_updated_ms = ? WHERE id = ? AND (action = '' OR (act_done = 0 AND act_updated_ms < ?))`
	finishAlertSQL  = `UPDATE alerts SET act_done = 1, act_detail = ?, act_updated_ms = ? WHERE id = ? AND act_claim = ? AND act_done = 0`
	releaseAlertSQL = `UPDATE alerts SET action = '', act_claim = 0, acted_by = '', acted_name = '', acted_ms = 0, act_done = 0,
		act_detail = '', act_updated_ms = ? WHERE id = ? AND act_claim = ? AND act_done = 0`
	pruneAlertsSQL = `DELETE FROM alerts WHERE last_ms < ? AND (action = '' OR act_done = 1)`
)

// AlertCursor returns where the follower stopped reading a stream of a
// wiki, "" when it never read it. It implements commands.AlertStore.
func (db *DB) AlertCursor(ctx context.Context, wiki, stream string) (string, error) {
	var v string
	err := db.read.QueryRowContext(ctx, alertCursorSQL, wiki, stream).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("storage: alert cursor of %s %s: %w", wiki, stream, err)
	}
	return v, nil
}

// SetAlertCursor records where the follower stopped reading a stream of a
// wiki. It implements commands.AlertStore.
func (db *DB) SetAlertCursor(ctx context.Context, wiki, stream, value string) error {
	if err := commands.ValidateAlertCursor(wiki, stream); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, setAlertCursorSQL, wiki, stream, value); err != nil {
		return fmt.Errorf("storage: set alert cursor of %s %s: %w", wiki, stream, err)
	}
	return nil
}

// RaiseAlert records a burst of trouble on a page: the page's latest alert
// takes it when it is of the same burst (commands.SameBurst), else it is a
// new alert. The one writer connection runs one such transaction at a
// time, so processes sharing the file raise a burst once. It implements
// commands.AlertStore.
func (db *DB) RaiseAlert(ctx context.Context, a commands.Alert, quiet time.Duration) (commands.Alert, bool, error) {
	a, err := commands.ValidateAlert(a)
	if err != nil {
		return commands.Alert{}, false, fmt.Errorf("storage: %w", err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return commands.Alert{}, false, fmt.Errorf("storage: raise alert: %w", err)
	}
	defer tx.Rollback()
	out, raised, err := raiseAlert(ctx, tx, a, quiet)
	if err != nil {
		return commands.Alert{}, false, fmt.Errorf("storage: raise alert on %s %q: %w", a.Wiki, a.Title, err)
	}
	if err := tx.Commit(); err != nil {
		return commands.Alert{}, false, fmt.Errorf("storage: raise alert on %s %q: %w", a.Wiki, a.Title, err)
	}
	return out, raised, nil
}

func raiseAlert(ctx context.Context, tx *sql.Tx, a commands.Alert, quiet time.Duration) (commands.Alert, bool, error) {
	latest, err := scanAlert(tx.QueryRowContext(ctx, latestAlertSQL, a.Wiki, a.Title))
	switch {
	case err == nil && commands.SameBurst(latest, a.Started, quiet):
		return mergeAlert(ctx, tx, latest, a)
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return commands.Alert{}, false, err
	}
	res, err := tx.ExecContext(ctx, insertAlertSQL, a.Wiki, a.Title, a.Started.UnixMilli(), a.LastSeen.UnixMilli(), a.Raised.UnixMilli(),
		a.Rule, a.Reverts, names(a.Editors), names(a.Reverters), a.AbuseHits, names(a.AbuseUsers), names(a.Filters))
	if err != nil {
		return commands.Alert{}, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		// The burst's key is taken: it is that alert's.
		same, err := scanAlert(tx.QueryRowContext(ctx, alertByKeySQL, a.Wiki, a.Title, a.Started.UnixMilli()))
		if err != nil {
			return commands.Alert{}, false, err
		}
		return mergeAlert(ctx, tx, same, a)
	}
	if a.ID, err = res.LastInsertId(); err != nil {
		return commands.Alert{}, false, err
	}
	out, err := scanAlert(tx.QueryRowContext(ctx, alertByIDSQL, a.ID))
	return out, true, err
}

// mergeAlert writes into latest what a brings (commands.MergeBurst).
func mergeAlert(ctx context.Context, tx *sql.Tx, latest, a commands.Alert) (commands.Alert, bool, error) {
	m := commands.MergeBurst(latest, a)
	if _, err := tx.ExecContext(ctx, mergeAlertSQL, m.LastSeen.UnixMilli(), m.Reverts, names(m.Editors), names(m.Reverters),
		m.AbuseHits, names(m.AbuseUsers), names(m.Filters), m.ID); err != nil {
		return commands.Alert{}, false, err
	}
	return m, false, nil
}

// TouchAlert moves an alert's last trouble to lastSeen when that is
// later. It implements commands.AlertStore.
func (db *DB) TouchAlert(ctx context.Context, id int64, lastSeen time.Time) error {
	ms := lastSeen.UnixMilli()
	if _, err := db.write.ExecContext(ctx, touchAlertSQL, ms, id, ms); err != nil {
		return fmt.Errorf("storage: touch alert %d: %w", id, err)
	}
	return nil
}

// Alert returns one alert. It implements commands.AlertStore.
func (db *DB) Alert(ctx context.Context, id int64) (commands.Alert, error) {
	a, err := scanAlert(db.read.QueryRowContext(ctx, alertByIDSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return commands.Alert{}, fmt.Errorf("storage: alert %d: %w", id, errNoAlert)
	}
	if err != nil {
		return commands.Alert{}, fmt.Errorf("storage: alert %d: %w", id, err)
	}
	return a, nil
}

// OpenAlerts returns a wiki's alerts last seen at since or later, and
// those not posted yet, oldest first. It implements commands.AlertStore.
func (db *DB) OpenAlerts(ctx context.Context, wiki string, since time.Time) ([]commands.Alert, error) {
	rows, err := db.read.QueryContext(ctx, openAlertsSQL, wiki, since.UnixMilli(), commands.MaxOpenAlerts)
	if err != nil {
		return nil, fmt.Errorf("storage: open alerts of %s: %w", wiki, err)
	}
	defer rows.Close()
	var out []commands.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: open alerts of %s: %w", wiki, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: open alerts of %s: %w", wiki, err)
	}
	return out, nil
}

// MarkAlertPosted records a post of an alert. It implements
// commands.AlertStore.
func (db *DB) MarkAlertPosted(ctx context.Context, id int64, delivered []string, done bool, now time.Time) error {
	if _, err := db.write.ExecContext(ctx, postedSQL, names(delivered), done, id); err != nil {
		return fmt.Errorf("storage: mark alert %d posted: %w", id, err)
	}
	return nil
}

// ClaimAlert takes an alert for a moderator's action, if none holds it or
// the one holding it went stale unfinished. It implements
// commands.AlertStore.
func (db *DB) ClaimAlert(ctx context.Context, id int64, act commands.AlertAction, stale time.Time) (commands.Alert, bool, error) {
	if err := commands.ValidateAlertAction(act); err != nil {
		return commands.Alert{}, false, fmt.Errorf("storage: claim alert %d: %w", id, err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return commands.Alert{}, false, fmt.Errorf("storage: claim alert %d: %w", id, err)
	}
	defer tx.Rollback()
	at := act.At.UnixMilli()
	res, err := tx.ExecContext(ctx, claimAlertSQL, act.Action, act.Claim, act.By, act.Name, at, at, id, stale.UnixMilli())
	if err != nil {
		return commands.Alert{}, false, fmt.Errorf("storage: claim alert %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return commands.Alert{}, false, fmt.Errorf("storage: claim alert %d: %w", id, err)
	}
	a, err := scanAlert(tx.QueryRowContext(ctx, alertByIDSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return commands.Alert{}, false, fmt.Errorf("storage: claim alert %d: %w", id, errNoAlert)
	}
	if err != nil {
		return commands.Alert{}, false, fmt.Errorf("storage: claim alert %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return commands.Alert{}, false, fmt.Errorf("storage: claim alert %d: %w", id, err)
	}
	return a, n == 1, nil
}

// FinishAlert ends the action of claim on an alert: done with detail, or
// given back. It implements commands.AlertStore.
func (db *DB) FinishAlert(ctx context.Context, id, claim int64, ok bool, detail string, now time.Time) (commands.Alert, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return commands.Alert{}, fmt.Errorf("storage: finish alert %d: %w", id, err)
	}
	defer tx.Rollback()
	if ok {
		_, err = tx.ExecContext(ctx, finishAlertSQL, detail, now.UnixMilli(), id, claim)
	} else {
		_, err = tx.ExecContext(ctx, releaseAlertSQL, now.UnixMilli(), id, claim)
	}
	if err != nil {
		return commands.Alert{}, fmt.Errorf("storage: finish alert %d: %w", id, err)
	}
	a, err := scanAlert(tx.QueryRowContext(ctx, alertByIDSQL, id))
	if errors.Is(err, sql.ErrNoRows) {
		return commands.Alert{}, fmt.Errorf("storage: finish alert %d: %w", id, errNoAlert)
	}
	if err != nil {
		return commands.Alert{}, fmt.Errorf("storage: finish alert %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return commands.Alert{}, fmt.Errorf("storage: finish alert %d: %w", id, err)
	}
	return a, nil
}

// PruneAlerts forgets the alerts last seen before the given time that no
// action is running on. It implements commands.AlertStore.
func (db *DB) PruneAlerts(ctx context.Context, before time.Time) (int, error) {
	res, err := db.write.ExecContext(ctx, pruneAlertsSQL, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("storage: prune alerts: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanAlert reads one row of alertCols.
func scanAlert(row scanner) (commands.Alert, error) {
	var (
		a                                                commands.Alert
		started, last, raised, acted, actUpdated         int64
		editors, reverters, abuseUsers, filters, deliver string
	)
	err := row.Scan(&a.ID, &a.Wiki, &a.Title, &started, &last, &raised, &a.Rule, &a.Reverts, &editors, &reverters, &a.AbuseHits,
		&abuseUsers, &filters, &a.Posted, &deliver, &a.Attempts, &a.Action, &a.ActClaim, &a.ActedBy, &a.ActedName, &acted,
		&a.ActDone, &a.ActDetail, &actUpdated)
	if err != nil {
		return commands.Alert{}, err
	}
	a.Started, a.LastSeen, a.Raised = ms(started), ms(last), ms(raised)
	a.ActedAt, a.ActUpdated = msOrZero(acted), msOrZero(actUpdated)
	for _, l := range []struct {
		to   *[]string
		from string
	}{{&a.Editors, editors}, {&a.Reverters, reverters}, {&a.AbuseUsers, abuseUsers}, {&a.Filters, filters}, {&a.Delivered, deliver}} {
		if err := json.Unmarshal([]byte(l.from), l.to); err != nil {
			return commands.Alert{}, fmt.Errorf("alert %d: names %q: %w", a.ID, l.from, err)
		}
	}
	return a, nil
}

// msOrZero is ms for a column where 0 means no time.
func msOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return ms(v)
}

// names is a list of names as the alerts' columns keep it: a JSON array,
// never null.
func names(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// msOrZeroMS is t in milliseconds, 0 for the zero time: msOrZero's
// inverse.
func msOrZeroMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func dumpAlerts(ctx context.Context, tx *sql.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT `+alertCols+` FROM alerts ORDER BY id`,
		func(rows *sql.Rows) (commands.Alert, error) { return scanAlert(rows) },
		func(b []commands.Alert) commands.DumpBatch { return commands.DumpBatch{Alerts: b} }, yield)
}

func dumpAlertCursors(ctx context.Context, tx *sql.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT wiki, stream, value FROM alert_cursors ORDER BY wiki, stream`,
		func(rows *sql.Rows) (commands.AlertCursorRow, error) {
			var r commands.AlertCursorRow
			err := rows.Scan(&r.Wiki, &r.Stream, &r.Value)
			return r, err
		}, func(b []commands.AlertCursorRow) commands.DumpBatch { return commands.DumpBatch{AlertCursors: b} }, yield)
}
