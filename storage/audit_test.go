package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/storage"
)

func TestAuditQueuedStartFinish(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	db := open(t, filepath.Join(t.TempDir(), "w.db"), now)
	ctx := context.Background()

	queued := &commands.AuditRecord{Platform: "slack", UserID: "U1", Command: "protect", Outcome: "queued"}
	if err := db.Begin(ctx, queued); err != nil {
		t.Fatal(err)
	}
	if got := outcomeOf(t, db, queued.ID); got != "queued" {
		t.Fatalf("after Begin with queued: outcome %q", got)
	}
	if err := db.Start(ctx, queued.ID); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got := outcomeOf(t, db, queued.ID); got != "pending" {
		t.Fatalf("after Start: outcome %q, want pending", got)
	}
	if err := db.Start(ctx, queued.ID); !errors.Is(err, storage.ErrNotQueued) {
		t.Errorf("second Start = %v, want ErrNotQueued", err)
	}
	if err := db.Start(ctx, 999); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Start of a missing record = %v, want ErrNotFound", err)
	}
	queued.Outcome = commands.OutcomeOK
	if err := db.Finish(ctx, queued); err != nil {
		t.Fatal(err)
	}
	if err := db.Start(ctx, queued.ID); !errors.Is(err, storage.ErrNotQueued) || !strings.Contains(err.Error(), `"ok"`) {
		t.Errorf("Start of a finished record = %v, want ErrNotQueued naming its outcome", err)
	}

	// Without an outcome Begin writes pending, as before; Finish settles a
	// record in any state, a queued one included (refused while waiting).
	plain := &commands.AuditRecord{Platform: "slack", UserID: "U1", Command: "help"}
	if err := db.Begin(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if got := outcomeOf(t, db, plain.ID); got != "pending" {
		t.Errorf("Begin without outcome wrote %q, want pending", got)
	}
	if err := db.Start(ctx, plain.ID); !errors.Is(err, storage.ErrNotQueued) {
		t.Errorf("Start of a pending record = %v, want ErrNotQueued", err)
	}
	waiting := &commands.AuditRecord{Platform: "slack", UserID: "U1", Command: "block", Outcome: "queued"}
	if err := db.Begin(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	waiting.Outcome, waiting.Code = commands.OutcomeFailed, "shutdown"
	if err := db.Finish(ctx, waiting); err != nil {
		t.Fatalf("Finish of a queued record: %v", err)
	}
	if got := outcomeOf(t, db, waiting.ID); got != "failed" {
		t.Errorf("finished queued record has outcome %q", got)
	}
}

func outcomeOf(t *testing.T, db *storage.DB, id int64) commands.Outcome {
	t.Helper()
	all, err := db.Audit(context.Background(), storage.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.ID == id {
			return r.Outcome
		}
	}
	t.Fatalf("no audit record %d", id)
	return ""
}

// TestUnsettledAfterACrash leaves records queued and pending, "crashes"
// (closes without finishing them), and settles them after a restart.
func TestUnsettledAfterACrash(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "w.db")
	db := open(t, path, now)
	ctx := context.Background()
	begin := func(cmd string, outcome commands.Outcome) int64 {
		t.Helper()
		rec := &commands.AuditRecord{Platform: "discord", UserID: "D1", Command: cmd, Outcome: outcome,
			Args: map[string]string{"_": cmd}}
		if err := db.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	done := begin("help", "")
	if err := db.Finish(ctx, &commands.AuditRecord{ID: done, Outcome: commands.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	running := begin("protect", "")     // pending: may have reached the wiki
	started := begin("block", "queued") // queued, then started
	if err := db.Start(ctx, started); err != nil {
		t.Fatal(err)
	}
	waiting1 := begin("unblock", "queued") // never started
	begin("help", commands.OutcomeDenied)  // settled at Begin
	waiting2 := begin("protect", "queued")
	db.Close()

	db = open(t, path, now)
	got, err := db.Unsettled(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id      int64
		outcome commands.Outcome
	}{{running, "pending"}, {started, "pending"}, {waiting1, "queued"}, {waiting2, "queued"}}
	if len(got) != len(want) {
		t.Fatalf("Unsettled = %+v, want %d records", got, len(want))
	}
	for i, w := range want {
		if got[i].ID != w.id || got[i].Outcome != w.outcome {
			t.Errorf("Unsettled[%d] = %d %s, want %d %s", i, got[i].ID, got[i].Outcome, w.id, w.outcome)
		}
	}
	if got[0].Command != "protect" || got[0].Args["_"] != "protect" || !got[0].Time.Equal(now) {
		t.Errorf("Unsettled lost the record's details: %+v", got[0])
	}

	// Settling a page at a time, oldest first, reaches every record.
	var settled []int64
	for {
		page, err := db.Unsettled(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("Unsettled(3) returned %d records", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			r.Outcome = commands.OutcomeFailed
			if err := db.Finish(ctx, &r); err != nil {
				t.Fatal(err)
			}
			settled = append(settled, r.ID)
		}
	}
	if len(settled) != 4 || settled[0] != running || settled[3] != waiting2 {
		t.Errorf("settled %v, want %d..%d oldest first", settled, running, waiting2)
	}
}

// TestUnsettledReadsTheIndex checks that Unsettled's query is answered from
// the audit_unsettled partial index, so it costs the same with a large log.
func TestUnsettledReadsTheIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	open(t, path, time.Now())
	raw := sqlOpen(path)
	defer raw.Close()
	raw.SetMaxOpenConns(1) // the statistics below are loaded per connection
	for _, stats := range []bool{false, true} {
		if stats {
			// Statistics as of a large log, nearly all settled, as in
			// production; ANALYZE sqlite_schema loads them.
			if _, err := raw.Exec(`ANALYZE`); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
				('audit', 'audit_time', '1000000 1'), ('audit', 'audit_user', '1000000 100000 1000 1'),
				('audit', 'audit_unsettled', '3 1')`); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`ANALYZE sqlite_schema`); err != nil {
				t.Fatal(err)
			}
		}
		plan := queryPlan(t, raw, storage.UnsettledSQL, 50)
		if !strings.Contains(plan, "INDEX audit_unsettled") {
			t.Errorf("stats %v: Unsettled's plan does not use audit_unsettled:\n%s", stats, plan)
		}
		if strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("stats %v: Unsettled's plan sorts:\n%s", stats, plan)
		}
	}
}

func queryPlan(t *testing.T, raw *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := raw.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}
