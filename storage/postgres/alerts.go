package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/commands"
)

// The alerts' cursors and rows are shared by the replicas sharing the
// database: one follows a wiki at a time (its lease), but any may take a
// button's press, and a follower that took a wiki over raises again what
// the last one raised, which must find it.

// errNoAlert is what the alert methods return (wrapped) for an alert that
// does not exist: it matches commands.ErrNotFound and commands.ErrNoAlert,
// as the SQLite backend's does.
var errNoAlert = commands.NotFound(commands.ErrNoAlert)

// alertLock is the first key of the advisory locks RaiseAlert takes, one a
// page: "alrt" in ASCII, apart from the reminders' pageLock.
const alertLock int32 = 0x616c7274

const (
	alertCols = `id, wiki, title, started, last_seen, raised, rule, reverts, editors, reverters, abuse_hits, abuse_users, filters,
		posted, delivered, attempts, action, act_claim, acted_by, acted_name, acted_at, act_done, act_detail, act_updated`
	alertCursorSQL    = `SELECT value FROM alert_cursors WHERE wiki = $1 AND stream = $2`
	setAlertCursorSQL = `INSERT INTO alert_cursors (wiki, stream, value) VALUES ($1, $2, $3)
		ON CONFLICT (wiki, stream) DO UPDATE SET value = excluded.value`
	latestAlertSQL = `SELECT ` + alertCols + ` FROM alerts WHERE wiki = $1 AND title = $2 ORDER BY last_seen DESC, id DESC LIMIT 1`
	alertByKeySQL  = `SELECT ` + alertCols + ` FROM alerts WHERE wiki = $1 AND title = $2 AND started = $3`
	alertByIDSQL   = `SELECT ` + alertCols + ` FROM alerts WHERE id = $1`
	insertAlertSQL = `INSERT INTO alerts (wiki, title, started, last_seen, raised, rule, reverts, editors, reverters, abuse_hits,
		abuse_users, filters) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (wiki, title, started) DO NOTHING RETURNING ` + alertCols
	mergeAlertSQL = `UPDATE alerts SET last_seen = $2, reverts = $3, editors = $4, reverters = $5, abuse_hits = $6, abuse_users = $7,
		filters = $8 WHERE id = $1`
	touchAlertSQL = `UPDATE alerts SET last_seen = $2 WHERE id = $1 AND last_seen < $2`
	openAlertsSQL = `SELECT ` + alertCols + ` FROM alerts WHERE wiki = $1 AND (last_seen >= $2 OR NOT posted) ORDER BY id LIMIT $3`
	postedSQL     = `UPDATE alerts SET delivered = $2, attempts = attempts + 1, posted = posted OR $3 WHERE id = $1`
	// claimAlertSQL takes an alert no action holds, or one whose action
	// was claimed before the stale time and never finished. Of replicas
	// claiming at once, one updates the row; the others wait for it and
	// then find the condition false.
	claimAlertSQL = `UPDATE alerts SET action = $2, act_claim = $3, acted_by = $4, acted_name = $5, acted_at = $6, act_done = false,
		act_detail = '', act_updated = $6 WHERE id = $1 AND (action = '' OR (NOT act_done AND act_updated < $7))`
	finishAlertSQL  = `UPDATE alerts SET act_done = true, act_detail = $3, act_updated = $4 WHERE id = $1 AND act_claim = $2 AND NOT act_done`
	releaseAlertSQL = `UPDATE alerts SET action = '', act_claim = 0, acted_by = '', acted_name = '', acted_at = NULL, act_done = false,
		act_detail = '', act_updated = $3 WHERE id = $1 AND act_claim = $2 AND NOT act_done`
	pruneAlertsSQL = `DELETE FROM alerts WHERE last_seen < $1 AND (action = '' OR act_done)`
)

// AlertCursor returns where the follower stopped reading a stream of a
// wiki, "" when it never read it. It implements commands.AlertStore.
func (db *DB) AlertCursor(ctx context.Context, wiki, stream string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, alertCursorSQL, storable(wiki), storable(stream)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: alert cursor of %s %s: %w", wiki, stream, err)
	}
	return v, nil
}

