package storage_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/storagetest"
)

func TestLinkAttemptStoresNoCode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	db := openClock(t, path, testenv.NewClock(t0))
	const code = "QX7-K2M9-ZP4W"
	a := storagetest.LinkAttempt("U1", "Ann", code, []byte("0123456789abcdef"), t0.Add(time.Hour))
	if err := db.SaveLinkAttempt(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	check := func(when string, files ...string) {
		t.Helper()
		var all []byte
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte(code)) {
				t.Errorf("%s: %s holds the code", when, filepath.Base(f))
			}
			all = append(all, data...)
		}
		if !bytes.Contains(all, a.CodeHash) {
			t.Errorf("%s: the code's hash is in none of the files", when)
		}
	}
	// While open the row is in the WAL; Close checkpoints it into the
	// database file.
	check("open", path, path+"-wal")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	files := []string{path}
	if _, err := os.Stat(path + "-wal"); err == nil {
		files = append(files, path+"-wal")
	}
	check("closed", files...)
}

// TestMigrationAddsLinks upgrades a database an older wikimod left, with
// audit records and no links: the records keep their fields with no wiki
// account, and links, attempts and wiki accounts in the audit work.
func TestMigrationAddsLinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	if err := storage.MigrateUpTo(path, 5); err != nil {
		t.Fatal(err)
	}
	raw := sqlOpen(path)
	if _, err := raw.Exec(`INSERT INTO audit (time_ms, platform, user_id, user_name, channel, command, args, outcome, code)
		VALUES (?, 'slack', 'U1', 'ann', 'C1', 'protect', '{"_":"Main Page"}', 'ok', '')`, t0.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db := openClock(t, path, testenv.NewClock(t0))
	ctx := context.Background()
	if v, err := db.SchemaVersion(ctx); err != nil || v < 6 {
		t.Fatalf("schema version %d, %v; want 6 or later", v, err)
	}
	old, err := db.Audit(ctx, storage.AuditFilter{})
	if err != nil || len(old) != 1 {
		t.Fatalf("Audit = %+v, %v", old, err)
	}
	if r := old[0]; r.WikiUser != "" || r.UserName != "ann" || r.Command != "protect" || r.Args["_"] != "Main Page" || !r.Time.Equal(t0) {
		t.Errorf("old record after the upgrade: %+v", r)
	}
	rec := &commands.AuditRecord{Platform: "slack", UserID: "U1", WikiUser: "Ann", Command: "block"}
	if err := db.Begin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Audit(ctx, storage.AuditFilter{WikiUser: "Ann"}); len(got) != 1 || got[0].ID != rec.ID {
		t.Errorf("Audit by wiki user after the upgrade = %+v", got)
	}
	if err := db.SaveLink(ctx, commands.Link{Wiki: commands.DefaultWiki, Platform: "slack", UserID: "U1", WikiUser: "Ann", Method: commands.LinkByMail}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveLinkAttempt(ctx, storagetest.LinkAttempt("U2", "Bob", "123456", []byte("s"), t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if n, err := db.AddWrongCode(ctx, commands.DefaultWiki, "slack", "U2"); err != nil || n != 1 {
		t.Errorf("AddWrongCode after the upgrade = %d, %v", n, err)
	}
}

// BenchmarkLink measures the link look-up every command makes for its
// actor: one linked chat identity among a thousand.
func BenchmarkLink(b *testing.B) {
	db := openClock(b, filepath.Join(b.TempDir(), "w.db"), testenv.NewClock(t0))
	ctx := context.Background()
	for i := range 1000 {
		uid := "U" + strconv.Itoa(i)
		if err := db.SaveLink(ctx, commands.Link{Wiki: "en", Platform: "slack", UserID: uid, WikiUser: "Ann" + strconv.Itoa(i), Method: commands.LinkByMail}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		l, ok, err := db.Link(ctx, "en", "slack", "U500")
		if err != nil || !ok || l.WikiUser != "Ann500" {
			b.Fatal(l, ok, err)
		}
	}
}
