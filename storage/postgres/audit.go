package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/commands"
)

var (
	_ commands.Auditor         = (*DB)(nil)
	_ commands.UnsettledLister = (*DB)(nil)
	_ commands.NoticeStore     = (*DB)(nil)
)

// errNoAudit is what Finish returns (wrapped) for an audit record that
// does not exist: it matches commands.ErrNotFound and
// commands.ErrNoAuditRecord too, so that the service knows not to try
// again.
var errNoAudit = commands.NotFound(commands.ErrNoAuditRecord)

const (
	beginSQL = `INSERT INTO audit
		(at, wiki, platform, user_id, user_name, wiki_user, channel, command, args, outcome, code, owner)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`
	startSQL = `UPDATE audit SET outcome = 'pending' WHERE id = $1 AND outcome = 'queued'`
	// finishSQL keeps the wiki account and the wiki Begin stored when
	// Finish is given none: a record settled at start-up, or finished by
	// its ID alone, must not lose whom its command ran as, or where. It
	// takes only a record still unfinished, as settleSQL does, so that a
	// process taken for dead that wakes cannot overwrite the end another
	// settled it with.
	finishSQL = `UPDATE audit SET outcome = $1, code = $2, result = $3, duration_us = $4,
		wiki_user = COALESCE(NULLIF($5, ''), wiki_user), wiki = COALESCE(NULLIF($6, ''), wiki)
		WHERE id = $7 AND outcome IN ('queued', 'pending')`

	auditCols = `id, at, wiki, platform, user_id, user_name, wiki_user, channel, command, args, outcome, code, result, duration_us, owner`

	// auditSQL's filters are each off when given ''. The log has no index
	// but the primary key's: it is read newest first until the limit.
	auditSQL = `SELECT ` + auditCols + ` FROM audit
		WHERE ($1 = '' OR platform = $1) AND ($2 = '' OR user_id = $2) AND ($3 = '' OR command = $3)
			AND ($4 = '' OR wiki_user = $4) AND ($5 = '' OR wiki = $5)
		ORDER BY id DESC LIMIT $6`
	// unsettledSQL's WHERE clause is audit_unsettled's, so that the
	// partial index answers it.
	unsettledSQL = `SELECT ` + auditCols + ` FROM audit
		WHERE outcome IN ('queued', 'pending') ORDER BY id LIMIT $1`

	// settleSQL finishes a record only while it is unfinished, so that of
	// two replicas settling it, or one settling it as its own owner
	// finishes it, one alone writes its end: the UPDATE takes the row.
	settleSQL = `UPDATE audit SET outcome = $1, code = $2, result = $3, duration_us = $4, notice = $5, notice_at = NULL
		WHERE id = $6 AND outcome IN ('queued', 'pending')`
	// claimNoticesSQL takes the rows it claims with FOR UPDATE SKIP
	// LOCKED: two replicas claiming at once take different rows, and a row
	// another claim has just taken is read again, found claimed, and left.
	claimNoticesSQL = `UPDATE audit SET notice_tries = notice_tries + 1, notice_at = $1, notice_holder = $2
		WHERE id IN (SELECT id FROM audit WHERE notice = 'due' AND (notice_at IS NULL OR notice_at <= $3)
			ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING ` + auditCols + `, notice_tries`
	endNoticeSQL = `UPDATE audit SET notice = $1, notice_at = $2 WHERE id = $3 AND notice = 'due' AND notice_holder = $4`
)

// Begin records a command attempt and sets rec.ID. It stores rec.Outcome:
// "queued" for a command accepted but not started, so that after a crash
// it is known never to have run; when rec.Outcome is empty, "pending", a
// command about to reach the wiki. It stores rec.Wiki as it is: "" for a
// command no wiki could be chosen for. It implements commands.Auditor.
func (db *DB) Begin(ctx context.Context, rec *commands.AuditRecord) error {
	args, err := json.Marshal(rec.Args)
	if err != nil {
		return fmt.Errorf("postgres: audit args: %w", err)
	}
	outcome := string(rec.Outcome)
	if outcome == "" {
		outcome = "pending"
	}
	t := rec.Time
	if t.IsZero() {
		t = db.now()
	}
	var id int64
	if err := db.pool.QueryRow(ctx, beginSQL, msUTC(t), storable(rec.Wiki), storable(rec.Platform),
		storable(rec.UserID), storable(rec.UserName), storable(rec.WikiUser), storable(rec.Channel),
		storable(rec.Command), string(args), storable(outcome), storable(rec.Code), storable(rec.Owner)).Scan(&id); err != nil {
		return fmt.Errorf("postgres: audit begin: %w", err)
	}
	rec.ID = id
	return nil
}

