package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
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
