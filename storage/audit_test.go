package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
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

// TestAuditWikiUser checks that the wiki account a command ran as is kept
// whether Begin or Finish learns it, that Finish without one keeps what
// Begin stored, and that Audit, Unsettled and the filter see it.
func TestAuditWikiUser(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	db := open(t, filepath.Join(t.TempDir(), "w.db"), now)
	ctx := context.Background()
	begin := func(uid, wikiUser string, outcome commands.Outcome) *commands.AuditRecord {
		t.Helper()
		rec := &commands.AuditRecord{Platform: "slack", UserID: uid, WikiUser: wikiUser, Command: "protect", Outcome: outcome}
		if err := db.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	wikiUserOf := func(id int64) string {
		t.Helper()
		all, err := db.Audit(ctx, storage.AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all {
			if r.ID == id {
				return r.WikiUser
			}
		}
		t.Fatalf("no audit record %d", id)
		return ""
	}

	// Known at Begin; Finish by ID alone keeps it.
	atBegin := begin("U1", "Ann", "")
	if got := wikiUserOf(atBegin.ID); got != "Ann" {
		t.Errorf("after Begin: wiki user %q, want Ann", got)
	}
	if err := db.Finish(ctx, &commands.AuditRecord{ID: atBegin.ID, Outcome: commands.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	if got := wikiUserOf(atBegin.ID); got != "Ann" {
		t.Errorf("Finish without a wiki user left %q, want Ann", got)
	}

	// Learnt when the command ran: Finish writes it.
	atFinish := begin("U2", "", "queued")
	if got := wikiUserOf(atFinish.ID); got != "" {
		t.Errorf("after Begin without one: wiki user %q", got)
	}
	atFinish.WikiUser, atFinish.Outcome = "Bob", commands.OutcomeOK
	if err := db.Finish(ctx, atFinish); err != nil {
		t.Fatal(err)
	}
	if got := wikiUserOf(atFinish.ID); got != "Bob" {
		t.Errorf("after Finish: wiki user %q, want Bob", got)
	}

	unlinked := begin("U3", "", "")
	pending := begin("U4", "Ann", "queued")
	if got, err := db.Unsettled(ctx, 0); err != nil || len(got) != 2 || got[0].ID != unlinked.ID ||
		got[0].WikiUser != "" || got[1].WikiUser != "Ann" {
		t.Errorf("Unsettled = %+v, %v; want U3 unlinked and U4 as Ann", got, err)
	}

	for _, c := range []struct {
		f    storage.AuditFilter
		want []int64
	}{
		{storage.AuditFilter{WikiUser: "Ann"}, []int64{pending.ID, atBegin.ID}},
		{storage.AuditFilter{WikiUser: "Bob"}, []int64{atFinish.ID}},
		{storage.AuditFilter{WikiUser: "Ann", UserID: "U4"}, []int64{pending.ID}},
		{storage.AuditFilter{WikiUser: "ann"}, nil},
		{storage.AuditFilter{}, []int64{pending.ID, unlinked.ID, atFinish.ID, atBegin.ID}},
	} {
		got, err := db.Audit(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("Audit(%+v) = %v, want %v", c.f, ids, c.want)
		}
	}
}
