package storage_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/storagetest"
)

// TestAlertsCopy copies alerts and their cursors from one SQLite database
// into another, empty one: every column arrives.
func TestAlertsCopy(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *storage.DB {
		db, err := storage.Open(filepath.Join(dir, name), storage.Options{Now: time.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	storagetest.CopyAlerts(t, open("src.db"), open("dst.db"))
}
