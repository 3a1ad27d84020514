package storage_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/fulldisk"
)

// TestWritableOnAFullDisk: on a disk so full that the audit log takes no
// record, Writable says so, where taking the write lock and letting it go
// (the check it once made) still succeeds; once there is room again, it
// passes.
func TestWritableOnAFullDisk(t *testing.T) {
	disk := fulldisk.Mount(t, 1<<20)
	path := filepath.Join(disk.Dir, "wikimod.db")
	db := open(t, path, time.Now())
	ctx := context.Background()
	if err := db.Writable(ctx); err != nil {
		t.Fatalf("Writable with room: %v", err)
	}

	disk.Fill(t)
	// The write-ahead log may have room left for a few records.
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = db.Begin(ctx, &commands.AuditRecord{Platform: "console", UserID: "admin", Command: "protect",
			Args: map[string]string{"reason": strings.Repeat("spam ", 50)}})
	}
	if err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("Begin on a full disk = %v, want the disk full", err)
	}
	if err := lockOnly(path); err != nil {
		t.Fatalf("taking the write lock on a full disk: %v", err)
	}
	if err := db.Writable(ctx); err == nil || !strings.Contains(err.Error(), "full") {
		t.Errorf("Writable on a full disk = %v, want the disk full", err)
	}

	disk.Free(t)
	if err := db.Writable(ctx); err != nil {
		t.Errorf("Writable once there is room again: %v", err)
	}
	if err := db.Begin(ctx, &commands.AuditRecord{Platform: "console", UserID: "admin", Command: "help"}); err != nil {
		t.Errorf("Begin once there is room again: %v", err)
	}
}

// lockOnly takes the database's write lock and lets it go, writing nothing.
func lockOnly(path string) error {
	raw, err := sql.Open("sqlite3", "file:"+path+"?_txlock=immediate")
	if err != nil {
		return err
	}
	defer raw.Close()
	tx, err := raw.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.Exec(`UPDATE schema_migrations SET version = version WHERE 0`)
	return err
}
