package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/storagetest"
)

func dbSize(t *testing.T, path string) int64 {
	t.Helper()
	raw := sqlOpen(path)
	defer raw.Close()
	var busy, frames, done int
	if err := raw.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil || busy != 0 {
		t.Fatalf("checkpoint: busy %d, %v", busy, err)
	}
	var size int64
	for _, f := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	return size
}

// TestSecurityCountsFloodStaysSmall stores 100,000 refusals as a flusher
// would, in 1,000 aggregated batches over four minutes from five sources:
// the file grows by a few pages, not by a row per refusal.
func TestSecurityCountsFloodStaysSmall(t *testing.T) {
	clock := testenv.NewClock(t0)
	path := filepath.Join(t.TempDir(), "w.db")
	db := openClock(t, path, clock)
	ctx := context.Background()
	before := dbSize(t, path)

	const batches, perBatch = 1000, 100
	sources := []string{"203.0.113.1", "203.0.113.2", "198.51.100.3", "2001:db8::4", "other"}
	kinds := []string{"bad-signature", "stale-timestamp"}
	for range batches {
		var batch []commands.SecurityCount
		for _, src := range sources {
			for _, kind := range kinds {
				batch = append(batch, commands.SecurityCount{Minute: clock.Now().Truncate(time.Minute), Platform: "slack",
					Kind: kind, Source: src, Count: perBatch / int64(len(sources)*len(kinds)), Detail: "signature mismatch"})
			}
		}
		if err := db.AddSecurityCounts(ctx, batch); err != nil {
			t.Fatal(err)
		}
		clock.Add(240 * time.Millisecond) // 1,000 batches in four minutes
	}

	all, err := db.SecurityCounts(ctx, t0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range all {
		total += c.Count
	}
	if total != batches*perBatch || len(all) != 4*len(sources)*len(kinds) {
		t.Errorf("%d refusals in %d counts, want %d in %d", total, len(all), batches*perBatch, 4*len(sources)*len(kinds))
	}
	grew := dbSize(t, path) - before
	t.Logf("%d refusals in %d counts grew the database from %d by %d bytes", total, len(all), before, grew)
	if grew >= 1<<20 {
		t.Errorf("%d refusals grew the database by %d bytes, want under 1 MB", total, grew)
	}

	n, err := db.PruneSecurityCounts(ctx, t0.Add(2*time.Minute))
	if want := int64(2 * len(sources) * len(kinds)); err != nil || n != want {
		t.Errorf("PruneSecurityCounts = %d, %v; want %d", n, err, want)
	}
	left, _ := db.SecurityCounts(ctx, time.Time{}, 1000)
	for _, c := range left {
		if c.Minute.Before(t0.Add(2 * time.Minute)) {
			t.Errorf("pruned minute %s is still there", c.Minute)
		}
	}
	if len(left) != 2*len(sources)*len(kinds) {
		t.Errorf("%d counts left, want %d", len(left), 2*len(sources)*len(kinds))
	}
}

// TestMigrationFoldsSecurityEvents upgrades a database an older wikimod left
// with one security_events row per refusal: the rows become counts and the
// old table goes.
func TestMigrationFoldsSecurityEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	if err := storage.MigrateUpTo(path, 2); err != nil {
		t.Fatal(err)
	}
	raw := sqlOpen(path)
	defer raw.Close()
	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	for _, ev := range []struct {
		at                     time.Duration
		platform, kind, remote string
		detail                 string
	}{
		{5 * time.Second, "slack", "bad-signature", "203.0.113.7:5123", ""},
		{20 * time.Second, "slack", "bad-signature", "203.0.113.7:6000", "signature mismatch"},
		{59 * time.Second, "slack", "bad-signature", "203.0.113.7:6001", "later detail"},
		{61 * time.Second, "slack", "bad-signature", "203.0.113.7:6002", "next minute"},
		{30 * time.Second, "discord", "bad-signature", "[2001:db8::1]:443", "bad ed25519"},
		{31 * time.Second, "discord", "bad-signature", "[2001:db8::1]:444", ""},
		{40 * time.Second, "slack", "stale-timestamp", "", ""},
		{50 * time.Second, "slack", "stale-timestamp", "198.51.100.2", "no port"},
	} {
		if _, err := raw.Exec(`INSERT INTO security_events (time_ms, platform, kind, remote, detail) VALUES (?, ?, ?, ?, ?)`,
			ms(ev.at), ev.platform, ev.kind, ev.remote, ev.detail); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db := open(t, path, t0)
	if v, err := db.SchemaVersion(context.Background()); err != nil || v < 5 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	storagetest.WantCounts(t, storagetest.SecurityCounts(t, db, time.Time{}, 0),
		`12:01:00 slack bad-signature 203.0.113.7 1 "next minute"`,
		`12:00:00 slack bad-signature 203.0.113.7 3 "signature mismatch"`,
		`12:00:00 discord bad-signature 2001:db8::1 2 "bad ed25519"`,
		`12:00:00 slack stale-timestamp 198.51.100.2 1 "no port"`,
		`12:00:00 slack stale-timestamp other 1 ""`)
	raw = sqlOpen(path)
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE 'security_events%'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d security_events tables or indexes left, %v", n, err)
	}
}