// Start moves a queued record to "pending" just before its command talks to
// the wiki, so that a crash from then on leaves it marked as one that may
// have taken effect. It fails, wrapping commands.ErrNotQueued, for a record
// that is not queued (so a command cannot be started twice, even by two
// replicas: the UPDATE takes the row), and wrapping commands.ErrNotFound
// for one that does not exist. It implements commands.Auditor.
func (db *DB) Start(ctx context.Context, id int64) error {
	tag, err := db.pool.Exec(ctx, startSQL, id)
	if err != nil {
		return fmt.Errorf("postgres: audit start %d: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var outcome string
	err = db.pool.QueryRow(ctx, `SELECT outcome FROM audit WHERE id = $1`, id).Scan(&outcome)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: audit start %d: %w", id, commands.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgres: audit start %d: %w", id, err)
	}
	return fmt.Errorf("postgres: audit start %d: outcome is %q: %w", id, outcome, commands.ErrNotQueued)
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
	var result *string
	if len(rec.Result) > 0 {
		s := storable(string(rec.Result))
		result = &s
	}
	tag, err := db.pool.Exec(ctx, finishSQL, storable(string(rec.Outcome)), storable(rec.Code), result,
		rec.Duration.Microseconds(), storable(rec.WikiUser), storable(rec.Wiki), rec.ID)
	if err != nil {
		return fmt.Errorf("postgres: audit finish %d: %w", rec.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var outcome string
	err = db.pool.QueryRow(ctx, `SELECT outcome FROM audit WHERE id = $1`, rec.ID).Scan(&outcome)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: audit finish %d: %w", rec.ID, errNoAudit)
	}
	if err != nil {
		return fmt.Errorf("postgres: audit finish %d: %w", rec.ID, err)
	}
	return fmt.Errorf("postgres: audit finish %d: outcome is %q: %w", rec.ID, outcome, commands.ErrAuditSettled)
}

// Settle finishes a record that a stop left queued or pending, as Finish
// does, and when tell is set marks its requester as one to tell how it
// ended (ClaimNotices). It reports false, changing nothing, for a record
// that has ended (or does not exist). It implements
// commands.UnsettledLister.
func (db *DB) Settle(ctx context.Context, rec *commands.AuditRecord, tell bool) (bool, error) {
	var result *string
	if len(rec.Result) > 0 {
		s := storable(string(rec.Result))
		result = &s
	}
	notice := ""
	if tell {
		notice = string(commands.NoticeDue)
	}
	tag, err := db.pool.Exec(ctx, settleSQL, storable(string(rec.Outcome)), storable(rec.Code), result,
		rec.Duration.Microseconds(), notice, rec.ID)
	if err != nil {
		return false, fmt.Errorf("postgres: audit settle %d: %w", rec.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClaimNotices takes for holder, until the given time, up to limit of the
// settled records whose requester is due to be told by now, oldest first,
// and counts the try. It implements commands.NoticeStore.
func (db *DB) ClaimNotices(ctx context.Context, holder string, now, until time.Time, limit int) ([]commands.Notice, error) {
	rows, err := db.pool.Query(ctx, claimNoticesSQL, msUTC(until), storable(holder), msUTC(now), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim notices: %w", err)
	}
	defer rows.Close()
	var out []commands.Notice
	for rows.Next() {
		var n commands.Notice
		var tries int32
		if n.Record, err = scanRecord(rows, &tries); err != nil {
			return nil, fmt.Errorf("postgres: claim notices: %w", err)
		}
		n.Attempt = int(tries)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: claim notices: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Record.ID < out[j].Record.ID })
	return out, nil
}

// EndNotice records how telling the requester of a settled record went,
// if holder holds its claim; see commands.NoticeStore.
func (db *DB) EndNotice(ctx context.Context, id int64, holder string, state commands.NoticeState, at time.Time) error {
	if _, err := db.pool.Exec(ctx, endNoticeSQL, string(state), msUTC(at), id, storable(holder)); err != nil {
		return fmt.Errorf("postgres: end notice %d: %w", id, err)
	}
	return nil
}

// Audit returns audit records, newest first, selected by f as
// storage.DB.Audit selects them.
func (db *DB) Audit(ctx context.Context, f commands.AuditFilter) ([]commands.AuditRecord, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := db.pool.Query(ctx, auditSQL, storable(f.Platform), storable(f.UserID), storable(f.Command),
		storable(f.WikiUser), storable(f.Wiki), f.Limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit: %w", err)
	}
	out, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit: %w", err)
	}
	return out, nil
}

// Unsettled returns, oldest first and at most limit of them (0 means 50),
// the records whose command had not ended when wikimod stopped: "queued"
// ones certainly never reached the wiki; "pending" ones may have. Call it
// at start-up, before new commands are accepted, and settle each with
// Finish; calling it again then returns the next ones. It reads the
// audit_unsettled index, not the whole log. With replicas sharing the
// database, the commands the others are running are among them: each
// record's Owner says which process began it, and the caller settles only
// those of processes that are gone.
func (db *DB) Unsettled(ctx context.Context, limit int) ([]commands.AuditRecord, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.pool.Query(ctx, unsettledSQL, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: unsettled audit: %w", err)
	}
	out, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: unsettled audit: %w", err)
	}
	return out, nil
}

// scanAudit reads rows of auditCols and closes them.
func scanAudit(rows pgx.Rows) ([]commands.AuditRecord, error) {
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
func scanRecord(rows pgx.Rows, extra ...any) (commands.AuditRecord, error) {
	var (
		r       commands.AuditRecord
		at      time.Time
		dur     int64
		args    string
		outcome string
		result  *string
	)
	dest := append([]any{&r.ID, &at, &r.Wiki, &r.Platform, &r.UserID, &r.UserName, &r.WikiUser, &r.Channel,
		&r.Command, &args, &outcome, &r.Code, &result, &dur, &r.Owner}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return r, err
	}
	r.Time = at.UTC()
	r.Outcome = commands.Outcome(outcome)
	r.Duration = time.Duration(dur) * time.Microsecond
	if err := json.Unmarshal([]byte(args), &r.Args); err != nil {
		return r, fmt.Errorf("record %d args: %w", r.ID, err)
	}
	if result != nil {
		r.Result = json.RawMessage(*result)
	}
	return r, nil
}
