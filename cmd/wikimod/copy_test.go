package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/bot/discord"
	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/postgres"
	"github.com/wikimod/wikimod/storage/storagetest"
)

// copyT0 is when the copy tests' source database was filled.
var copyT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// copySecret is the password in the tests' PostgreSQL DSNs. The test
// server trusts the socket and never asks for it; no output may show it.
const copySecret = "pw-9c1e7b-never-shown"

// copyStore is what the copy tests read a database back through: the
// public methods every backend has, and Dump for every column.
type copyStore interface {
	storagetest.Store
	Dump(ctx context.Context, yield func(storage.Batch) error) error
}

// copyPages are the pages whose protections fillSource tracks.
var copyPages = []struct{ wiki, title string }{{"en", "Page A"}, {"de", "Seite B"}, {"en", "Page C"}, {"en", "Gone"}}

// copyLinks are the chat identities fillSource links.
var copyLinks = []commands.Link{
	{Wiki: "en", Platform: "slack", UserID: "U1", WikiUser: "Ann", Method: commands.LinkByMail},
	{Wiki: "de", Platform: "slack", UserID: "U1", WikiUser: "Ann2", Method: commands.LinkByPage},
	{Wiki: "en", Platform: "discord", UserID: "D9", WikiUser: "Bob", Method: commands.LinkByPage},
}

// copyLanguages are the languages chat users chose in fillSource; U1 on
// Slack chose twice, and kept the second.
var copyLanguages = []struct{ platform, user, lang string }{{"slack", "U1", "zh-hans"}, {"discord", "D9", "tr"}}

// copyStateKeys are the reminder state keys fillSource sets.
var copyStateKeys = []struct{ wiki, key string }{{"en", "sync-cursor"}, {"de", "sync-cursor"}, {"en", "other"}}

