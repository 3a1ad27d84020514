package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// auditIDs runs Audit and returns the ids of the records, in its order.
func auditIDs(t *testing.T, db Store, f commands.AuditFilter) []int64 {
	t.Helper()
	got, err := db.Audit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	return ids
}

// record returns the audit record id, failing the test without it.
func record(t *testing.T, db Store, id int64) commands.AuditRecord {
	t.Helper()
	all, err := db.Audit(context.Background(), commands.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no audit record %d", id)
	return commands.AuditRecord{}
}

func testAuditRoundTrip(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	// A time given in another zone, and finer than a millisecond: it
	// comes back in UTC, to the millisecond.
	at := t0.In(time.FixedZone("Paris", 3600)).Add(1500 * time.Microsecond)
	rec := &commands.AuditRecord{
		Time: at, Wiki: "en", Platform: "slack", UserID: "U1", UserName: "ann", Channel: "C1", Command: "protect",
		Args: map[string]string{"_": "Main Page", "edit": "sysop"},
	}
	if err := db.Begin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if rec.ID == 0 {
		t.Fatal("Begin set no ID")
	}
	pending, err := db.Audit(ctx, commands.AuditFilter{})
	if err != nil || len(pending) != 1 || pending[0].Outcome != commands.OutcomePending || pending[0].Result != nil {
		t.Fatalf("after Begin: %+v, %v", pending, err)
	}
	rec.Outcome, rec.Code = commands.OutcomeWikiError, "pastexpiry"
	rec.Result = json.RawMessage(`{"x":1}`)
	rec.Duration = 1500 * time.Microsecond
	if err := db.Finish(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Without a time, Begin stamps the clock's.
	second := &commands.AuditRecord{Wiki: "en", Platform: "discord", UserID: "D1", Command: "help", Outcome: commands.OutcomeOK}
	if err := db.Begin(ctx, second); err != nil {
		t.Fatal(err)
	}
	all, err := db.Audit(ctx, commands.AuditFilter{})
	if err != nil || len(all) != 2 {
		t.Fatalf("audit = %+v, %v", all, err)
	}
	if all[0].ID != second.ID || all[0].ID <= rec.ID {
		t.Errorf("newest is not first, or ids do not grow: %+v", all)
	}
	if !all[0].Time.Equal(t0) {
		t.Errorf("a record without a time has %v, want the clock's %v", all[0].Time, t0)
	}
	got := all[1]
	want := commands.AuditRecord{ID: rec.ID, Time: t0.Add(time.Millisecond), Wiki: "en", Platform: "slack", UserID: "U1",
		UserName: "ann", Channel: "C1", Command: "protect", Args: rec.Args, Outcome: commands.OutcomeWikiError,
		Code: "pastexpiry", Result: rec.Result, Duration: rec.Duration}
	if got.ID != want.ID || !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC || got.Wiki != want.Wiki ||
		got.Platform != want.Platform || got.UserID != want.UserID || got.UserName != want.UserName ||
		got.Channel != want.Channel || got.Command != want.Command || len(got.Args) != 2 || got.Args["edit"] != "sysop" ||
		got.Args["_"] != "Main Page" || got.Outcome != want.Outcome || got.Code != want.Code ||
		string(got.Result) != `{"x":1}` || got.Duration != want.Duration || got.WikiUser != "" {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	for _, c := range []struct {
		f    commands.AuditFilter
		want []int64
	}{
		{commands.AuditFilter{Platform: "slack", Limit: 5}, []int64{rec.ID}},
		{commands.AuditFilter{UserID: "D1"}, []int64{second.ID}},
		{commands.AuditFilter{Command: "protect"}, []int64{rec.ID}},
		{commands.AuditFilter{Command: "protect", Platform: "discord"}, nil},
	} {
		if ids := auditIDs(t, db, c.f); !slices.Equal(ids, c.want) {
			t.Errorf("Audit(%+v) = %v, want %v", c.f, ids, c.want)
		}
	}
	if err := db.Finish(ctx, &commands.AuditRecord{ID: rec.ID + 1000}); err == nil {
		t.Error("finishing a record that does not exist succeeded")
	}
}

func testAuditQueuedStartFinish(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()

	queued := &commands.AuditRecord{Platform: "slack", UserID: "U1", Command: "protect", Outcome: commands.OutcomeQueued}
	if err := db.Begin(ctx, queued); err != nil {
		t.Fatal(err)
	}
	if got := record(t, db, queued.ID).Outcome; got != commands.OutcomeQueued {
		t.Fatalf("after Begin with queued: outcome %q", got)
	}
	if err := db.Start(ctx, queued.ID); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got := record(t, db, queued.ID).Outcome; got != commands.OutcomePending {
		t.Fatalf("after Start: outcome %q, want pending", got)
	}
	if err := db.Start(ctx, queued.ID); !errors.Is(err, commands.ErrNotQueued) {
		t.Errorf("second Start = %v, want ErrNotQueued", err)
	}
	if err := db.Start(ctx, queued.ID+1000); !errors.Is(err, commands.ErrNotFound) {
		t.Errorf("Start of a missing record = %v, want ErrNotFound", err)
	}
	queued.Outcome = commands.OutcomeOK
	if err := db.Finish(ctx, queued); err != nil {
		t.Fatal(err)
	}
	if err := db.Start(ctx, queued.ID); !errors.Is(err, commands.ErrNotQueued) || !strings.Contains(err.Error(), `"ok"`) {
		t.Errorf("Start of a finished record = %v, want ErrNotQueued naming its outcome", err)
	}

	// Without an outcome Begin writes pending; Finish settles a record in
	// any state, a queued one included (refused while waiting).
	plain := &commands.AuditRecord{Platform: "slack", UserID: "U1", Command: "help"}
	if err := db.Begin(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if got := record(t, db, plain.ID).Outcome; got != commands.OutcomePending {
		t.Errorf("Begin without outcome wrote %q, want pending", got)
	}
	if err := db.Start(ctx, plain.ID); !errors.Is(err, commands.ErrNotQueued) {
		t.Errorf("Start of a pending record = %v, want ErrNotQueued", err)
	}
	waiting := &commands.AuditRecord{Platform: "slack", UserID: "U1", Command: "block", Outcome: commands.OutcomeQueued}
	if err := db.Begin(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	waiting.Outcome, waiting.Code = commands.OutcomeFailed, "shutdown"
	if err := db.Finish(ctx, waiting); err != nil {
		t.Fatalf("Finish of a queued record: %v", err)
	}
	if got := record(t, db, waiting.ID); got.Outcome != commands.OutcomeFailed || got.Code != "shutdown" {
		t.Errorf("finished queued record: %+v", got)
	}

	// Two processes starting one queued command at once: one runs it.
	twice := &commands.AuditRecord{Platform: "slack", UserID: "U1", Command: "block", Outcome: commands.OutcomeQueued}
	if err := db.Begin(ctx, twice); err != nil {
		t.Fatal(err)
	}
	dbs := []Store{db, open(fixed(t0))}
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = dbs[i%2].Start(ctx, twice.ID) })
	}
	wg.Wait()
	started := 0
	for _, err := range errs {
		switch {
		case err == nil:
			started++
		case !errors.Is(err, commands.ErrNotQueued):
			t.Errorf("concurrent Start: %v", err)
		}
	}
	if started != 1 {
		t.Errorf("%d concurrent Starts of one record succeeded, want 1", started)
	}
}

// testAuditUnsettledAfterACrash leaves records queued and pending,
// "crashes" (closes without finishing them), and settles them after a
// restart, a page at a time, oldest first.
func testAuditUnsettledAfterACrash(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	begin := func(cmd string, outcome commands.Outcome) int64 {
		t.Helper()
		rec := &commands.AuditRecord{Wiki: "en", Platform: "discord", UserID: "D1", Command: cmd, Outcome: outcome,
			Args: map[string]string{"_": cmd}}
		if err := db.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	done := begin("help", "")
	if err := db.Finish(ctx, &commands.AuditRecord{ID: done, Outcome: commands.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	running := begin("protect", "")                   // pending: may have reached the wiki
	started := begin("block", commands.OutcomeQueued) // queued, then started
	if err := db.Start(ctx, started); err != nil {
		t.Fatal(err)
	}
	waiting1 := begin("unblock", commands.OutcomeQueued) // never started
	begin("help", commands.OutcomeDenied)                // settled at Begin
	waiting2 := begin("protect", commands.OutcomeQueued)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(fixed(t0.Add(time.Hour)))
	got, err := db.Unsettled(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id      int64
		outcome commands.Outcome
	}{{running, commands.OutcomePending}, {started, commands.OutcomePending},
		{waiting1, commands.OutcomeQueued}, {waiting2, commands.OutcomeQueued}}
	if len(got) != len(want) {
		t.Fatalf("Unsettled = %+v, want %d records", got, len(want))
	}
	for i, w := range want {
		if got[i].ID != w.id || got[i].Outcome != w.outcome {
			t.Errorf("Unsettled[%d] = %d %s, want %d %s", i, got[i].ID, got[i].Outcome, w.id, w.outcome)
		}
	}
	if r := got[0]; r.Command != "protect" || r.Args["_"] != "protect" || !r.Time.Equal(t0) || r.Wiki != "en" || r.UserID != "D1" {
		t.Errorf("Unsettled lost the record's details: %+v", r)
	}

	var settled []int64
	for {
		page, err := db.Unsettled(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("Unsettled(3) returned %d records", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			r.Outcome = commands.OutcomeFailed
			if err := db.Finish(ctx, &r); err != nil {
				t.Fatal(err)
			}
			settled = append(settled, r.ID)
		}
	}
	if !slices.Equal(settled, []int64{running, started, waiting1, waiting2}) {
		t.Errorf("settled %v, want %d, %d, %d, %d oldest first", settled, running, started, waiting1, waiting2)
	}
	if r := record(t, db, running); r.Wiki != "en" || r.Outcome != commands.OutcomeFailed {
		t.Errorf("a record settled by its ID lost its wiki: %+v", r)
	}
}

// testAuditWikiUser checks that the wiki account a command ran as is kept
// whether Begin or Finish learns it, that Finish without one keeps what
// Begin stored, and that Audit, Unsettled and the filter see it.
func testAuditWikiUser(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	begin := func(uid, wikiUser string, outcome commands.Outcome) *commands.AuditRecord {
		t.Helper()
		rec := &commands.AuditRecord{Platform: "slack", UserID: uid, WikiUser: wikiUser, Command: "protect", Outcome: outcome}
		if err := db.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}

	atBegin := begin("U1", "Ann", "")
	if got := record(t, db, atBegin.ID).WikiUser; got != "Ann" {
		t.Errorf("after Begin: wiki user %q, want Ann", got)
	}
	if err := db.Finish(ctx, &commands.AuditRecord{ID: atBegin.ID, Outcome: commands.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	if got := record(t, db, atBegin.ID).WikiUser; got != "Ann" {
		t.Errorf("Finish without a wiki user left %q, want Ann", got)
	}

	atFinish := begin("U2", "", commands.OutcomeQueued)
	if got := record(t, db, atFinish.ID).WikiUser; got != "" {
		t.Errorf("after Begin without one: wiki user %q", got)
	}
	atFinish.WikiUser, atFinish.Outcome = "Bob", commands.OutcomeOK
	if err := db.Finish(ctx, atFinish); err != nil {
		t.Fatal(err)
	}
	if got := record(t, db, atFinish.ID).WikiUser; got != "Bob" {
		t.Errorf("after Finish: wiki user %q, want Bob", got)
	}

	unlinked := begin("U3", "", "")
	pending := begin("U4", "Ann", commands.OutcomeQueued)
	if got, err := db.Unsettled(ctx, 0); err != nil || len(got) != 2 || got[0].ID != unlinked.ID ||
		got[0].WikiUser != "" || got[1].WikiUser != "Ann" {
		t.Errorf("Unsettled = %+v, %v; want U3 unlinked and U4 as Ann", got, err)
	}

	for _, c := range []struct {
		f    commands.AuditFilter
		want []int64
	}{
		{commands.AuditFilter{WikiUser: "Ann"}, []int64{pending.ID, atBegin.ID}},
		{commands.AuditFilter{WikiUser: "Bob"}, []int64{atFinish.ID}},
		{commands.AuditFilter{WikiUser: "Ann", UserID: "U4"}, []int64{pending.ID}},
		{commands.AuditFilter{WikiUser: "ann"}, nil},
		{commands.AuditFilter{}, []int64{pending.ID, unlinked.ID, atFinish.ID, atBegin.ID}},
	} {
		if ids := auditIDs(t, db, c.f); !slices.Equal(ids, c.want) {
			t.Errorf("Audit(%+v) = %v, want %v", c.f, ids, c.want)
		}
	}
}

// testAuditWiki checks that the wiki a command was for is stored by Begin,
// kept by a Finish that names none, set by one that names it, read back,
// and filtered on.
func testAuditWiki(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	begin := func(wiki string) *commands.AuditRecord {
		t.Helper()
		rec := &commands.AuditRecord{Wiki: wiki, Platform: "slack", UserID: "U1", Command: "protect", Outcome: commands.OutcomeQueued}
		if err := db.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	en, de, none := begin("en"), begin("de"), begin("")
	if got := record(t, db, none.ID).Wiki; got != "" {
		t.Errorf("a record for no wiki has wiki %q", got)
	}
	if err := db.Finish(ctx, &commands.AuditRecord{ID: en.ID, Outcome: commands.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	none.Wiki, none.Outcome = "de", commands.OutcomeOK
	if err := db.Finish(ctx, none); err != nil {
		t.Fatal(err)
	}
	unsettled, err := db.Unsettled(ctx, 0)
	if err != nil || len(unsettled) != 1 || unsettled[0].ID != de.ID || unsettled[0].Wiki != "de" {
		t.Errorf("Unsettled = %+v, %v; want de's record", unsettled, err)
	}
	for _, c := range []struct {
		wiki string
		want []int64
	}{
		{"en", []int64{en.ID}},
		{"de", []int64{none.ID, de.ID}},
		{"fr", nil},
		{"", []int64{none.ID, de.ID, en.ID}},
	} {
		got, err := db.Audit(ctx, commands.AuditFilter{Wiki: c.wiki})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range got {
			ids = append(ids, r.ID)
			if c.wiki != "" && r.Wiki != c.wiki {
				t.Errorf("Audit(%q) returned a record of %q", c.wiki, r.Wiki)
			}
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("Audit(Wiki: %q) = %v, want %v", c.wiki, ids, c.want)
		}
	}
}

// testAuditLimits checks the default limits: 50 records from Audit and
// Unsettled unless asked otherwise, the newest (Audit) or oldest
// (Unsettled) ones.
func testAuditLimits(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	var ids []int64
	for range 55 {
		rec := &commands.AuditRecord{Platform: "console", UserID: "admin", Command: "help", Outcome: commands.OutcomeQueued}
		if err := db.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	if got := auditIDs(t, db, commands.AuditFilter{}); len(got) != 50 || got[0] != ids[54] || got[49] != ids[5] {
		t.Errorf("Audit() = %d records from %v, want the newest 50", len(got), got[:1])
	}
	if got := auditIDs(t, db, commands.AuditFilter{Limit: 3}); !slices.Equal(got, []int64{ids[54], ids[53], ids[52]}) {
		t.Errorf("Audit(Limit: 3) = %v", got)
	}
	if got := auditIDs(t, db, commands.AuditFilter{Limit: 100}); len(got) != 55 {
		t.Errorf("Audit(Limit: 100) = %d records, want 55", len(got))
	}
	if got, err := db.Unsettled(ctx, 0); err != nil || len(got) != 50 || got[0].ID != ids[0] {
		t.Errorf("Unsettled(0) = %d records, %v; want the oldest 50", len(got), err)
	}
}

func testAuditConcurrentWriters(t *testing.T, open Opener) {
	dbs := []Store{open(time.Now), open(time.Now)}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 8 {
		wg.Go(func() {
			db := dbs[i%2]
			for range 25 {
				rec := &commands.AuditRecord{Platform: "console", UserID: string(rune('a' + i)), Command: "help"}
				if err := db.Begin(ctx, rec); err != nil {
					errs <- err
					return
				}
				rec.Outcome = commands.OutcomeOK
				if err := db.Finish(ctx, rec); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, err := dbs[0].Audit(ctx, commands.AuditFilter{Limit: 1000})
	if err != nil || len(all) != 200 {
		t.Errorf("%d records, %v; want 200", len(all), err)
	}
	seen := map[int64]bool{}
	for _, r := range all {
		if seen[r.ID] || r.Outcome != commands.OutcomeOK {
			t.Errorf("record %d: outcome %s, seen before %v", r.ID, r.Outcome, seen[r.ID])
		}
		seen[r.ID] = true
	}
}

// testAuditAnyBytes begins and finishes a record whose chat names hold a
// NUL and bytes that are not UTF-8, as a console or a hostile client may
// send: the record is kept, whatever the backend makes of those bytes.
func testAuditAnyBytes(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	odd := "a\x00b\xff\xfec"
	rec := &commands.AuditRecord{Platform: "console", UserID: odd, UserName: odd, Channel: odd, Command: "help",
		Args: map[string]string{"_": odd}}
	if err := db.Begin(ctx, rec); err != nil {
		t.Fatalf("Begin: %v", err)
	}
	rec.Outcome, rec.Code = commands.OutcomeFailed, odd
	if err := db.Finish(ctx, rec); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	got := record(t, db, rec.ID)
	if got.Outcome != commands.OutcomeFailed || !strings.HasPrefix(got.UserName, "a") || !strings.HasSuffix(got.UserName, "c") {
		t.Errorf("record = %+v", got)
	}
}

// testAuditOwner: each record keeps the process that began it, so that a
// replica settles only the unfinished records of processes that are gone.
func testAuditOwner(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	for _, owner := range []string{"host-1-aa", "host-2-bb", ""} {
		rec := &commands.AuditRecord{Owner: owner, Wiki: "en", Platform: "slack", UserID: "U1", Command: "protect", Outcome: commands.OutcomeQueued}
		if err := db.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Unsettled(ctx, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("unsettled = %+v, %v", got, err)
	}
	for i, want := range []string{"host-1-aa", "host-2-bb", ""} {
		if got[i].Owner != want {
			t.Errorf("record %d: owner %q, want %q", i, got[i].Owner, want)
		}
	}
}

// settled begins a record of a Slack /protect of title, queued, and
// settles it as not run, marking its requester to be told when tell is
// set; it returns the record's ID.
func settled(t *testing.T, db Store, title string, tell bool) int64 {
	t.Helper()
	ctx := context.Background()
	rec := &commands.AuditRecord{Time: t0, Wiki: "en", Platform: "slack", UserID: "U1", UserName: "ann", Channel: "C1",
		Command: "protect", Args: map[string]string{"_": title, "edit": "sysop"}, Outcome: commands.OutcomeQueued, Owner: "dead"}
	if err := db.Begin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.Outcome, rec.Code = commands.OutcomeInterrupted, "not-run"
	if ok, err := db.Settle(ctx, rec, tell); err != nil || !ok {
		t.Fatalf("Settle = %v, %v", ok, err)
	}
	return rec.ID
}

// claimIDs claims notices for holder and returns their records' ids and
// attempts.
func claimIDs(t *testing.T, db Store, holder string, now time.Time, limit int) (ids []int64, attempts []int) {
	t.Helper()
	got, err := db.ClaimNotices(context.Background(), holder, now, now.Add(5*time.Minute), limit)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range got {
		ids = append(ids, n.Record.ID)
		attempts = append(attempts, n.Attempt)
	}
	return ids, attempts
}

// testAuditSettleOnce: Settle finishes a record only while it is queued or
// pending, once however many try at once, never one that has ended, and
// marks for telling only what it is told to.
func testAuditSettleOnce(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	begin := func(outcome commands.Outcome) *commands.AuditRecord {
		t.Helper()
		rec := &commands.AuditRecord{Time: t0, Wiki: "en", Platform: "slack", UserID: "U1", Channel: "C1", Command: "protect",
			Args: map[string]string{"_": "Main Page", "edit": "sysop"}, Outcome: outcome, Owner: "dead"}
		if err := db.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	queued, pending, ended := begin(commands.OutcomeQueued), begin(commands.OutcomePending), begin("")
	ended.Outcome = commands.OutcomeOK
	if err := db.Finish(ctx, ended); err != nil {
		t.Fatal(err)
	}

	queued.Outcome, queued.Code = commands.OutcomeInterrupted, "not-run"
	if ok, err := db.Settle(ctx, queued, true); err != nil || !ok {
		t.Fatalf("Settle of a queued record = %v, %v", ok, err)
	}
	again := *queued
	again.Outcome, again.Code = commands.OutcomeOK, "settled-from-log"
	if ok, err := db.Settle(ctx, &again, true); err != nil || ok {
		t.Errorf("Settle of a settled record = %v, %v; want false", ok, err)
	}
	if r := record(t, db, queued.ID); r.Outcome != commands.OutcomeInterrupted || r.Code != "not-run" || r.Wiki != "en" {
		t.Errorf("a second Settle changed the record: %+v", r)
	}
	pending.Outcome, pending.Code = commands.OutcomeOK, "settled-from-log"
	pending.Result = json.RawMessage(`{"logid":7}`)
	if ok, err := db.Settle(ctx, pending, false); err != nil || !ok {
		t.Fatalf("Settle of a pending record = %v, %v", ok, err)
	}
	if r := record(t, db, pending.ID); r.Outcome != commands.OutcomeOK || string(r.Result) != `{"logid":7}` {
		t.Errorf("settled pending record = %+v", r)
	}
	interrupted := *ended
	interrupted.Outcome = commands.OutcomeInterrupted
	if ok, err := db.Settle(ctx, &interrupted, true); err != nil || ok {
		t.Errorf("Settle of an ended record = %v, %v; want false", ok, err)
	}
	if r := record(t, db, ended.ID); r.Outcome != commands.OutcomeOK {
		t.Errorf("Settle changed an ended record to %s", r.Outcome)
	}
	if ok, err := db.Settle(ctx, &commands.AuditRecord{ID: ended.ID + 1000, Outcome: commands.OutcomeInterrupted}, true); err != nil || ok {
		t.Errorf("Settle of a missing record = %v, %v", ok, err)
	}
	if err := db.Finish(ctx, &commands.AuditRecord{ID: ended.ID + 1000}); !errors.Is(err, commands.ErrNotFound) || !errors.Is(err, commands.ErrNoAuditRecord) {
		t.Errorf("Finish of a missing record = %v, want ErrNotFound and commands.ErrNoAuditRecord", err)
	}
	// A process taken for dead that wakes and finishes its command finds
	// the record settled: Finish changes nothing (the notice stays due)
	// and says so, apart from a missing record.
	for _, settled := range []*commands.AuditRecord{queued, pending, ended} {
		before := record(t, db, settled.ID)
		late := *settled
		late.Outcome, late.Code, late.WikiUser, late.Wiki = commands.OutcomeFailed, "internal", "Late", "late"
		late.Result, late.Duration = json.RawMessage(`{"late":true}`), time.Minute
		err := db.Finish(ctx, &late)
		if !errors.Is(err, commands.ErrAuditSettled) || errors.Is(err, commands.ErrNoAuditRecord) || errors.Is(err, commands.ErrNotFound) {
			t.Errorf("Finish of ended record %d = %v, want commands.ErrAuditSettled alone", settled.ID, err)
		}
		if after := record(t, db, settled.ID); !reflect.DeepEqual(after, before) {
			t.Errorf("Finish of ended record %d changed it:\n%+v\nwas\n%+v", settled.ID, after, before)
		}
	}
	if left, err := db.Unsettled(ctx, 0); err != nil || len(left) != 0 {
		t.Errorf("Unsettled = %+v, %v", left, err)
	}

	// Only the record settled with tell is a notice, with all its record.
	got, err := db.ClaimNotices(ctx, "r1", t0, t0.Add(time.Minute), 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("ClaimNotices = %+v, %v; want the queued record's", got, err)
	}
	if n := got[0]; n.Attempt != 1 || n.Record.ID != queued.ID || n.Record.Platform != "slack" || n.Record.UserID != "U1" ||
		n.Record.Channel != "C1" || n.Record.Command != "protect" || n.Record.Args["_"] != "Main Page" ||
		n.Record.Args["edit"] != "sysop" || !n.Record.Time.Equal(t0) || n.Record.Outcome != commands.OutcomeInterrupted ||
		n.Record.Code != "not-run" || n.Record.Wiki != "en" {
		t.Errorf("notice = %+v", n)
	}

	// Two processes settling the same records at once: each record is
	// settled by one of them.
	other := open(fixed(t0))
	var recs []*commands.AuditRecord
	for range 20 {
		recs = append(recs, begin(commands.OutcomePending))
	}
	var (
		mu   sync.Mutex
		wins = map[int64]int{}
		wg   sync.WaitGroup
	)
	for _, h := range []Store{db, other} {
		wg.Go(func() {
			for _, r := range recs {
				c := *r
				c.Outcome, c.Code = commands.OutcomeInterrupted, "not-in-log"
				ok, err := h.Settle(ctx, &c, true)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					wins[r.ID]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, r := range recs {
		if wins[r.ID] != 1 {
			t.Errorf("record %d settled %d times", r.ID, wins[r.ID])
		}
	}
}

// testNoticeClaimRetryEnd follows notices through claims, an ended
// claim, a try to come later, a claim whose holder died, and the ends
// only the holder may write, across a restart.
func testNoticeClaimRetryEnd(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	a, b, c := settled(t, db, "A", true), settled(t, db, "B", true), settled(t, db, "C", true)
	settled(t, db, "Not told", false)

	if ids, att := claimIDs(t, db, "r1", t0, 2); !slices.Equal(ids, []int64{a, b}) || !slices.Equal(att, []int{1, 1}) {
		t.Fatalf("r1 claimed %v (attempts %v), want %d, %d", ids, att, a, b)
	}
	if ids, _ := claimIDs(t, db, "r2", t0, 10); !slices.Equal(ids, []int64{c}) {
		t.Fatalf("r2 claimed %v, want %d alone", ids, c)
	}
	if ids, _ := claimIDs(t, db, "r2", t0.Add(time.Minute), 10); len(ids) != 0 {
		t.Fatalf("claimed notices were claimed again: %v", ids)
	}
	end := func(id int64, holder string, state commands.NoticeState, at time.Time) {
		t.Helper()
		if err := db.EndNotice(ctx, id, holder, state, at); err != nil {
			t.Fatal(err)
		}
	}
	end(a, "r2", commands.NoticeUndeliverable, t0) // not r2's: changes nothing
	end(a, "r1", commands.NoticeSent, t0.Add(time.Second))
	end(b, "r1", commands.NoticeDue, t0.Add(10*time.Minute)) // to try again then
	end(c, "r1", commands.NoticeSent, t0)                    // r2 holds it, and dies

	// r2's claim runs out: c is claimed again; b waits for its time.
	if ids, att := claimIDs(t, db, "r3", t0.Add(5*time.Minute), 10); !slices.Equal(ids, []int64{c}) || !slices.Equal(att, []int{2}) {
		t.Fatalf("after r2's claim ran out, r3 claimed %v (attempts %v), want %d on its 2nd attempt", ids, att, c)
	}
	end(c, "r3", commands.NoticeUndeliverable, t0.Add(5*time.Minute))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(fixed(t0))
	if ids, att := claimIDs(t, db, "r1", t0.Add(10*time.Minute), 10); !slices.Equal(ids, []int64{b}) || !slices.Equal(att, []int{2}) {
		t.Fatalf("at its retry time, claimed %v (attempts %v), want %d on its 2nd attempt", ids, att, b)
	}
	if err := db.EndNotice(ctx, b, "r1", commands.NoticeFailed, t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ids, _ := claimIDs(t, db, "r1", t0.Add(24*time.Hour), 10); len(ids) != 0 {
		t.Errorf("ended notices were claimed again: %v", ids)
	}
	if r := record(t, db, a); r.Outcome != commands.OutcomeInterrupted || r.Code != "not-run" {
		t.Errorf("telling changed the record: %+v", r)
	}
}

// testNoticeClaimedOnceByConcurrentReplicas: replicas claiming at once
// take every due notice, each exactly once.
func testNoticeClaimedOnceByConcurrentReplicas(t *testing.T, open Opener) {
	dbs := []Store{open(fixed(t0)), open(fixed(t0))}
	const n = 60
	want := map[int64]bool{}
	for i := range n {
		want[settled(t, dbs[0], "Page "+string(rune('A'+i%26))+string(rune('a'+i/26)), true)] = true
	}
	var (
		mu     sync.Mutex
		claims = map[int64]int{}
		wg     sync.WaitGroup
	)
	for i := range 6 {
		wg.Go(func() {
			db := dbs[i%2]
			holder := "replica-" + string(rune('a'+i))
			for {
				got, err := db.ClaimNotices(context.Background(), holder, t0, t0.Add(5*time.Minute), 4)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, nt := range got {
					mu.Lock()
					claims[nt.Record.ID]++
					mu.Unlock()
					if err := db.EndNotice(context.Background(), nt.Record.ID, holder, commands.NoticeSent, t0); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(claims) != n {
		t.Errorf("%d of %d notices claimed", len(claims), n)
	}
	for id, c := range claims {
		if c != 1 || !want[id] {
			t.Errorf("notice %d claimed %d times (one of ours: %v)", id, c, want[id])
		}
	}
}
