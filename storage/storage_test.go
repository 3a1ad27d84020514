package storage_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/storage"
)

func open(t *testing.T, path string, now time.Time) *storage.DB {
	t.Helper()
	db, err := storage.Open(path, storage.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenMigratesOnceAndUsesWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	db := open(t, path, time.Now())
	ctx := context.Background()
	v1, err := db.SchemaVersion(ctx)
	if err != nil || v1 < 1 {
		t.Fatalf("schema version %d, %v", v1, err)
	}
	db.Close()
	db = open(t, path, time.Now())
	if v2, _ := db.SchemaVersion(ctx); v2 != v1 {
		t.Errorf("reopening changed the schema version from %d to %d", v1, v2)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var n int
	raw.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if n != v1 {
		t.Errorf("%d migrations recorded, want %d", n, v1)
	}
	if err := db.Writable(ctx); err != nil {
		t.Errorf("Writable: %v", err)
	}
}

func TestOpenRejectsEmptyPath(t *testing.T) {
	if _, err := storage.Open("", storage.Options{}); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

// BenchmarkAuditBeginFinish measures the audit log's cost per command run
// at once: Begin (pending) and Finish.
func BenchmarkAuditBeginFinish(b *testing.B) {
	db, err := storage.Open(filepath.Join(b.TempDir(), "w.db"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for b.Loop() {
		rec := &commands.AuditRecord{Platform: "console", UserID: "admin", Command: "protect", Args: map[string]string{"_": "Main Page", "edit": "sysop"}}
		if err := db.Begin(ctx, rec); err != nil {
			b.Fatal(err)
		}
		rec.Outcome = "ok"
		if err := db.Finish(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditQueuedStartFinish measures the audit log's cost per command
// that goes through the queue: Begin (queued), Start and Finish.
func BenchmarkAuditQueuedStartFinish(b *testing.B) {
	db, err := storage.Open(filepath.Join(b.TempDir(), "w.db"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for b.Loop() {
		rec := &commands.AuditRecord{Platform: "console", UserID: "admin", Command: "protect", Outcome: "queued",
			Args: map[string]string{"_": "Main Page", "edit": "sysop"}}
		if err := db.Begin(ctx, rec); err != nil {
			b.Fatal(err)
		}
		if err := db.Start(ctx, rec.ID); err != nil {
			b.Fatal(err)
		}
		rec.Outcome = "ok"
		if err := db.Finish(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstSeen measures the replay guard's cost per signed request,
// a new key each time, with a clock moving a millisecond a request so that
// its pruning runs as it would.
func BenchmarkFirstSeen(b *testing.B) {
	clock := testenv.NewClock(t0)
	db := openClock(b, filepath.Join(b.TempDir(), "w.db"), clock)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		clock.Add(time.Millisecond)
		first, err := db.FirstSeen(ctx, "slack", "v0="+strconv.Itoa(i), clock.Now().Add(5*time.Minute))
		if err != nil || !first {
			b.Fatal(first, err)
		}
	}
}