// SetAlertCursor records where the follower stopped reading a stream of a
// wiki. It implements commands.AlertStore.
func (db *DB) SetAlertCursor(ctx context.Context, wiki, stream, value string) error {
	if err := commands.ValidateAlertCursor(wiki, stream); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if _, err := db.pool.Exec(ctx, setAlertCursorSQL, storable(wiki), storable(stream), storable(value)); err != nil {
		return fmt.Errorf("postgres: set alert cursor of %s %s: %w", wiki, stream, err)
	}
	return nil
}

// RaiseAlert records a burst of trouble on a page: the page's latest alert
// takes it when it is of the same burst (commands.SameBurst), else it is a
// new alert. The page's advisory lock makes replicas raising at once take
// turns, so that the second finds what the first raised. It implements
// commands.AlertStore.
func (db *DB) RaiseAlert(ctx context.Context, a commands.Alert, quiet time.Duration) (commands.Alert, bool, error) {
	a, err := commands.ValidateAlert(a)
	if err != nil {
		return commands.Alert{}, false, fmt.Errorf("postgres: %w", err)
	}
	a = storableAlert(a)
	var (
		out    commands.Alert
		raised bool
	)
	err = db.retry(ctx, func() error {
		return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, alertLock, pageKey(a.Wiki, a.Title)); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			var err error
			out, raised, err = raiseAlert(ctx, tx, a, quiet)
			return err
		})
	})
	if err != nil {
		return commands.Alert{}, false, fmt.Errorf("postgres: raise alert on %s %q: %w", a.Wiki, a.Title, err)
	}
	return out, raised, nil
}

func raiseAlert(ctx context.Context, tx pgx.Tx, a commands.Alert, quiet time.Duration) (commands.Alert, bool, error) {
	latest, err := scanAlert(tx.QueryRow(ctx, latestAlertSQL, a.Wiki, a.Title))
	switch {
	case err == nil && commands.SameBurst(latest, a.Started, quiet):
		return mergeAlert(ctx, tx, latest, a)
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return commands.Alert{}, false, err
	}
	out, err := scanAlert(tx.QueryRow(ctx, insertAlertSQL, a.Wiki, a.Title, msUTC(a.Started), msUTC(a.LastSeen), msUTC(a.Raised),
		a.Rule, a.Reverts, a.Editors, a.Reverters, a.AbuseHits, a.AbuseUsers, a.Filters))
	if errors.Is(err, pgx.ErrNoRows) {
		// The burst's key is taken: it is that alert's.
		same, err := scanAlert(tx.QueryRow(ctx, alertByKeySQL, a.Wiki, a.Title, msUTC(a.Started)))
		if err != nil {
			return commands.Alert{}, false, err
		}
		return mergeAlert(ctx, tx, same, a)
	}
	if err != nil {
		return commands.Alert{}, false, err
	}
	return out, true, nil
}

// mergeAlert writes into latest what a brings (commands.MergeBurst).
func mergeAlert(ctx context.Context, tx pgx.Tx, latest, a commands.Alert) (commands.Alert, bool, error) {
	m := commands.MergeBurst(latest, a)
	if _, err := tx.Exec(ctx, mergeAlertSQL, m.ID, msUTC(m.LastSeen), m.Reverts, m.Editors, m.Reverters, m.AbuseHits,
		m.AbuseUsers, m.Filters); err != nil {
		return commands.Alert{}, false, err
	}
	return m, false, nil
}

// storableAlert makes an alert's text fit text columns.
func storableAlert(a commands.Alert) commands.Alert {
	for _, s := range []*string{&a.Wiki, &a.Title, &a.Rule} {
		*s = storable(*s)
	}
	for _, l := range []*[]string{&a.Editors, &a.Reverters, &a.AbuseUsers, &a.Filters} {
		out := make([]string, len(*l))
		for i, s := range *l {
			out[i] = storable(s)
		}
		*l = out
	}
	return a
}

