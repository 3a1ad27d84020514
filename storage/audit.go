package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// errNoAudit is what Finish returns (wrapped) for an audit record that
// does not exist: it matches commands.ErrNotFound and
// commands.ErrNoAuditRecord too, so that the service knows not to try
// again.
var errNoAudit = commands.NotFound(commands.ErrNoAuditRecord)

const (
	beginSQL = `INSERT INTO audit
		(time_ms, wiki, platform, user_id, user_name, wiki_user, channel, command, args, outcome, code, owner)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	startSQL = `UPDATE audit SET outcome = 'pending' WHERE id = ? AND outcome = 'queued'`
	// finishSQL keeps the wiki account and the wiki Begin stored when
	// Finish is given none: a record settled at start-up, or finished by
	// its ID alone, must not lose whom its command ran as, or where. It
	// takes only a record still unfinished, as settleSQL does, so that a
	// process taken for dead that wakes cannot overwrite the end another
	// settled it with.
	finishSQL = `UPDATE audit SET outcome = ?, code = ?, result = ?, duration_us = ?,
		wiki_user = COALESCE(NULLIF(?, ''), wiki_user), wiki = COALESCE(NULLIF(?, ''), wiki)
		WHERE id = ? AND outcome IN ('queued', 'pending')`

	auditCols = `id, time_ms, wiki, platform, user_id, user_name, wiki_user, channel, command, args, outcome, code, result, duration_us, owner`

	// unsettledSQL's WHERE clause is audit_unsettled's, word for word, for
	// SQLite to see that the partial index holds every row it wants.
	unsettledSQL = `SELECT ` + auditCols + ` FROM audit
		WHERE outcome IN ('queued', 'pending') ORDER BY id LIMIT ?`

	// settleSQL finishes a record only while it is unfinished, so that of
	// two processes settling it, or one settling it as its own owner
	// finishes it, one alone writes its end.
	settleSQL = `UPDATE audit SET outcome = ?, code = ?, result = ?, duration_us = ?, notice = ?, notice_at_ms = 0
		WHERE id = ? AND outcome IN ('queued', 'pending')`
	// claimNoticesSQL's inner WHERE starts with audit_notice_due's, for
	// SQLite to read the partial index.
	claimNoticesSQL = `UPDATE audit SET notice_tries = notice_tries + 1, notice_at_ms = ?, notice_holder = ?
		WHERE id IN (SELECT id FROM audit WHERE notice = 'due' AND notice_at_ms <= ? ORDER BY id LIMIT ?)
		RETURNING ` + auditCols + `, notice_tries`
	endNoticeSQL = `UPDATE audit SET notice = ?, notice_at_ms = ? WHERE id = ? AND notice = 'due' AND notice_holder = ?`
)

// Begin records a command attempt and sets rec.ID. It stores rec.Outcome:
// "queued" for a command accepted but not started, so that after a crash
// it is known never to have run; when rec.Outcome is empty, "pending", a
// command about to reach the wiki. It stores rec.Wiki as it is: "" for a
// command no wiki could be chosen for. It implements commands.Auditor.
func (db *DB) Begin(ctx context.Context, rec *commands.AuditRecord) error {
	args, err := json.Marshal(rec.Args)
	if err != nil {
		return fmt.Errorf("storage: audit args: %w", err)
	}
	outcome := string(rec.Outcome)
	if outcome == "" {
		outcome = "pending"
	}
	t := rec.Time
	if t.IsZero() {
		t = db.now()
	}
	res, err := db.beginStmt.ExecContext(ctx,
		t.UnixMilli(), rec.Wiki, rec.Platform, rec.UserID, rec.UserName, rec.WikiUser, rec.Channel, rec.Command, string(args), outcome, rec.Code, rec.Owner)
	if err != nil {
		return fmt.Errorf("storage: audit begin: %w", err)
	}
	rec.ID, err = res.LastInsertId()
	return err
}

// Start moves a queued record to "pending" just before its command talks to
// the wiki, so that a crash from then on leaves it marked as one that may
// have taken effect. It fails, wrapping commands.ErrNotQueued, for a record
// that is not queued (so a command cannot be started twice), and wrapping
// commands.ErrNotFound for one that does not exist. It implements
// commands.Auditor.
func (db *DB) Start(ctx context.Context, id int64) error {
	res, err := db.startStmt.ExecContext(ctx, id)
	if err != nil {
		return fmt.Errorf("storage: audit start %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("storage: audit start %d: %w", id, err)
	} else if n == 1 {
		return nil
	}
	var outcome string
	err = db.read.QueryRowContext(ctx, `SELECT outcome FROM audit WHERE id = ?`, id).Scan(&outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("storage: audit start %d: %w", id, commands.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("storage: audit start %d: %w", id, err)
	}
	return fmt.Errorf("storage: audit start %d: outcome is %q: %w", id, outcome, commands.ErrNotQueued)
}

// Finish records how a command attempt ended, and rec.WikiUser, the wiki
// account the command ran as, and rec.Wiki, which the service may learn
// only after Begin; an empty WikiUser or Wiki leaves the one stored as it
// was. It takes a record that is queued (a command refused while it
// waited) or pending. It fails, wrapping commands.ErrNotFound and
// commands.ErrNoAuditRecord, for a record that does not exist, and
// wrapping commands.ErrAuditSettled, changing nothing, for one that has
// ended already (another process settled it). It implements
// commands.Auditor.
func (db *DB) Finish(ctx context.Context, rec *commands.AuditRecord) error {
	var result any
	if len(rec.Result) > 0 {
		result = string(rec.Result)
	}
	res, err := db.finishStmt.ExecContext(ctx,
		string(rec.Outcome), rec.Code, result, rec.Duration.Microseconds(), rec.WikiUser, rec.Wiki, rec.ID)
	if err != nil {
		return fmt.Errorf("storage: audit finish %d: %w", rec.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("storage: audit finish %d: %w", rec.ID, err)
	} else if n == 1 {
		return nil
	}
	var outcome string
	err = db.read.QueryRowContext(ctx, `SELECT outcome FROM audit WHERE id = ?`, rec.ID).Scan(&outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("storage: audit finish %d: %w", rec.ID, errNoAudit)
	}
	if err != nil {
		return fmt.Errorf("storage: audit finish %d: %w", rec.ID, err)
	}
	return fmt.Errorf("storage: audit finish %d: outcome is %q: %w", rec.ID, outcome, commands.ErrAuditSettled)
}

// Settle finishes a record that a stop left queued or pending, as Finish
// does, and when tell is set marks its requester as one to tell how it
// ended (ClaimNotices). It reports false, changing nothing, for a record
// that has ended (or does not exist). It implements
// commands.UnsettledLister.
func (db *DB) Settle(ctx context.Context, rec *commands.AuditRecord, tell bool) (bool, error) {
	var result any
	if len(rec.Result) > 0 {
		result = string(rec.Result)
	}
	notice := ""
	if tell {
		notice = string(commands.NoticeDue)
	}
	res, err := db.write.ExecContext(ctx, settleSQL, string(rec.Outcome), rec.Code, result, rec.Duration.Microseconds(), notice, rec.ID)
	if err != nil {
		return false, fmt.Errorf("storage: audit settle %d: %w", rec.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("storage: audit settle %d: %w", rec.ID, err)
	}
	return n == 1, nil
}

// ClaimNotices takes for holder, until the given time, up to limit of the
// settled records whose requester is due to be told by now, oldest first,
// and counts the try. It implements commands.NoticeStore.
func (db *DB) ClaimNotices(ctx context.Context, holder string, now, until time.Time, limit int) ([]commands.Notice, error) {
	rows, err := db.write.QueryContext(ctx, claimNoticesSQL, until.UnixMilli(), holder, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("storage: claim notices: %w", err)
	}
	defer rows.Close()
	var out []commands.Notice
	for rows.Next() {
		var n commands.Notice
		if n.Record, err = scanRecord(rows, &n.Attempt); err != nil {
			return nil, fmt.Errorf("storage: claim notices: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: claim notices: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Record.ID < out[j].Record.ID })
	return out, nil
}

// EndNotice records how telling the requester of a settled record went,
// if holder holds its claim; see commands.NoticeStore.
func (db *DB) EndNotice(ctx context.Context, id int64, holder string, state commands.NoticeState, at time.Time) error {
	if _, err := db.write.ExecContext(ctx, endNoticeSQL, string(state), at.UnixMilli(), id, holder); err != nil {
		return fmt.Errorf("storage: end notice %d: %w", id, err)
	}
	return nil
}

// AuditFilter selects audit records; see commands.AuditFilter. The name
// stays for the callers that read the log of a SQLite database.
type AuditFilter = commands.AuditFilter

// Audit returns audit records, newest first.
func (db *DB) Audit(ctx context.Context, f AuditFilter) ([]commands.AuditRecord, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+auditCols+`
		FROM audit
		WHERE (? = '' OR platform = ?) AND (? = '' OR user_id = ?) AND (? = '' OR command = ?)
			AND (? = '' OR wiki_user = ?) AND (? = '' OR wiki = ?)
		ORDER BY id DESC LIMIT ?`,
		f.Platform, f.Platform, f.UserID, f.UserID, f.Command, f.Command, f.WikiUser, f.WikiUser, f.Wiki, f.Wiki, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("storage: audit: %w", err)
	}
	out, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("storage: audit: %w", err)
	}
	return out, nil
}

// Unsettled returns, oldest first and at most limit of them (0 means 50),
// the records whose command had not ended when wikimod stopped: "queued"
// ones certainly never reached the wiki; "pending" ones may have. Call it
// at start-up, before new commands are accepted, and settle each with
// Finish; calling it again then returns the next ones. It reads the
// audit_unsettled index, not the whole log.
func (db *DB) Unsettled(ctx context.Context, limit int) ([]commands.AuditRecord, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.read.QueryContext(ctx, unsettledSQL, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: unsettled audit: %w", err)
	}
	out, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("storage: unsettled audit: %w", err)
	}
	return out, nil
}

// scanAudit reads rows of auditCols and closes them.
func scanAudit(rows *sql.Rows) ([]commands.AuditRecord, error) {
	defer rows.Close()
	var out []commands.AuditRecord
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// scanRecord reads one row of auditCols, followed by the columns extra
// points at.
func scanRecord(rows *sql.Rows, extra ...any) (commands.AuditRecord, error) {
	var (
		r       commands.AuditRecord
		ms, dur int64
		args    string
		outcome string
		result  sql.NullString
	)
	dest := append([]any{&r.ID, &ms, &r.Wiki, &r.Platform, &r.UserID, &r.UserName, &r.WikiUser, &r.Channel, &r.Command,
		&args, &outcome, &r.Code, &result, &dur, &r.Owner}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return r, err
	}
	r.Time = time.UnixMilli(ms).UTC()
	r.Outcome = commands.Outcome(outcome)
	r.Duration = time.Duration(dur) * time.Microsecond
	if err := json.Unmarshal([]byte(args), &r.Args); err != nil {
		return r, fmt.Errorf("record %d args: %w", r.ID, err)
	}
	if result.Valid {
		r.Result = json.RawMessage(result.String)
	}
	return r, nil
}