// fillSource fills a SQLite database through the code paths wikimod
// takes: audit records begun, started and finished (with a wiki, a wiki
// account, an owner) or left unfinished, the default wiki adopted,
// identity links, protections tracked and their reminders claimed, sent,
// retried, recovered, dismissed and cancelled, the reminders' state,
// counts of refused requests, the languages chat users chose; and the short-lived things a copy leaves
// behind (a link attempt, a replay key, a Discord form, a lease).
func fillSource(t *testing.T, path string) {
	t.Helper()
	now := copyT0
	db, err := storage.Open(path, storage.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	at := func(d time.Duration) time.Time { return copyT0.Add(d) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// Two records of the one wiki of old, adopted by "en".
	for i := range 2 {
		rec := &commands.AuditRecord{Time: at(time.Duration(i)*time.Second + 7*time.Millisecond), Wiki: commands.DefaultWiki,
			Platform: "console", UserID: "admin", Command: "protect", Args: map[string]string{"_": fmt.Sprintf("Old page %d", i)}}
		must(db.Begin(ctx, rec))
		rec.Outcome, rec.Duration = commands.OutcomeOK, 2500*time.Microsecond
		must(db.Finish(ctx, rec))
	}
	must(db.AdoptWiki(ctx, "en"))

	// Finished with a result, after being queued and started.
	rec := &commands.AuditRecord{Time: at(time.Minute + 123*time.Millisecond), Wiki: "en", Platform: "slack", UserID: "U1",
		UserName: "Ann", WikiUser: "Ann", Channel: "C1", Command: "block", Owner: "host-1-abc123", Outcome: commands.OutcomeQueued,
		Args: map[string]string{"_": "Vandal", "reason": "spam in Zürich ☃", "password": "[redacted]", "nul": "a\x00b"}}
	must(db.Begin(ctx, rec))
	must(db.Start(ctx, rec.ID))
	rec.Outcome, rec.Result, rec.Duration = commands.OutcomeOK, []byte(`{"block":{"id":7,"user":"Vandal"}}`), 1234567*time.Microsecond
	must(db.Finish(ctx, rec))
	// No wiki could be chosen; still queued.
	must(db.Begin(ctx, &commands.AuditRecord{Time: at(2 * time.Minute), Wiki: "", Platform: "discord", UserID: "D9",
		UserName: "Bob", Command: "unblock", Owner: "host-1-abc123", Outcome: commands.OutcomeQueued, Args: map[string]string{}}))
	// Denied, with a code and no result.
	rec = &commands.AuditRecord{Time: at(3 * time.Minute), Wiki: "de", Platform: "discord", UserID: "D9", UserName: "Bob",
		Channel: "G1/C2", Command: "delete", Owner: "host-2-def456", Args: map[string]string{"_": "Seite"}}
	must(db.Begin(ctx, rec))
	rec.Outcome, rec.Code, rec.WikiUser = commands.OutcomeDenied, "permissiondenied", "Bob"
	must(db.Finish(ctx, rec))
	// Pending when wikimod stopped.
	must(db.Begin(ctx, &commands.AuditRecord{Time: at(4 * time.Minute), Wiki: "en", Platform: "slack", UserID: "U2",
		Command: "protect", Owner: "host-2-def456", Args: map[string]string{"_": "Page A", "edit": "sysop"}}))

	for i, l := range copyLinks {
		l.Linked = at(time.Duration(i)*time.Hour + 5*time.Millisecond)
		must(db.SaveLink(ctx, l))
	}

	// The tracked protections, scheduled at copyT0.
	prot := func(typ, level string, expiry time.Time) reminders.TrackedProtection {
		return reminders.TrackedProtection{Type: typ, Level: level, Expiry: expiry, Length: expiry.Sub(copyT0), SetBy: "Ann",
			SetByID: "U1", Platform: "slack", Channel: "C1", Reason: "vandalism", URL: "http://wiki.test/x"}
	}
	leads := []time.Duration{24 * time.Hour, time.Hour}
	reconcile := func(wiki, title string, want []reminders.TrackedProtection, now time.Time) {
		t.Helper()
		if _, err := db.ReconcilePage(ctx, wiki, title, want, leads, now); err != nil {
			t.Fatal(err)
		}
	}
	move := prot("move", "sysop", at(48*time.Hour))
	move.Cascade = true
	reconcile("en", "Page A", []reminders.TrackedProtection{prot("edit", "sysop", at(48*time.Hour)), move}, copyT0)
	reconcile("de", "Seite B", []reminders.TrackedProtection{prot("edit", "autoconfirmed", at(3*time.Hour))}, copyT0)
	reconcile("en", "Page C", []reminders.TrackedProtection{prot("edit", "sysop", at(30*time.Hour))}, copyT0)
	reconcile("en", "Gone", []reminders.TrackedProtection{prot("edit", "sysop", at(10*time.Hour))}, copyT0)
	// Page C's is extended (its first reminders cancelled); Gone's lifted.
	reconcile("en", "Page C", []reminders.TrackedProtection{prot("edit", "sysop", at(50*time.Hour))}, at(10*time.Minute))
	reconcile("en", "Gone", nil, at(10*time.Minute))

	// A day on: Page A's 24-hour warnings and Seite B's expiry are due
	// (its 1-hour warning is superseded). A tick claims them and wikimod
	// stops; the next start recovers them, and the next tick claims them
	// again: Seite B's is sent, Page A's edit fails on one channel, and its
	// move is still being sent when the copy is taken.
	now = at(25 * time.Hour)
	if n, err := db.ClaimDue(ctx, now, 111); err != nil || n != 3 {
		t.Fatalf("ClaimDue = %d, %v; want 3", n, err)
	}
	if n, err := db.RecoverClaimed(ctx); err != nil || n != 3 {
		t.Fatalf("RecoverClaimed = %d, %v", n, err)
	}
	if n, err := db.ClaimDue(ctx, now, 222); err != nil || n != 3 {
		t.Fatalf("ClaimDue again = %d, %v; want 3", n, err)
	}
	must(db.MarkSent(ctx, 222, "de", nil, now))
	claimed, err := db.ClaimedReminders(ctx, 222)
	must(err)
	var editID int64
	for _, r := range claimed {
		if r.Protection.Type == "edit" {
			editID = r.ID
		}
	}
	if _, err := db.RetryLater(ctx, 222, "en", []int64{editID}, now, reminders.Backoff{Base: time.Minute, Max: time.Hour, Attempts: 5},
		"slack: channel_not_found", []string{"discord:D1"}); err != nil {
		t.Fatal(err)
	}
	// A moderator dismisses Page C's reminders.
	cs, err := db.PageReminders(ctx, "en", "Page C")
	must(err)
	if _, n, err := db.DismissReminders(ctx, cs[len(cs)-1].ID, "Ann", now); err != nil || n == 0 {
		t.Fatalf("DismissReminders = %d, %v", n, err)
	}

	for i, k := range copyStateKeys {
		must(db.SetReminderState(ctx, k.wiki, k.key, fmt.Sprintf("%d|%s", i, at(time.Duration(i)*time.Hour).Format(time.RFC3339))))
	}
	must(db.AddSecurityCounts(ctx, []bot.SecurityCount{
		{Minute: copyT0, Platform: "slack", Kind: "bad-signature", Source: "10.0.0.1", Count: 3, Detail: "signature mismatch"},
		{Minute: at(time.Minute), Platform: "discord", Kind: "replayed-request", Source: "other", Count: 1},
		{Minute: at(time.Minute), Platform: "slack", Kind: "stale-timestamp", Source: "2001:db8::1", Count: 40, Detail: "5m old"},
	}))

	must(db.SetLanguage(ctx, "slack", "U1", "tr", at(time.Hour)))
	for i, l := range copyLanguages {
		must(db.SetLanguage(ctx, l.platform, l.user, l.lang, at(2*time.Hour+time.Duration(i)*time.Minute+3*time.Millisecond)))
	}
	must(db.SetLanguage(ctx, "console", "admin", "fi", at(time.Hour)))
	must(db.SetLanguage(ctx, "console", "admin", "", at(2*time.Hour)))

	// The short-lived things.
	must(db.SaveLinkAttempt(ctx, commands.LinkAttempt{Wiki: "en", Platform: "discord", UserID: "D7", WikiUser: "Carol",
		Method: commands.LinkByMail, Salt: []byte("salt"), CodeHash: []byte("hash"), Expires: at(30 * time.Hour)}))
	if _, err := db.FirstSeen(ctx, "slack", "sig-1", at(30*time.Hour)); err != nil {
		t.Fatal(err)
	}
	must(db.PutForm(ctx, "form-1", discord.PendingForm{UserID: "D9", Command: "resetpassword", Secret: "password"}, at(30*time.Hour)))
	if held, err := db.TryLease(ctx, "sync:en", "host-1-abc123", at(30*time.Hour), now); err != nil || !held {
		t.Fatalf("TryLease = %v, %v", held, err)
	}
}

// sqliteStore opens a SQLite database for reading back.
func sqliteStore(t *testing.T, path string) copyStore {
	t.Helper()
	db, err := storage.Open(path, storage.Options{Now: func() time.Time { return copyT0.Add(25 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// postgresStore opens a PostgreSQL database for reading back.
func postgresStore(t *testing.T, dsn string) copyStore {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{Now: func() time.Time { return copyT0.Add(25 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// sqliteStorageConfig writes a config whose [storage] is the SQLite file
// at path; the copy needs nothing else.
func sqliteStorageConfig(t *testing.T, path string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "sqlite.toml")
	writeFile(t, cfg, fmt.Sprintf("[storage]\ndriver = \"sqlite\"\npath = %q\n", path))
	return cfg
}

// postgresStorageConfig writes a config whose [storage] is the PostgreSQL
// database dsn names.
func postgresStorageConfig(t *testing.T, dsn string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "postgres.toml")
	writeFile(t, cfg, fmt.Sprintf("[storage]\ndriver = \"postgres\"\ndsn = %q\n", dsn))
	return cfg
}

// runCopy runs wikimod storage copy and returns its exit code and output.
func runCopy(t *testing.T, from, to string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main([]string{"storage", "copy", "-from-config", from, "-to-config", to}, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// dumpAll reads every row db's Dump hands over, in one Batch.
func dumpAll(t *testing.T, db copyStore) storage.Batch {
	t.Helper()
	var all storage.Batch
	err := db.Dump(context.Background(), func(b storage.Batch) error {
		all.Audit = append(all.Audit, b.Audit...)
		all.Links = append(all.Links, b.Links...)
		all.Protections = append(all.Protections, b.Protections...)
		all.Reminders = append(all.Reminders, b.Reminders...)
		all.ReminderState = append(all.ReminderState, b.ReminderState...)
		all.SecurityCounts = append(all.SecurityCounts, b.SecurityCounts...)
		all.StorageState = append(all.StorageState, b.StorageState...)
		all.Languages = append(all.Languages, b.Languages...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// sameStore checks that dst reads back as src does, through every public
// method that reads what a copy copies, and column by column through Dump.
func sameStore(t *testing.T, src, dst copyStore) {
	t.Helper()
	ctx := context.Background()
	same := func(what string, got, want any) {
		t.Helper()
		if empty(got) && empty(want) {
			return // one backend's nil is the other's empty slice
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs:\n got %+v\nwant %+v", what, got, want)
		}
	}
	call := func(what string, f func(copyStore) (any, error)) {
		t.Helper()
		want, err := f(src)
		if err != nil {
			t.Fatalf("%s of the source: %v", what, err)
		}
		got, err := f(dst)
		if err != nil {
			t.Fatalf("%s of the copy: %v", what, err)
		}
		same(what, got, want)
	}

	sameRows(t, dumpAll(t, dst), dumpAll(t, src))
	call("Audit", func(db copyStore) (any, error) { return db.Audit(ctx, storage.AuditFilter{Limit: 1000}) })
	call("Audit of wiki en", func(db copyStore) (any, error) { return db.Audit(ctx, storage.AuditFilter{Wiki: "en"}) })
	call("Unsettled", func(db copyStore) (any, error) { return db.Unsettled(ctx, 100) })
	for _, l := range copyLinks {
		call("Link "+l.Wiki+" "+l.UserID, func(db copyStore) (any, error) {
			got, ok, err := db.Link(ctx, l.Wiki, l.Platform, l.UserID)
			if !ok && err == nil {
				err = fmt.Errorf("no link")
			}
			return got, err
		})
	}
	for _, wiki := range []string{"", "en", "de"} {
		call("ExpiringProtections of "+wiki, func(db copyStore) (any, error) {
			ps, n, err := db.ExpiringProtections(ctx, wiki, copyT0.Add(-time.Hour), copyT0.Add(1000*time.Hour), 100)
			return fmt.Sprint(n, ps), err
		})
	}
	for _, p := range copyPages {
		rs, err := src.PageReminders(ctx, p.wiki, p.title)
		if err != nil {
			t.Fatal(err)
		}
		call("PageReminders of "+p.title, func(db copyStore) (any, error) { return db.PageReminders(ctx, p.wiki, p.title) })
		for _, r := range rs {
			call(fmt.Sprint("Reminder ", r.ID), func(db copyStore) (any, error) { return db.Reminder(ctx, r.ID) })
		}
	}
	for _, k := range copyStateKeys {
		call("ReminderState "+k.wiki+" "+k.key, func(db copyStore) (any, error) { return db.ReminderState(ctx, k.wiki, k.key) })
	}
	call("SecurityCounts", func(db copyStore) (any, error) { return db.SecurityCounts(ctx, copyT0.Add(-time.Hour), 100) })
	for _, l := range copyLanguages {
		call("Language "+l.platform+" "+l.user, func(db copyStore) (any, error) { return db.Language(ctx, l.platform, l.user) })
	}
	call("DueReminders", func(db copyStore) (any, error) { return db.DueReminders(ctx, copyT0.Add(100*time.Hour)) })
}

// sameRows checks that two dumps hold the same rows, table by table,
// naming the first row of each table that differs.
func sameRows(t *testing.T, got, want storage.Batch) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		table := g.Type().Field(i).Name
		gs, ws := g.Field(i), w.Field(i)
		if gs.Len() != ws.Len() {
			t.Errorf("%s: %d rows, want %d", table, gs.Len(), ws.Len())
			continue
		}
		for j := range gs.Len() {
			if !reflect.DeepEqual(gs.Index(j).Interface(), ws.Index(j).Interface()) {
				t.Errorf("%s row %d differs:\n got %+v\nwant %+v", table, j, gs.Index(j), ws.Index(j))
				break
			}
		}
	}
}

// empty reports whether v is a slice with nothing in it.
func empty(v any) bool {
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Slice && r.Len() == 0
}

// checkSource checks that fillSource left what the tests compare: every
// kind of row, and reminders in every state it made.
func checkSource(t *testing.T, src copyStore) {
	t.Helper()
	all := dumpAll(t, src)
	statuses := map[string]int{}
	var recovered, delivered, claimed int
	for _, r := range all.Reminders {
		statuses[r.Status]++
		if r.Recovered {
			recovered++
		}
		if len(r.Delivered) > 0 {
			delivered++
		}
		if r.Claim != 0 && !r.ClaimedAt.IsZero() {
			claimed++
		}
	}
	for _, s := range []string{"pending", "claimed", "sent", "cancelled", "dismissed", "superseded"} {
		if statuses[s] == 0 {
			t.Errorf("the source has no %s reminder: %v", s, statuses)
		}
	}
	if recovered == 0 || delivered == 0 || claimed == 0 {
		t.Errorf("the source has %d recovered, %d partly delivered, %d claimed reminders", recovered, delivered, claimed)
	}
	if len(all.Audit) != 6 || len(all.Links) != 3 || len(all.Protections) != 4 || len(all.ReminderState) != 3 ||
		len(all.SecurityCounts) != 3 || len(all.StorageState) != 1 || len(all.Languages) != len(copyLanguages) {
		t.Fatalf("the source holds %d audit records, %d links, %d protections, %d states, %d counts, %d marks, %d languages",
			len(all.Audit), len(all.Links), len(all.Protections), len(all.ReminderState), len(all.SecurityCounts), len(all.StorageState),
			len(all.Languages))
	}
}

// checkCopyOutput checks that the copy's report names each table with
// the rows copied, and what it did not copy.
func checkCopyOutput(t *testing.T, out string, src storage.Batch) {
	t.Helper()
	for table, n := range map[string]int{"audit": len(src.Audit), "links": len(src.Links), "protections": len(src.Protections),
		"reminders": len(src.Reminders), "reminder_state": len(src.ReminderState), "security_counts": len(src.SecurityCounts),
		"storage_state": len(src.StorageState), "languages": len(src.Languages)} {
		if !regexp.MustCompile(`(?m)^\s+` + table + `\s+` + fmt.Sprint(n) + ` rows$`).MatchString(out) {
			t.Errorf("the report does not say %d rows of %s were copied:\n%s", n, table, out)
		}
	}
	for _, skipped := range []string{"replays", "link_attempts", "forms", "leases"} {
		if !regexp.MustCompile(`(?s)not copied.*\b` + skipped + `\b`).MatchString(out) {
			t.Errorf("the report does not say %s was not copied:\n%s", skipped, out)
		}
	}
}

// checkShortLivedLeftBehind checks that the copy holds none of the
// short-lived things fillSource made.
func checkShortLivedLeftBehind(t *testing.T, dst copyStore) {
	t.Helper()
	ctx := context.Background()
	now := copyT0.Add(25 * time.Hour)
	if _, ok, err := dst.LinkAttempt(ctx, "en", "discord", "D7"); err != nil || ok {
		t.Errorf("the link attempt was copied (%v, %v)", ok, err)
	}
	if first, err := dst.FirstSeen(ctx, "slack", "sig-1", copyT0.Add(30*time.Hour)); err != nil || !first {
		t.Errorf("the replay key was copied (first seen %v, %v)", first, err)
	}
	if _, found, _, err := dst.TakeForm(ctx, "form-1", "D9", now); err != nil || found {
		t.Errorf("the form was copied (%v, %v)", found, err)
	}
	if held, err := dst.TryLease(ctx, "sync:en", "another", now.Add(time.Minute), now); err != nil || !held {
		t.Errorf("the lease was copied (another could not take it: %v, %v)", held, err)
	}
}

// checkNewIDsFollow checks that rows added to the copy take ids after the
// copied ones: an audit record, a protection and its reminders.
func checkNewIDsFollow(t *testing.T, dst copyStore, src storage.Batch) {
	t.Helper()
	ctx := context.Background()
	last := func(ids ...int64) int64 { return ids[len(ids)-1] }
	var auditIDs, protIDs, remIDs []int64
	for _, r := range src.Audit {
		auditIDs = append(auditIDs, r.ID)
	}
	for _, r := range src.Protections {
		protIDs = append(protIDs, r.ID)
	}
	for _, r := range src.Reminders {
		remIDs = append(remIDs, r.ID)
	}
	rec := &commands.AuditRecord{Wiki: "en", Platform: "console", UserID: "admin", Command: "protect"}
	if err := dst.Begin(ctx, rec); err != nil || rec.ID <= last(auditIDs...) {
		t.Errorf("a new audit record has id %d (%v); the last copied was %d", rec.ID, err, last(auditIDs...))
	}
	now := copyT0.Add(26 * time.Hour)
	p := reminders.TrackedProtection{Type: "edit", Level: "sysop", Expiry: now.Add(48 * time.Hour), SetBy: "Ann", Platform: "slack"}
	if _, err := dst.ReconcilePage(ctx, "en", "New page", []reminders.TrackedProtection{p}, []time.Duration{time.Hour}, now); err != nil {
		t.Fatalf("tracking a new protection in the copy: %v", err)
	}
	rs, err := dst.PageReminders(ctx, "en", "New page")
	if err != nil || len(rs) == 0 {
		t.Fatalf("the new protection's reminders: %v, %v", rs, err)
	}
	for _, r := range rs {
		if r.ID <= last(remIDs...) || r.Protection.ID <= last(protIDs...) {
			t.Errorf("a new reminder %d of protection %d; the last copied were %d and %d", r.ID, r.Protection.ID, last(remIDs...), last(protIDs...))
		}
	}
}

// auditJSONOf returns what wikimod audit -json prints for the config.
func auditJSONOf(t *testing.T, cfg string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"audit", "-config", cfg, "-n", "100", "-json"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("wikimod audit = %d: %s", code, stderr.String())
	}
	return stdout.String()
}

// TestStorageCopySQLiteToPostgres copies a SQLite database filled through
// wikimod's own code into a new PostgreSQL database, its password in the
// environment (WIKIMOD_STORAGE_DSN), and reads everything back alike: the
// audit log (wikimod audit prints the same), links, protections and
// reminders in every state, the reminders' state, the security counts.
// What is short-lived stays behind, new rows take ids after the copied
// ones, and no output shows the password. The copy is then copied back
// into a new SQLite file, which reads as the first.
func TestStorageCopySQLiteToPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	srcPath := filepath.Join(t.TempDir(), "old.db")
	fillSource(t, srcPath)
	src := sqliteStore(t, srcPath)
	checkSource(t, src)
	srcRows := dumpAll(t, src)

	t.Setenv("WIKIMOD_STORAGE_DSN", dsn+" password="+copySecret)
	fromCfg, toCfg := sqliteStorageConfig(t, srcPath), postgresStorageConfig(t, "")
	code, stdout, stderr := runCopy(t, fromCfg, toCfg)
	if code != 0 {
		t.Fatalf("wikimod storage copy = %d:\n%s%s", code, stdout, stderr)
	}
	t.Logf("wikimod storage copy:\n%s", stdout)
	if strings.Contains(stdout+stderr, copySecret) {
		t.Errorf("the output shows the DSN's password:\n%s%s", stdout, stderr)
	}
	checkCopyOutput(t, stdout, srcRows)

	dst := postgresStore(t, dsn)
	sameStore(t, src, dst)
	if got, want := auditJSONOf(t, toCfg), auditJSONOf(t, fromCfg); got != want {
		t.Errorf("wikimod audit reads the copy differently:\n got %s\nwant %s", got, want)
	}
	checkShortLivedLeftBehind(t, dst)

	// Back into SQLite, before the copy changes.
	backPath := filepath.Join(t.TempDir(), "back.db")
	if code, stdout, stderr := runCopy(t, toCfg, sqliteStorageConfig(t, backPath)); code != 0 {
		t.Fatalf("copy back = %d:\n%s%s", code, stdout, stderr)
	}
	sameStore(t, src, sqliteStore(t, backPath))

	checkNewIDsFollow(t, dst, srcRows)
}

// TestStorageCopySQLiteToSQLite copies a SQLite database into a new file.
func TestStorageCopySQLiteToSQLite(t *testing.T) {
	srcPath, dstPath := filepath.Join(t.TempDir(), "old.db"), filepath.Join(t.TempDir(), "new.db")
	fillSource(t, srcPath)
	src := sqliteStore(t, srcPath)
	checkSource(t, src)
	srcRows := dumpAll(t, src)
	code, stdout, stderr := runCopy(t, sqliteStorageConfig(t, srcPath), sqliteStorageConfig(t, dstPath))
	if code != 0 {
		t.Fatalf("wikimod storage copy = %d:\n%s%s", code, stdout, stderr)
	}
	checkCopyOutput(t, stdout, srcRows)
	dst := sqliteStore(t, dstPath)
	sameStore(t, src, dst)
	checkShortLivedLeftBehind(t, dst)
	checkNewIDsFollow(t, dst, srcRows)
}

// TestStorageCopyRefusesANonEmptyTarget: a target holding rows in any
// table a copy writes is refused, saying so and how to start from an
// empty database, and is left exactly as it was; the error shows no
// password.
func TestStorageCopyRefusesANonEmptyTarget(t *testing.T) {
	srcPath := filepath.Join(t.TempDir(), "old.db")
	fillSource(t, srcPath)
	fromCfg := sqliteStorageConfig(t, srcPath)
	ctx := context.Background()

	targets := map[string]func(t *testing.T) (cfg string, db copyStore){
		"postgres": func(t *testing.T) (string, copyStore) {
			dsn := postgresDSN(t)
			return postgresStorageConfig(t, dsn+" password="+copySecret), postgresStore(t, dsn)
		},
		"sqlite": func(t *testing.T) (string, copyStore) {
			path := filepath.Join(t.TempDir(), "new.db")
			return sqliteStorageConfig(t, path), sqliteStore(t, path)
		},
	}
	// Each holds one row, in one table.
	fills := map[string]func(db copyStore) error{
		"audit": func(db copyStore) error {
			return db.Begin(ctx, &commands.AuditRecord{Wiki: "en", Platform: "console", UserID: "admin", Command: "protect"})
		},
		"reminder_state": func(db copyStore) error { return db.SetReminderState(ctx, "en", "sync-cursor", "x") },
		"languages":      func(db copyStore) error { return db.SetLanguage(ctx, "slack", "U1", "tr", time.Time{}) },
		"security_counts": func(db copyStore) error {
			return db.AddSecurityCounts(ctx, []bot.SecurityCount{{Platform: "slack", Kind: "bad-signature", Source: "other", Count: 1}})
		},
	}
	for backend, open := range targets {
		for table, fill := range fills {
			t.Run(backend+"/"+table, func(t *testing.T) {
				toCfg, dst := open(t)
				if err := fill(dst); err != nil {
					t.Fatal(err)
				}
				before := dumpAll(t, dst)
				code, stdout, stderr := runCopy(t, fromCfg, toCfg)
				if code == 0 {
					t.Fatalf("copying into a database holding %s succeeded:\n%s", table, stdout)
				}
				t.Logf("refused: %s", stderr)
				advice := map[string]string{"postgres": "createdb", "sqlite": "no file exists yet"}[backend]
				for _, want := range []string{"nothing was copied", "not empty", table + " (1)", "empty database", advice} {
					if !strings.Contains(stderr, want) {
						t.Errorf("the refusal does not say %q:\n%s", want, stderr)
					}
				}
				if strings.Contains(stdout+stderr, copySecret) {
					t.Errorf("the output shows the DSN's password:\n%s%s", stdout, stderr)
				}
				if after := dumpAll(t, dst); !reflect.DeepEqual(after, before) {
					t.Errorf("the refused copy wrote:\n got %+v\nwant %+v", after, before)
				}
			})
		}
	}
}

// TestStorageCopyRefusesMistakes: a missing source, one database named
// twice, and a PostgreSQL database that cannot be reached are each
// refused with a message that says so and shows no password.
func TestStorageCopyRefusesMistakes(t *testing.T) {
	dsn := postgresDSN(t)
	dir := t.TempDir()
	srcPath := filepath.Join(dir, "old.db")
	fillSource(t, srcPath)
	withSecret := dsn + " password=" + copySecret
	gone := strings.Replace(dsn, "dbname=", "dbname=nosuchdb_", 1) + " password=" + copySecret
	cases := []struct {
		name, from, to, want string
	}{
		{"missing source", sqliteStorageConfig(t, filepath.Join(dir, "typo.db")), postgresStorageConfig(t, withSecret), "does not exist"},
		{"same file", sqliteStorageConfig(t, srcPath), sqliteStorageConfig(t, filepath.Join(dir, ".", "old.db")), "same database"},
		{"same postgres", postgresStorageConfig(t, withSecret), postgresStorageConfig(t, withSecret), "same database"},
		{"unreachable target", sqliteStorageConfig(t, srcPath), postgresStorageConfig(t, gone), "nosuchdb_"},
		{"no target", sqliteStorageConfig(t, srcPath), "", "-to-config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCopy(t, c.from, c.to)
			if code == 0 || !strings.Contains(stderr, c.want) {
				t.Errorf("copy = %d, want a failure saying %q:\n%s%s", code, c.want, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, copySecret) {
				t.Errorf("the output shows the DSN's password:\n%s%s", stdout, stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "typo.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the mistyped source was created (%v)", err)
	}
}

// TestAlertsCopyAcrossBackends copies alerts (raised, posted, acted on)
// and the recent-changes cursors from SQLite into PostgreSQL and from
// PostgreSQL into SQLite: every column arrives, new alerts are numbered
// after the copied ones, and a burst copied goes on in the copy rather
// than being raised again.
func TestAlertsCopyAcrossBackends(t *testing.T) {
	t.Run("sqlite-to-postgres", func(t *testing.T) {
		storagetest.CopyAlerts(t, sqliteStore(t, filepath.Join(t.TempDir(), "src.db")), postgresStore(t, postgresDSN(t)))
	})
	t.Run("postgres-to-sqlite", func(t *testing.T) {
		storagetest.CopyAlerts(t, postgresStore(t, postgresDSN(t)), sqliteStore(t, filepath.Join(t.TempDir(), "dst.db")))
	})
}