// TouchAlert moves an alert's last trouble to lastSeen when that is
// later. It implements commands.AlertStore.
func (db *DB) TouchAlert(ctx context.Context, id int64, lastSeen time.Time) error {
	if _, err := db.pool.Exec(ctx, touchAlertSQL, id, msUTC(lastSeen)); err != nil {
		return fmt.Errorf("postgres: touch alert %d: %w", id, err)
	}
	return nil
}

// Alert returns one alert. It implements commands.AlertStore.
func (db *DB) Alert(ctx context.Context, id int64) (commands.Alert, error) {
	a, err := scanAlert(db.pool.QueryRow(ctx, alertByIDSQL, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return commands.Alert{}, fmt.Errorf("postgres: alert %d: %w", id, errNoAlert)
	}
	if err != nil {
		return commands.Alert{}, fmt.Errorf("postgres: alert %d: %w", id, err)
	}
	return a, nil
}

// OpenAlerts returns a wiki's alerts last seen at since or later, and
// those not posted yet, oldest first. It implements commands.AlertStore.
func (db *DB) OpenAlerts(ctx context.Context, wiki string, since time.Time) ([]commands.Alert, error) {
	rows, err := db.pool.Query(ctx, openAlertsSQL, storable(wiki), msUTC(since), commands.MaxOpenAlerts)
	if err != nil {
		return nil, fmt.Errorf("postgres: open alerts of %s: %w", wiki, err)
	}
	defer rows.Close()
	var out []commands.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: open alerts of %s: %w", wiki, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: open alerts of %s: %w", wiki, err)
	}
	return out, nil
}

// MarkAlertPosted records a post of an alert. It implements
// commands.AlertStore.
func (db *DB) MarkAlertPosted(ctx context.Context, id int64, delivered []string, done bool, now time.Time) error {
	d := make([]string, len(delivered))
	for i, c := range delivered {
		d[i] = storable(c)
	}
	if _, err := db.pool.Exec(ctx, postedSQL, id, d, done); err != nil {
		return fmt.Errorf("postgres: mark alert %d posted: %w", id, err)
	}
	return nil
}

// ClaimAlert takes an alert for a moderator's action, if none holds it or
// the one holding it went stale unfinished. It implements
// commands.AlertStore.
func (db *DB) ClaimAlert(ctx context.Context, id int64, act commands.AlertAction, stale time.Time) (commands.Alert, bool, error) {
	if err := commands.ValidateAlertAction(act); err != nil {
		return commands.Alert{}, false, fmt.Errorf("postgres: claim alert %d: %w", id, err)
	}
	var (
		a    commands.Alert
		took bool
	)
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, claimAlertSQL, id, act.Action, act.Claim, storable(act.By), storable(act.Name), msUTC(act.At), msUTC(stale))
		if err != nil {
			return err
		}
		took = tag.RowsAffected() == 1
		a, err = scanAlert(tx.QueryRow(ctx, alertByIDSQL, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return commands.Alert{}, false, fmt.Errorf("postgres: claim alert %d: %w", id, errNoAlert)
	}
	if err != nil {
		return commands.Alert{}, false, fmt.Errorf("postgres: claim alert %d: %w", id, err)
	}
	return a, took, nil
}

