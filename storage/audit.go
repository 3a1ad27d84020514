package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// Begin records that a command attempt starts, with outcome "pending", and
// sets rec.ID. It implements commands.Auditor.
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
	res, err := db.write.ExecContext(ctx, `INSERT INTO audit
		(time_ms, platform, user_id, user_name, channel, command, args, outcome, code)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.UnixMilli(), rec.Platform, rec.UserID, rec.UserName, rec.Channel, rec.Command, string(args), outcome, rec.Code)
	if err != nil {
		return fmt.Errorf("storage: audit begin: %w", err)
	}
	rec.ID, err = res.LastInsertId()
	return err
}

// Finish records how a command attempt begun with Begin ended.
func (db *DB) Finish(ctx context.Context, rec *commands.AuditRecord) error {
	var result any
	if len(rec.Result) > 0 {
		result = string(rec.Result)
	}
	res, err := db.write.ExecContext(ctx, `UPDATE audit SET outcome = ?, code = ?, result = ?, duration_us = ? WHERE id = ?`,
		string(rec.Outcome), rec.Code, result, rec.Duration.Microseconds(), rec.ID)
	if err != nil {
		return fmt.Errorf("storage: audit finish %d: %w", rec.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("storage: audit finish: no record %d", rec.ID)
	}
	return nil
}

// AuditFilter selects audit records. The zero value selects the newest 50.
type AuditFilter struct {
	Limit    int    // at most this many; 0 means 50
	Platform string // only this platform
	UserID   string // only this user
	Command  string // only this command
}

// Audit returns audit records, newest first.
func (db *DB) Audit(ctx context.Context, f AuditFilter) ([]commands.AuditRecord, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, time_ms, platform, user_id, user_name, channel, command, args, outcome, code, result, duration_us
		FROM audit
		WHERE (? = '' OR platform = ?) AND (? = '' OR user_id = ?) AND (? = '' OR command = ?)
		ORDER BY id DESC LIMIT ?`,
		f.Platform, f.Platform, f.UserID, f.UserID, f.Command, f.Command, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("storage: audit: %w", err)
	}
	defer rows.Close()
	var out []commands.AuditRecord
	for rows.Next() {
		var (
			r       commands.AuditRecord
			ms, dur int64
			args    string
			outcome string
			result  sql.NullString
		)
		if err := rows.Scan(&r.ID, &ms, &r.Platform, &r.UserID, &r.UserName, &r.Channel, &r.Command, &args, &outcome, &r.Code, &result, &dur); err != nil {
			return nil, fmt.Errorf("storage: audit: %w", err)
		}
		r.Time = time.UnixMilli(ms).UTC()
		r.Outcome = commands.Outcome(outcome)
		r.Duration = time.Duration(dur) * time.Microsecond
		if err := json.Unmarshal([]byte(args), &r.Args); err != nil {
			return nil, fmt.Errorf("storage: audit %d args: %w", r.ID, err)
		}
		if result.Valid {
			r.Result = json.RawMessage(result.String)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SecurityEvent is a request refused before it became a command, such as one
// with a forged or stale signature.
type SecurityEvent struct {
	ID       int64
	Time     time.Time
	Platform string
	Kind     string // e.g. "bad-signature", "stale-timestamp"
	Remote   string // the client address
	Detail   string // never the request body or a secret
}

// RecordSecurityEvent stores a security event.
func (db *DB) RecordSecurityEvent(ctx context.Context, ev SecurityEvent) error {
	t := ev.Time
	if t.IsZero() {
		t = db.now()
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO security_events (time_ms, platform, kind, remote, detail) VALUES (?, ?, ?, ?, ?)`,
		t.UnixMilli(), ev.Platform, ev.Kind, ev.Remote, ev.Detail)
	if err != nil {
		return fmt.Errorf("storage: security event: %w", err)
	}
	return nil
}

// SecurityEvents returns the newest security events first.
func (db *DB) SecurityEvents(ctx context.Context, limit int) ([]SecurityEvent, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, time_ms, platform, kind, remote, detail FROM security_events ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("storage: security events: %w", err)
	}
	defer rows.Close()
	var out []SecurityEvent
	for rows.Next() {
		var ev SecurityEvent
		var ms int64
		if err := rows.Scan(&ev.ID, &ms, &ev.Platform, &ev.Kind, &ev.Remote, &ev.Detail); err != nil {
			return nil, err
		}
		ev.Time = time.UnixMilli(ms).UTC()
		out = append(out, ev)
	}
	return out, rows.Err()
}
