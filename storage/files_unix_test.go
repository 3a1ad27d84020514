//go:build unix

package storage_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// fileModes writes a record and returns the permissions of the database
// and its -wal and -shm files.
func fileModes(t *testing.T, path string) map[string]fs.FileMode {
	t.Helper()
	db := open(t, path, time.Now())
	if err := db.Begin(context.Background(), &commands.AuditRecord{Platform: "console", UserID: "a", Command: "help"}); err != nil {
		t.Fatal(err)
	}
	modes := map[string]fs.FileMode{}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		modes[filepath.Base(f)] = fi.Mode().Perm()
	}
	return modes
}

// TestDatabaseFilesArePrivate checks that a new database, its WAL and its
// shared memory file are readable by their owner only, whatever the umask.
func TestDatabaseFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0) // the widest: SQLite alone would create 0644
	defer syscall.Umask(old)
	for name, mode := range fileModes(t, filepath.Join(t.TempDir(), "w.db")) {
		if mode != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", name, mode)
		}
	}
}

// TestExistingDatabaseKeepsItsMode checks that Open leaves an existing
// file's permissions, and that its -wal and -shm are no wider.
func TestExistingDatabaseKeepsItsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	for name, mode := range fileModes(t, path) {
		if mode != 0o640 {
			t.Errorf("%s has mode %#o, want 0640 as the database file", name, mode)
		}
	}
}
