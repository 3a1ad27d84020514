package storage_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/storage"
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
	a := attempt("U2", "Cat", "123456", []byte("salt"), t0.Add(time.Hour))
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
	if groups := claimedGroups(t, db, 10); len(groups) != 1 || groups[0].Wiki != def || len(groups[0].Reminders) != 2 || !groups[0].Reminders[1].Recovered {
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

// TestAdoptWiki renames the default wiki's rows once an operator names the
// one wiki: everything moves in one go, protections keep their ids and
// reminders, a second call changes nothing, and records the default wiki
// gets later (the operator went back to [wiki] for a while) move on the
// next call.
func TestAdoptWiki(t *testing.T) {
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

	// Again: nothing left to rename, nothing changes.
	if err := db.AdoptWiki(ctx, "en"); err != nil {
		t.Errorf("second AdoptWiki: %v", err)
	}
	if got, _ := db.Audit(ctx, storage.AuditFilter{Wiki: "en"}); len(got) != 2 {
		t.Errorf("after a second AdoptWiki en has %d records", len(got))
	}
	// Commands for the default wiki after the adoption are adopted next time.
	later := &commands.AuditRecord{Wiki: def, Platform: "console", UserID: "admin", Command: "help", Outcome: commands.OutcomeOK}
	if err := db.Begin(ctx, later); err != nil {
		t.Fatal(err)
	}
	other := &commands.AuditRecord{Wiki: "de", Platform: "console", UserID: "admin", Command: "help", Outcome: commands.OutcomeOK}
	if err := db.Begin(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := db.AdoptWiki(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Audit(ctx, storage.AuditFilter{Wiki: "en"}); len(got) != 3 || got[0].ID != later.ID {
		t.Errorf("en's records after adopting again = %+v, want the later one too", got)
	}
	if got, _ := db.Audit(ctx, storage.AuditFilter{Wiki: "de"}); len(got) != 1 {
		t.Errorf("another wiki's record was renamed: %+v", got)
	}
	if err := db.AdoptWiki(ctx, def); err != nil {
		t.Errorf("adopting the default wiki itself: %v", err)
	}
	if err := db.AdoptWiki(ctx, ""); err == nil {
		t.Error("adopting a wiki with no name succeeded")
	}
}

// TestAdoptWikiRefusesACollision: when the wiki to adopt already has rows
// about the same things as the default wiki's, AdoptWiki names the tables
// and renames nothing at all.
func TestAdoptWikiRefusesACollision(t *testing.T) {
	db := openClock(t, filepath.Join(t.TempDir(), "w.db"), testenv.NewClock(t0))
	ctx := context.Background()
	const def = commands.DefaultWiki
	for _, l := range []commands.Link{
		{Wiki: def, Platform: "slack", UserID: "U1", WikiUser: "Ann"},
		{Wiki: def, Platform: "slack", UserID: "U2", WikiUser: "Bob"},
		{Wiki: "en", Platform: "slack", UserID: "U1", WikiUser: "Ann2"},
	} {
		if err := db.SaveLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, wiki := range []string{def, "en"} {
		if _, err := db.ReconcilePage(ctx, wiki, "Page", []reminders.TrackedProtection{prot("edit", "sysop", t0.Add(time.Hour))}, nil, t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ReconcilePage(ctx, def, "Other", []reminders.TrackedProtection{prot("edit", "sysop", t0.Add(time.Hour))}, nil, t0); err != nil {
		t.Fatal(err)
	}
	err := db.AdoptWiki(ctx, "en")
	if !errors.Is(err, storage.ErrWikiCollision) || !strings.Contains(err.Error(), "links (1)") ||
		!strings.Contains(err.Error(), "protections (1)") || strings.Contains(err.Error(), "link_attempts") {
		t.Fatalf("AdoptWiki = %v; want ErrWikiCollision naming links and protections", err)
	}
	if l, ok, _ := db.Link(ctx, def, "slack", "U2"); !ok || l.WikiUser != "Bob" {
		t.Errorf("a refused adoption renamed U2's link: %+v, %v", l, ok)
	}
	if ps, _ := db.PageProtections(ctx, def, "Other"); len(ps) != 1 {
		t.Errorf("a refused adoption renamed Other's protection")
	}
	// Another name does not collide.
	if err := db.AdoptWiki(ctx, "fr"); err != nil {
		t.Fatal(err)
	}
	if l, ok, _ := db.Link(ctx, "fr", "slack", "U1"); !ok || l.WikiUser != "Ann" {
		t.Errorf("fr's link = %+v, %v", l, ok)
	}
}

// TestSameTitleOnTwoWikis keeps "Page" on en and "Page" on de apart:
// reconciling, listing, claiming, sending, retrying and dismissing one
// leaves the other as it was, and a claimed group never mixes them.
func TestSameTitleOnTwoWikis(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "w.db"), t0)
	ctx := context.Background()
	exp := t0.Add(48 * time.Hour)
	for _, wiki := range []string{"en", "de"} {
		p := prot("edit", "sysop", exp)
		p.Reason = "vandalism on " + wiki
		if res, err := db.ReconcilePage(ctx, wiki, "Page", []reminders.TrackedProtection{p}, leads, t0); err != nil || res.Added != 1 {
			t.Fatalf("%s: %+v, %v", wiki, res, err)
		}
	}
	// en's is extended; de's stays.
	if res, err := db.ReconcilePage(ctx, "en", "Page", []reminders.TrackedProtection{prot("edit", "sysop", exp.Add(time.Hour))}, leads, t0); err != nil || res.Changed != 1 {
		t.Fatalf("en changed: %+v, %v", res, err)
	}
	en, _ := db.PageProtections(ctx, "en", "Page")
	de, _ := db.PageProtections(ctx, "de", "Page")
	if len(en) != 1 || len(de) != 1 || en[0].ID == de[0].ID || !en[0].Expiry.Equal(exp.Add(time.Hour)) || !de[0].Expiry.Equal(exp) ||
		en[0].Wiki != "en" || de[0].Wiki != "de" || de[0].Reason != "vandalism on de" {
		t.Fatalf("en = %+v\nde = %+v", en, de)
	}
	if rs, _ := db.PageReminders(ctx, "de", "Page"); len(rs) != 3 || rs[0].Status != reminders.StatusPending {
		t.Errorf("de's reminders = %+v, want its three pending", rs)
	}
	if got, total, _ := db.ExpiringProtections(ctx, "de", t0, t0.Add(7*24*time.Hour), 10); total != 1 || got[0].Wiki != "de" {
		t.Errorf("de's expiring = %+v (%d)", got, total)
	}
	if got, total, _ := db.ExpiringProtections(ctx, "", t0, t0.Add(7*24*time.Hour), 10); total != 2 || got[0].Wiki != "de" || got[1].Wiki != "en" {
		t.Errorf("every wiki's expiring = %+v (%d)", got, total)
	}

	// Both 24-hour warnings fall due in one tick: two groups, one a wiki.
	now := exp.Add(-23 * time.Hour)
	if n, err := db.ClaimDue(ctx, now, 1); err != nil || n != 2 {
		t.Fatalf("claimed %d, %v", n, err)
	}
	groups := claimedGroups(t, db, 1)
	if len(groups) != 2 || groups[0].Wiki != "de" || groups[1].Wiki != "en" ||
		len(groups[0].Reminders) != 1 || groups[0].Reminders[0].Protection.Wiki != "de" ||
		len(groups[1].Reminders) != 1 || groups[1].Reminders[0].Protection.Wiki != "en" {
		t.Fatalf("claimed groups = %+v", groups)
	}
	// de's went out; en's failed and is retried.
	if err := db.MarkSent(ctx, 1, "de", nil, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RetryLater(ctx, 1, "en", nil, now, reminders.Backoff{Base: time.Minute, Max: time.Hour, Attempts: 3}, "en's channel failed", nil); err != nil {
		t.Fatal(err)
	}
	wantStatus := func(wiki string, want ...string) {
		t.Helper()
		rs, err := db.PageReminders(ctx, wiki, "Page")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			if r.Status != reminders.StatusCancelled {
				got = append(got, r.Lead.String()+":"+r.Status)
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s's reminders: got %v, want %v", wiki, got, want)
		}
	}
	wantStatus("de", "0s:pending", "24h0m0s:sent", "1h0m0s:pending")
	wantStatus("en", "0s:pending", "24h0m0s:pending", "1h0m0s:pending")

	// Dismissing de's page leaves en's page reminded.
	rs, _ := db.PageReminders(ctx, "de", "Page")
	if r, n, err := db.DismissReminders(ctx, rs[0].ID, "bob", now); err != nil || n != 2 || r.Protection.Wiki != "de" {
		t.Fatalf("dismiss de = %+v, %d, %v", r, n, err)
	}
	wantStatus("de", "0s:dismissed", "24h0m0s:sent", "1h0m0s:dismissed")
	wantStatus("en", "0s:pending", "24h0m0s:pending", "1h0m0s:pending")

	// Lifting en's protection keeps de's.
	if res, err := db.ReconcilePage(ctx, "en", "Page", nil, leads, now); err != nil || res.Removed != 1 {
		t.Fatalf("lifting en: %+v, %v", res, err)
	}
	if ps, _ := db.PageProtections(ctx, "de", "Page"); len(ps) != 1 {
		t.Errorf("lifting en's protection dropped de's")
	}

	// Each wiki has its own cursor.
	for _, wiki := range []string{"en", "de"} {
		if err := db.SetReminderState(ctx, wiki, "cursor", "at "+wiki); err != nil {
			t.Fatal(err)
		}
	}
	for _, wiki := range []string{"en", "de"} {
		if v, _ := db.ReminderState(ctx, wiki, "cursor"); v != "at "+wiki {
			t.Errorf("%s's cursor = %q", wiki, v)
		}
	}
	if _, err := db.ReconcilePage(ctx, "", "Page", nil, leads, now); err == nil {
		t.Error("ReconcilePage without a wiki succeeded")
	}
}
