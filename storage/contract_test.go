package storage_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/storagetest"
)

// TestContract runs the contract every backend keeps against SQLite: each
// test a database file of its own.
func TestContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Opener {
		path := filepath.Join(t.TempDir(), "w.db")
		return func(now func() time.Time) storagetest.Store {
			db, err := storage.Open(path, storage.Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	})
}