// FinishAlert ends the action of claim on an alert: done with detail, or
// given back. It implements commands.AlertStore.
func (db *DB) FinishAlert(ctx context.Context, id, claim int64, ok bool, detail string, now time.Time) (commands.Alert, error) {
	var a commands.Alert
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		if ok {
			_, err = tx.Exec(ctx, finishAlertSQL, id, claim, storable(detail), msUTC(now))
		} else {
			_, err = tx.Exec(ctx, releaseAlertSQL, id, claim, msUTC(now))
		}
		if err != nil {
			return err
		}
		a, err = scanAlert(tx.QueryRow(ctx, alertByIDSQL, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return commands.Alert{}, fmt.Errorf("postgres: finish alert %d: %w", id, errNoAlert)
	}
	if err != nil {
		return commands.Alert{}, fmt.Errorf("postgres: finish alert %d: %w", id, err)
	}
	return a, nil
}

// PruneAlerts forgets the alerts last seen before the given time that no
// action is running on. It implements commands.AlertStore.
func (db *DB) PruneAlerts(ctx context.Context, before time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, pruneAlertsSQL, msUTC(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune alerts: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// scanAlert reads one row of alertCols.
func scanAlert(row pgx.Row) (commands.Alert, error) {
	var (
		a                 commands.Alert
		acted, actUpdated *time.Time
	)
	err := row.Scan(&a.ID, &a.Wiki, &a.Title, &a.Started, &a.LastSeen, &a.Raised, &a.Rule, &a.Reverts, &a.Editors, &a.Reverters,
		&a.AbuseHits, &a.AbuseUsers, &a.Filters, &a.Posted, &a.Delivered, &a.Attempts, &a.Action, &a.ActClaim, &a.ActedBy,
		&a.ActedName, &acted, &a.ActDone, &a.ActDetail, &actUpdated)
	if err != nil {
		return commands.Alert{}, err
	}
	a.Started, a.LastSeen, a.Raised = a.Started.UTC(), a.LastSeen.UTC(), a.Raised.UTC()
	if acted != nil {
		a.ActedAt = acted.UTC()
	}
	if actUpdated != nil {
		a.ActUpdated = actUpdated.UTC()
	}
	for _, l := range []*[]string{&a.Editors, &a.Reverters, &a.AbuseUsers, &a.Filters, &a.Delivered} {
		if *l == nil {
			*l = []string{}
		}
	}
	return a, nil
}

// orNull is t, or NULL for the zero time.
func orNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := msUTC(t)
	return &u
}

func dumpAlerts(ctx context.Context, tx pgx.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT `+alertCols+` FROM alerts ORDER BY id`,
		func(rows pgx.Rows) (commands.Alert, error) { return scanAlert(rows) },
		func(b []commands.Alert) commands.DumpBatch { return commands.DumpBatch{Alerts: b} }, yield)
}

func dumpAlertCursors(ctx context.Context, tx pgx.Tx, yield func(commands.DumpBatch) error) error {
	return dumpQuery(ctx, tx, `SELECT wiki, stream, value FROM alert_cursors ORDER BY wiki COLLATE "C", stream COLLATE "C"`,
		func(rows pgx.Rows) (commands.AlertCursorRow, error) {
			var r commands.AlertCursorRow
			err := rows.Scan(&r.Wiki, &r.Stream, &r.Value)
			return r, err
		}, func(b []commands.AlertCursorRow) commands.DumpBatch { return commands.DumpBatch{AlertCursors: b} }, yield)
}

// restoreAlerts writes the alerts and cursors of b.
func restoreAlerts(ctx context.Context, tx pgx.Tx, b commands.DumpBatch) error {
	if err := copyRows(ctx, tx, "alerts", []string{"id", "wiki", "title", "started", "last_seen", "raised", "rule", "reverts", "editors",
		"reverters", "abuse_hits", "abuse_users", "filters", "posted", "delivered", "attempts", "action", "act_claim", "acted_by",
		"acted_name", "acted_at", "act_done", "act_detail", "act_updated"}, len(b.Alerts), func(i int) []any {
		r := storableAlert(b.Alerts[i])
		delivered := make([]string, len(r.Delivered))
		for j, c := range r.Delivered {
			delivered[j] = storable(c)
		}
		return []any{r.ID, r.Wiki, r.Title, msUTC(r.Started), msUTC(r.LastSeen), msUTC(r.Raised), r.Rule, r.Reverts, r.Editors,
			r.Reverters, r.AbuseHits, r.AbuseUsers, r.Filters, r.Posted, delivered, r.Attempts,
			storable(r.Action), r.ActClaim, storable(r.ActedBy), storable(r.ActedName), orNull(r.ActedAt), r.ActDone,
			storable(r.ActDetail), orNull(r.ActUpdated)}
	}); err != nil {
		return err
	}
	return copyRows(ctx, tx, "alert_cursors", []string{"wiki", "stream", "value"}, len(b.AlertCursors), func(i int) []any {
		r := b.AlertCursors[i]
		return []any{storable(r.Wiki), storable(r.Stream), storable(r.Value)}
	})
}
