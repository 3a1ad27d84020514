package storage_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/storage"
)

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
