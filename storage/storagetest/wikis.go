package storagetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// testAdoptWiki renames the default wiki's rows once an operator names the
// one wiki: everything moves in one go, a second call changes nothing, and
// records the default wiki gets later (the operator went back to [wiki]
// for a while) move on the next call.
func testAdoptWiki(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	const def = commands.DefaultWiki
	begin := func(wiki, command string) *commands.AuditRecord {
		t.Helper()
		rec := &commands.AuditRecord{Wiki: wiki, Platform: "slack", UserID: "U1", Command: command, Outcome: commands.OutcomeOK}
		if err := db.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	begin(def, "protect")
	begin(def, "block")
	noWiki := begin("", "help")
	for _, l := range []commands.Link{
		{Wiki: def, Platform: "slack", UserID: "U1", WikiUser: "Ann", Method: commands.LinkByMail},
		{Wiki: def, Platform: "discord", UserID: "D1", WikiUser: "Ann", Method: commands.LinkByPage},
	} {
		if err := db.SaveLink(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SaveLinkAttempt(ctx, LinkAttempt("U2", "Cat", "123456", []byte("salt"), t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddWrongCode(ctx, def, "slack", "U2"); err != nil {
		t.Fatal(err)
	}

	if err := db.AdoptWiki(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	if got := auditIDs(t, db, commands.AuditFilter{Wiki: "en"}); len(got) != 2 {
		t.Errorf("en's audit records = %v, want the 2 of the default wiki", got)
	}
	if got := auditIDs(t, db, commands.AuditFilter{Wiki: def}); len(got) != 0 {
		t.Errorf("the default wiki kept audit records: %v", got)
	}
	if r := record(t, db, noWiki.ID); r.Wiki != "" {
		t.Errorf("a record for no wiki was given %q", r.Wiki)
	}
	for _, id := range []struct{ platform, uid string }{{"slack", "U1"}, {"discord", "D1"}} {
		if l, ok, _ := db.Link(ctx, "en", id.platform, id.uid); !ok || l.WikiUser != "Ann" || l.Wiki != "en" {
			t.Errorf("en's link of %s %s = %+v, %v", id.platform, id.uid, l, ok)
		}
		if _, ok := getLink(t, db, id.platform, id.uid); ok {
			t.Errorf("the link of %s %s stayed the default wiki's", id.platform, id.uid)
		}
	}
	if a, ok, _ := db.LinkAttempt(ctx, "en", "slack", "U2"); !ok || a.Tries != 1 || a.WikiUser != "Cat" {
		t.Errorf("en's attempt = %+v, %v", a, ok)
	}
	if _, ok := getAttempt(t, db, "U2"); ok {
		t.Error("the attempt stayed the default wiki's")
	}

	// Again: nothing left to rename, nothing changes.
	if err := db.AdoptWiki(ctx, "en"); err != nil {
		t.Errorf("second AdoptWiki: %v", err)
	}
	if got := auditIDs(t, db, commands.AuditFilter{Wiki: "en"}); len(got) != 2 {
		t.Errorf("after a second AdoptWiki en has %d records", len(got))
	}
	// Commands for the default wiki after the adoption are adopted next
	// time, through another handle (a restart); another wiki's are not.
	later := begin(def, "help")
	other := begin("de", "help")
	db = open(fixed(t0))
	if err := db.AdoptWiki(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	if got := auditIDs(t, db, commands.AuditFilter{Wiki: "en"}); len(got) != 3 || got[0] != later.ID {
		t.Errorf("en's records after adopting again = %v, want the later one %d too", got, later.ID)
	}
	if got := auditIDs(t, db, commands.AuditFilter{Wiki: "de"}); len(got) != 1 || got[0] != other.ID {
		t.Errorf("another wiki's record was renamed: %v", got)
	}
	if err := db.AdoptWiki(ctx, def); err != nil {
		t.Errorf("adopting the default wiki itself: %v", err)
	}
	if err := db.AdoptWiki(ctx, ""); err == nil {
		t.Error("adopting a wiki with no name succeeded")
	}
}

// testAdoptWikiRefusesACollision: when the wiki to adopt already has rows
// about the same things as the default wiki's, AdoptWiki names the tables
// and renames nothing at all.
func testAdoptWikiRefusesACollision(t *testing.T, open Opener) {
	db := open(fixed(t0))
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
	if err := db.SaveLinkAttempt(ctx, LinkAttempt("U3", "Cat", "123456", []byte("salt"), t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	rec := &commands.AuditRecord{Wiki: def, Platform: "slack", UserID: "U1", Command: "help", Outcome: commands.OutcomeOK}
	if err := db.Begin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	err := db.AdoptWiki(ctx, "en")
	if !errors.Is(err, commands.ErrWikiCollision) || !strings.Contains(err.Error(), "links (1)") ||
		strings.Contains(err.Error(), "link_attempts") {
		t.Fatalf("AdoptWiki = %v; want ErrWikiCollision naming links alone", err)
	}
	if l, ok := getLink(t, db, "slack", "U2"); !ok || l.WikiUser != "Bob" {
		t.Errorf("a refused adoption renamed U2's link: %+v, %v", l, ok)
	}
	if _, ok := getAttempt(t, db, "U3"); !ok {
		t.Error("a refused adoption renamed U3's attempt")
	}
	if r := record(t, db, rec.ID); r.Wiki != def {
		t.Errorf("a refused adoption renamed the audit record's wiki to %q", r.Wiki)
	}
	// Another name does not collide.
	if err := db.AdoptWiki(ctx, "fr"); err != nil {
		t.Fatal(err)
	}
	if l, ok, _ := db.Link(ctx, "fr", "slack", "U1"); !ok || l.WikiUser != "Ann" {
		t.Errorf("fr's link = %+v, %v", l, ok)
	}
	if r := record(t, db, rec.ID); r.Wiki != "fr" {
		t.Errorf("the audit record went to %q, want fr", r.Wiki)
	}
}

// testSchemaAndWritable opens a database twice: the second open migrates
// nothing, and the database takes writes.
func testSchemaAndWritable(t *testing.T, open Opener) {
	ctx := context.Background()
	db := open(fixed(t0))
	v1, err := db.SchemaVersion(ctx)
	if err != nil || v1 < 1 {
		t.Fatalf("schema version %d, %v", v1, err)
	}
	if err := db.Writable(ctx); err != nil {
		t.Errorf("Writable: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(fixed(t0))
	if v2, err := db.SchemaVersion(ctx); err != nil || v2 != v1 {
		t.Errorf("reopening changed the schema version from %d to %d (%v)", v1, v2, err)
	}
}

func testUseAfterCloseIsAnError(t *testing.T, open Opener) {
	db := open(fixed(t0))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := context.Background()
	if err := db.Begin(ctx, &commands.AuditRecord{Platform: "console", UserID: "a", Command: "help"}); err == nil {
		t.Error("Begin after Close succeeded")
	}
	if _, err := db.Audit(ctx, commands.AuditFilter{}); err == nil {
		t.Error("Audit after Close succeeded")
	}
	if err := db.Writable(ctx); err == nil {
		t.Error("Writable after Close succeeded")
	}
	if _, err := db.FirstSeen(ctx, "slack", "k", t0.Add(time.Minute)); err == nil {
		t.Error("FirstSeen after Close succeeded")
	}
	if _, _, err := db.Link(ctx, "en", "slack", "U1"); err == nil {
		t.Error("Link after Close succeeded")
	}
}
