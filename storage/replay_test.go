package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/storage"
)

func openClock(t testing.TB, path string, c *testenv.Clock) *storage.DB {
	t.Helper()
	db, err := storage.Open(path, storage.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// replayWindow is how long a signed request stays acceptable in these
// tests, as Slack's five minutes.
const replayWindow = 5 * time.Minute

func firstSeen(t *testing.T, db *storage.DB, platform, key string, expires time.Time) bool {
	t.Helper()
	first, err := db.FirstSeen(context.Background(), platform, key, expires)
	if err != nil {
		t.Fatal(err)
	}
	return first
}

func replayRows(t *testing.T, path string) int {
	t.Helper()
	raw := sqlOpen(path)
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM replays`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReplaysShrinkAfterWindow(t *testing.T) {
	clock := testenv.NewClock(t0)
	path := filepath.Join(t.TempDir(), "w.db")
	db := openClock(t, path, clock)
	ctx := context.Background()
	const flood = 5000
	for i := range flood {
		if i%1000 == 0 {
			clock.Add(time.Second)
		}
		if !firstSeen(t, db, "slack", fmt.Sprintf("v0=%064d", i), clock.Now().Add(replayWindow)) {
			t.Fatalf("key %d was not first", i)
		}
	}
	if n := replayRows(t, path); n != flood {
		t.Fatalf("%d keys stored, want %d", n, flood)
	}

	// Within the window nothing is pruned, and the keys are still refused.
	clock.Add(replayWindow - 10*time.Second)
	if firstSeen(t, db, "slack", fmt.Sprintf("v0=%064d", flood-1), clock.Now().Add(replayWindow)) {
		t.Error("a flooded key was first again within its window")
	}
	if n, err := db.PruneReplays(ctx, clock.Now()); err != nil || n != 0 {
		t.Errorf("PruneReplays within the window deleted %d, %v", n, err)
	}

	// Once the window has passed, the next FirstSeen prunes by itself.
	clock.Add(replayWindow)
	if !firstSeen(t, db, "slack", "after", clock.Now().Add(replayWindow)) {
		t.Error("a new key after the flood was not first")
	}
	if n := replayRows(t, path); n != 1 {
		t.Errorf("%d keys left after the window passed, want 1", n)
	}

	// Not more than once a minute: keys expiring now stay until then,
	// unless PruneReplays is called.
	for i := range 10 {
		firstSeen(t, db, "slack", fmt.Sprintf("short-%d", i), clock.Now().Add(time.Second))
	}
	clock.Add(30 * time.Second)
	firstSeen(t, db, "slack", "later", clock.Now().Add(replayWindow))
	if n := replayRows(t, path); n != 12 {
		t.Errorf("%d keys after half a minute, want 12 (no pruning yet)", n)
	}
	if n, err := db.PruneReplays(ctx, clock.Now()); err != nil || n != 10 {
		t.Errorf("PruneReplays deleted %d, %v; want 10", n, err)
	}
	if n := replayRows(t, path); n != 2 {
		t.Errorf("%d keys after PruneReplays, want 2", n)
	}
}

// TestFirstSeenStoresOnlyAHash checks that the key itself, a request's
// signature, is nowhere in the database files.
func TestFirstSeenStoresOnlyAHash(t *testing.T) {
	clock := testenv.NewClock(t0)
	path := filepath.Join(t.TempDir(), "w.db")
	db := openClock(t, path, clock)
	key := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	firstSeen(t, db, "slack", key, t0.Add(replayWindow))
	raw := sqlOpen(path)
	defer raw.Close()
	var stored []byte
	if err := raw.QueryRow(`SELECT key_hash FROM replays`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(key)); !bytes.Equal(stored, sum[:]) {
		t.Errorf("stored %x, want the SHA-256 of the key", stored)
	}
	for _, f := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(key)) || bytes.Contains(data, []byte(key[3:])) {
			t.Errorf("%s holds the key", filepath.Base(f))
		}
	}
}
