package storage_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/storagetest"
)

// v6 is what a database an older wikimod left (schema version 6, one wiki)
// holds, as filled by fillV6.
type v6 struct {
	path        string
	protections map[string]int64 // by type, the protections of "Old Page"
	reminders   []int64          // every reminder, in id order
	cursor      string
}

// fillV6 creates a database at schema version 6 and fills it the way the
// single-wiki wikimod did: audit records, two links, a link attempt with a
// wrong code, "Old Page" protected (edit and move) with reminders pending,
// one sent and one claimed by a tick that crashed, and the protect log
// sync's cursor.
func fillV6(t *testing.T) v6 {
	t.Helper()
	old := v6{path: filepath.Join(t.TempDir(), "w.db"), protections: map[string]int64{}, cursor: "2026-03-01T11:00:00Z|42"}
	if err := storage.MigrateUpTo(old.path, 6); err != nil {
		t.Fatal(err)
	}
	raw := sqlOpen(old.path)
	defer raw.Close()
	exec := func(q string, args ...any) int64 {
		t.Helper()
		res, err := raw.Exec(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		id, _ := res.LastInsertId()
		return id
	}
	ms := t0.UnixMilli()
	exec(`INSERT INTO audit (time_ms, platform, user_id, user_name, wiki_user, channel, command, args, outcome, code)
		VALUES (?, 'slack', 'U1', 'ann', 'Ann', 'C1', 'protect', '{"_":"Old Page"}', 'ok', '')`, ms)
	exec(`INSERT INTO audit (time_ms, platform, user_id, user_name, channel, command, args, outcome, code)
		VALUES (?, 'discord', 'D1', 'bob', 'D-CHAN', 'block', '{"_":"Vandal"}', 'denied', 'no-right')`, ms+1000)
	exec(`INSERT INTO links (platform, user_id, wiki_user, method, linked_ms) VALUES ('slack', 'U1', 'Ann', 'mail', ?)`, ms)
	exec(`INSERT INTO links (platform, user_id, wiki_user, method, linked_ms) VALUES ('discord', 'D1', 'Ann', 'page', ?)`, ms)
	a := storagetest.LinkAttempt("U2", "Cat", "123456", []byte("salt"), t0.Add(time.Hour))
	exec(`INSERT INTO link_attempts (platform, user_id, wiki_user, method, salt, code_hash, expires_ms, tries)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1)`, a.Platform, a.UserID, a.WikiUser, a.Method, a.Salt, a.CodeHash, a.Expires.UnixMilli())
	exp := t0.Add(48 * time.Hour).UnixMilli()
	for _, typ := range []string{"edit", "move"} {
		old.protections[typ] = exec(`INSERT INTO protections (title, type, level, expiry_ms, length_ms, set_by, platform, reason, set_ms, updated_ms)
			VALUES ('Old Page', ?, 'sysop', ?, ?, 'alice', 'slack', 'vandalism', ?, ?)`, typ, exp, 48*3600*1000, ms, ms)
		for _, r := range []struct {
			lead   int64
			status string
		}{{0, "pending"}, {3600 * 1000, "pending"}, {24 * 3600 * 1000, "sent"}} {
			old.reminders = append(old.reminders, exec(`INSERT INTO reminders (protection_id, expiry_ms, lead_ms, remind_ms, next_ms, status)
				VALUES (?, ?, ?, ?, ?, ?)`, old.protections[typ], exp, r.lead, exp-r.lead, exp-r.lead, r.status))
		}
	}
	// A tick claimed the move protection's 1-hour warning and died.
	exec(`UPDATE reminders SET status = 'claimed', claim = 9, claimed_ms = ? WHERE id = ?`, ms, old.reminders[4])
	exec(`INSERT INTO reminder_state (key, value) VALUES ('protect-log-cursor', ?)`, old.cursor)
	return old
}

// TestMigrationToWikisKeepsEverything upgrades a single-wiki database:
// every row is there afterwards as the default wiki's, the protections keep
// their ids and their reminders (none was cascaded away by rebuilding the
// table), foreign keys still hold and still cascade, and the sync cursor
// is the default wiki's.
func TestMigrationToWikisKeepsEverything(t *testing.T) {
	old := fillV6(t)
	db := openClock(t, old.path, testenv.NewClock(t0))
	ctx := context.Background()
	const def = commands.DefaultWiki

	if v, err := db.SchemaVersion(ctx); err != nil || v < 7 {
		t.Fatalf("schema version %d, %v; want 7 or later", v, err)
	}
	recs, err := db.Audit(ctx, storage.AuditFilter{})
	if err != nil || len(recs) != 2 {
		t.Fatalf("Audit = %+v, %v", recs, err)
	}
	for _, r := range recs {
		if r.Wiki != def {
			t.Errorf("old record %d (%s) has wiki %q, want %q", r.ID, r.Command, r.Wiki, def)
		}
	}
	if r := recs[1]; r.WikiUser != "Ann" || r.UserName != "ann" || r.Args["_"] != "Old Page" || !r.Time.Equal(t0) {
		t.Errorf("old record after the upgrade: %+v", r)
	}
	if got, _ := db.Audit(ctx, storage.AuditFilter{Wiki: def}); len(got) != 2 {
		t.Errorf("Audit of the default wiki = %d records, want 2", len(got))
	}

	for _, id := range []struct{ platform, uid string }{{"slack", "U1"}, {"discord", "D1"}} {
		l, ok, err := db.Link(ctx, def, id.platform, id.uid)
		if err != nil || !ok || l.WikiUser != "Ann" || l.Wiki != def || !l.Linked.Equal(t0) {
			t.Errorf("Link(%s, %s) = %+v, %v, %v", id.platform, id.uid, l, ok, err)
		}
		if _, ok, _ := db.Link(ctx, "en", id.platform, id.uid); ok {
			t.Errorf("%s %s is linked on en", id.platform, id.uid)
		}
	}
	if a, ok, err := db.LinkAttempt(ctx, def, "slack", "U2"); err != nil || !ok || a.WikiUser != "Cat" || a.Tries != 1 {
		t.Errorf("LinkAttempt = %+v, %v, %v", a, ok, err)
	}
	if n, err := db.AddWrongCode(ctx, def, "slack", "U2"); err != nil || n != 2 {
		t.Errorf("AddWrongCode = %d, %v; want 2", n, err)
	}

	ps, err := db.PageProtections(ctx, def, "Old Page")
	if err != nil || len(ps) != 2 {
		t.Fatalf("PageProtections = %+v, %v", ps, err)
	}
	for _, p := range ps {
		if p.ID != old.protections[p.Type] || p.Wiki != def || p.Level != "sysop" || p.Length != 48*time.Hour || p.Reason != "vandalism" {
			t.Errorf("protection after the upgrade: %+v, want id %d", p, old.protections[p.Type])
		}
	}
	rs, err := db.PageReminders(ctx, def, "Old Page")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	var got []string
	for _, r := range rs {
		ids = append(ids, r.ID)
		got = append(got, r.Protection.Type+"/"+r.Lead.String()+":"+r.Status)
		if r.Protection.ID != old.protections[r.Protection.Type] {
			t.Errorf("reminder %d points at protection %d, want %d", r.ID, r.Protection.ID, old.protections[r.Protection.Type])
		}
	}
	if !slices.Equal(ids, old.reminders) {
		t.Errorf("reminder ids %v, want %v", ids, old.reminders)
	}
	if want := "edit/0s:pending edit/1h0m0s:pending edit/24h0m0s:sent move/0s:pending move/1h0m0s:claimed move/24h0m0s:sent"; strings.Join(got, " ") != want {
		t.Errorf("reminders after the upgrade:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if v, err := db.ReminderState(ctx, def, "protect-log-cursor"); err != nil || v != old.cursor {
		t.Errorf("the default wiki's cursor = %q, %v; want %q", v, err, old.cursor)
	}
	if v, _ := db.ReminderState(ctx, "en", "protect-log-cursor"); v != "" {
		t.Errorf("en has a cursor: %q", v)
	}

	raw := sqlOpen(old.path)
	defer raw.Close()
	rows, err := raw.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check reports a broken reference after the upgrade")
	}
	rows.Close()
	var leftovers []string
	rows, err = raw.Query(`SELECT name FROM sqlite_schema WHERE name LIKE '%\_v6%' ESCAPE '\' OR sql LIKE '%\_v6%' ESCAPE '\'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		rows.Scan(&name)
		leftovers = append(leftovers, name)
	}
	rows.Close()
	if len(leftovers) > 0 {
		t.Errorf("the migration left %v behind", leftovers)
	}

	// The crashed tick's claim is recovered and goes out with the rest.
	if n, err := db.RecoverClaimed(ctx); err != nil || n != 1 {
		t.Errorf("RecoverClaimed = %d, %v; want 1", n, err)
	}
	if n, err := db.ClaimDue(ctx, t0.Add(47*time.Hour), 10); err != nil || n != 2 {
		t.Errorf("ClaimDue at the 1-hour warnings = %d, %v; want 2", n, err)
	}
	if groups := storagetest.ClaimedGroups(t, db, 10); len(groups) != 1 || groups[0].Wiki != def || len(groups[0].Reminders) != 2 || !groups[0].Reminders[1].Recovered {
		t.Errorf("claimed groups = %+v", groups)
	}
	if err := db.ReleaseClaim(ctx, 10); err != nil {
		t.Fatal(err)
	}

	// Deleting a protection still deletes its reminders: the rebuilt
	// reminders refer to the rebuilt protections.
	if res, err := db.ReconcilePage(ctx, def, "Old Page", nil, leads, t0.Add(time.Hour)); err != nil || res.Removed != 2 {
		t.Fatalf("lifting Old Page: %+v, %v", res, err)
	}
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM reminders`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d reminders outlived their protections (%v)", n, err)
	}
}

// TestAdoptWikiAfterTheUpgrade follows the upgrade of a single-wiki
// database to its end: once the operator names the one wiki, AdoptWiki
// gives it every row the migration made the default wiki's, and the
// protections keep their ids and reminders. What AdoptWiki does on any
// database (a second call, later records, a collision) the contract in
// storagetest checks.
func TestAdoptWikiAfterTheUpgrade(t *testing.T) {
	old := fillV6(t)
	db := openClock(t, old.path, testenv.NewClock(t0))
	ctx := context.Background()
	const def = commands.DefaultWiki

	if err := db.AdoptWiki(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Audit(ctx, storage.AuditFilter{Wiki: "en"}); len(got) != 2 {
		t.Errorf("en's audit records = %+v, want the 2 old ones", got)
	}
	if got, _ := db.Audit(ctx, storage.AuditFilter{Wiki: def}); len(got) != 0 {
		t.Errorf("the default wiki kept audit records: %+v", got)
	}
	if l, ok, _ := db.Link(ctx, "en", "slack", "U1"); !ok || l.WikiUser != "Ann" {
		t.Errorf("en's link = %+v, %v", l, ok)
	}
	if _, ok, _ := db.Link(ctx, def, "slack", "U1"); ok {
		t.Error("the link stayed the default wiki's")
	}
	if a, ok, _ := db.LinkAttempt(ctx, "en", "slack", "U2"); !ok || a.Tries != 1 {
		t.Errorf("en's attempt = %+v, %v", a, ok)
	}
	ps, _ := db.PageProtections(ctx, "en", "Old Page")
	if len(ps) != 2 || ps[0].ID != old.protections[ps[0].Type] {
		t.Errorf("en's protections = %+v", ps)
	}
	if rs, _ := db.PageReminders(ctx, "en", "Old Page"); len(rs) != len(old.reminders) {
		t.Errorf("en has %d reminders, want %d", len(rs), len(old.reminders))
	}
	if ps, _ := db.PageProtections(ctx, def, "Old Page"); len(ps) != 0 {
		t.Errorf("the default wiki kept protections: %+v", ps)
	}
	if v, _ := db.ReminderState(ctx, "en", "protect-log-cursor"); v != old.cursor {
		t.Errorf("en's cursor = %q, want %q", v, old.cursor)
	}
}
