package storage_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/storage"
)

// TestWritableWaitsNoLongerThanItsContext: while another process holds the
// write lock, Writable gives up when its context's deadline comes, not
// after SQLite's five-second busy timeout, and leaves the connection's
// busy timeout as it was for the writes that follow.
func TestWritableWaitsNoLongerThanItsContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wikimod.db")
	db := open(t, path, time.Now())
	before, err := storage.BusyTimeout(db)
	if err != nil || before < 1000 {
		t.Fatalf("busy timeout %d ms, %v", before, err)
	}

	other, err := sql.Open("sqlite3", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = db.Writable(ctx)
	took := time.Since(start)
	lock.Rollback()
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("Writable while another process writes = %v, want the database locked", err)
	}
	if busy := time.Duration(before) * time.Millisecond; took >= busy/2 {
		t.Errorf("Writable took %v with a 200ms deadline, as long as the busy timeout (%v)", took, busy)
	}
	if after, err := storage.BusyTimeout(db); err != nil || after != before {
		t.Errorf("busy timeout after the check = %d ms, %v; want %d", after, err, before)
	}
	if err := db.Writable(context.Background()); err != nil {
		t.Errorf("Writable once the lock is gone: %v", err)
	}
}
