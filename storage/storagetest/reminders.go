package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// wk is the wiki the reminders' tests track protections on, unless they
// say otherwise.
const wk = "en"

// leads are the reminders' default lead times.
var leads = []time.Duration{24 * time.Hour, time.Hour}

// Protection is a tracked protection of type typ at level until expiry,
// for as long as from t0 to expiry, as a Slack user set it.
func Protection(typ, level string, expiry time.Time) commands.TrackedProtection {
	return commands.TrackedProtection{Type: typ, Level: level, Expiry: expiry, Length: expiry.Sub(t0), SetBy: "alice",
		SetByID: "U1", Platform: "slack", Channel: "C1", Reason: "vandalism", URL: "http://wiki.test/x"}
}

// reconcile reconciles a page and fails the test if that fails.
func reconcile(t *testing.T, db Store, wiki, title string, want []commands.TrackedProtection, leads []time.Duration, now time.Time) commands.ReconcileResult {
	t.Helper()
	res, err := db.ReconcilePage(context.Background(), wiki, title, want, leads, now)
	if err != nil {
		t.Fatalf("reconcile %s on %s: %v", title, wiki, err)
	}
	return res
}

// pageReminders returns the reminders of a page, oldest first.
func pageReminders(t *testing.T, db Store, wiki, title string) []commands.Reminder {
	t.Helper()
	rs, err := db.PageReminders(context.Background(), wiki, title)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// wantReminders checks "type/lead:status" for each reminder of a page,
// oldest first.
func wantReminders(t *testing.T, db Store, wiki, title string, want ...string) {
	t.Helper()
	var got []string
	for _, r := range pageReminders(t, db, wiki, title) {
		got = append(got, fmt.Sprintf("%s/%s:%s", r.Protection.Type, r.Lead, r.Status))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("reminders of %s on %s:\n got %v\nwant %v", title, wiki, got, want)
	}
}

// ClaimedGroups returns the messages the reminders of claim make, on every
// wiki, as the scheduler groups them.
func ClaimedGroups(t *testing.T, db Store, claim int64) []commands.ReminderGroup {
	t.Helper()
	rs, err := db.ClaimedReminders(context.Background(), claim)
	if err != nil {
		t.Fatal(err)
	}
	return commands.GroupReminders(rs)
}

// claimDue claims what is due and fails the test unless want were.
func claimDue(t *testing.T, db Store, now time.Time, claim int64, want int) {
	t.Helper()
	if n, err := db.ClaimDue(context.Background(), now, claim); err != nil || n != want {
		t.Fatalf("ClaimDue(%s, %d) = %d, %v; want %d", now.Sub(t0), claim, n, err, want)
	}
}

// testRemindersReconcile: a page's protections are tracked with their
// reminders, the moot ones left out; the same again changes nothing; a
// changed one gets fresh reminders, the old cancelled; a lifted one is
// dropped, unless it has expired.
func testRemindersReconcile(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	edit := Protection("edit", "sysop", t0.Add(3*time.Hour))
	move := Protection("move", "sysop", t0.Add(48*time.Hour))
	move.Cascade = true
	if res := reconcile(t, db, wk, "Page", []commands.TrackedProtection{move, edit}, leads, t0); res != (commands.ReconcileResult{Added: 2}) {
		t.Fatalf("first reconcile = %+v", res)
	}
	// Set for 3 hours: the 24-hour warning is moot and not scheduled.
	wantReminders(t, db, wk, "Page", "move/0s:pending", "move/24h0m0s:pending", "move/1h0m0s:pending",
		"edit/0s:pending", "edit/1h0m0s:pending")

	// Every field comes back as it was given, through another handle too.
	for _, h := range []Store{db, open(fixed(t0))} {
		ps, err := h.PageProtections(ctx, wk, "Page")
		if err != nil || len(ps) != 2 {
			t.Fatalf("PageProtections = %+v, %v", ps, err)
		}
		for i, want := range []commands.TrackedProtection{edit, move} { // in the order of their types
			want.ID, want.Wiki, want.Title, want.SetAt, want.Updated = ps[i].ID, wk, "Page", t0, t0
			if ps[i].ID == 0 || fmt.Sprintf("%+v", ps[i]) != fmt.Sprintf("%+v", want) {
				t.Errorf("protection read back:\n got %+v\nwant %+v", ps[i], want)
			}
		}
	}
	if ps, err := db.PageProtections(ctx, wk, "Other"); err != nil || len(ps) != 0 {
		t.Errorf("an untracked page's protections = %+v, %v", ps, err)
	}

	res := reconcile(t, db, wk, "Page", []commands.TrackedProtection{edit, move}, leads, t0.Add(time.Minute))
	if res != (commands.ReconcileResult{Unchanged: 2}) {
		t.Fatalf("same again = %+v", res)
	}
	if n := len(pageReminders(t, db, wk, "Page")); n != 5 {
		t.Errorf("an unchanged reconcile scheduled more: %d reminders", n)
	}

	// The edit protection is extended on the wiki and the move one lifted.
	edit2 := Protection("edit", "sysop", t0.Add(5*time.Hour))
	edit2.SetBy, edit2.Platform = "WikiAdmin", "wiki"
	res = reconcile(t, db, wk, "Page", []commands.TrackedProtection{edit2}, leads, t0.Add(time.Hour))
	if res != (commands.ReconcileResult{Changed: 1, Removed: 1}) {
		t.Fatalf("changed reconcile = %+v", res)
	}
	wantReminders(t, db, wk, "Page", "edit/0s:cancelled", "edit/1h0m0s:cancelled", "edit/0s:pending", "edit/1h0m0s:pending")
	ps, err := db.PageProtections(ctx, wk, "Page")
	if err != nil || len(ps) != 1 || ps[0].SetBy != "WikiAdmin" || !ps[0].Expiry.Equal(edit2.Expiry) || !ps[0].Updated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("tracked = %+v, %v", ps, err)
	}

	// Once expired, a protection the wiki no longer lists is kept: its
	// reminder at expiry must still go out.
	if res := reconcile(t, db, wk, "Page", nil, leads, t0.Add(6*time.Hour)); res.Removed != 0 {
		t.Fatalf("after expiry = %+v", res)
	}
	if ps, _ := db.PageProtections(ctx, wk, "Page"); len(ps) != 1 {
		t.Errorf("the expired protection was dropped")
	}
	if _, err := db.ReconcilePage(ctx, "", "Page", nil, leads, t0); err == nil {
		t.Error("ReconcilePage without a wiki succeeded")
	}
}

// testRemindersClaimSupersedes: after downtime, a claim holds one reminder
// per expiry, the closest to it, and makes one message per page; marking
// some sent supersedes the earlier ones, and releasing the rest makes
// them due again.
func testRemindersClaimSupersedes(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	exp := t0.Add(48 * time.Hour)
	reconcile(t, db, wk, "A", []commands.TrackedProtection{Protection("edit", "sysop", exp), Protection("move", "sysop", exp)}, leads, t0)
	reconcile(t, db, wk, "B", []commands.TrackedProtection{Protection("edit", "autoconfirmed", t0.Add(70*time.Hour))}, leads, t0)
	claimDue(t, db, t0.Add(time.Hour), 1, 0)
	if rs, err := db.ClaimedReminders(ctx, 1); err != nil || len(rs) != 0 {
		t.Errorf("an empty claim holds %+v, %v", rs, err)
	}
	// Long after both warnings of A fell due (downtime), and B's 24-hour
	// one: A's 24-hour warnings are superseded by its 1-hour ones.
	now := exp.Add(-30 * time.Minute)
	if n, _ := db.DueReminders(ctx, now); n != 5 {
		t.Errorf("DueReminders = %d, want 5", n)
	}
	claimDue(t, db, now, 2, 3)
	if n, _ := db.DueReminders(ctx, now); n != 0 {
		t.Errorf("DueReminders after the claim = %d, want 0", n)
	}
	groups := ClaimedGroups(t, db, 2)
	if len(groups) != 2 {
		t.Fatalf("groups = %+v", groups)
	}
	if g := groups[1]; g.Title != "B" || g.Lead != 24*time.Hour || len(g.Reminders) != 1 {
		t.Errorf("second group = %+v, want B (expires last)", g)
	}
	g := groups[0]
	if g.Wiki != wk || g.Title != "A" || g.Lead != time.Hour || !g.Expiry.Equal(exp) || len(g.Reminders) != 2 ||
		g.Reminders[0].Protection.Type != "edit" || g.Reminders[1].Protection.Type != "move" || g.Reminders[0].Protection.Reason != "vandalism" {
		t.Fatalf("first group = %+v, want A's edit and move at 1h", g)
	}
	if r := g.Reminders[0]; r.Status != commands.ReminderClaimed || !r.RemindAt.Equal(exp.Add(-time.Hour)) || r.Attempts != 0 || r.Recovered || r.Delivered != nil {
		t.Errorf("claimed reminder = %+v", r)
	}
	if r, err := db.Reminder(ctx, g.Reminders[1].ID); err != nil || r.ID != g.Reminders[1].ID || r.Status != commands.ReminderClaimed ||
		r.Protection.Title != "A" || r.Protection.Type != "move" {
		t.Errorf("Reminder(%d) = %+v, %v", g.Reminders[1].ID, r, err)
	}
	var ids []int64
	for _, r := range g.Reminders {
		ids = append(ids, r.ID)
	}
	if err := db.MarkSent(ctx, 2, "", []int64{}, now); err != nil {
		t.Errorf("MarkSent of no ids: %v", err)
	}
	if err := db.MarkSent(ctx, 2, "", ids, now); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseClaim(ctx, 2); err != nil {
		t.Fatal(err)
	}
	wantReminders(t, db, wk, "A", "edit/0s:pending", "edit/24h0m0s:superseded", "edit/1h0m0s:sent",
		"move/0s:pending", "move/24h0m0s:superseded", "move/1h0m0s:sent")
	wantReminders(t, db, wk, "B", "edit/0s:pending", "edit/24h0m0s:pending", "edit/1h0m0s:pending")
	if rs, _ := db.ClaimedReminders(ctx, 2); len(rs) != 0 {
		t.Errorf("claim 2 still holds %d reminders", len(rs))
	}

	// B's 24-hour warning was released, not sent: it is due again, and
	// unchanged.
	claimDue(t, db, now, 3, 1)
	if g := ClaimedGroups(t, db, 3); len(g) != 1 || g[0].Title != "B" || g[0].Reminders[0].Recovered || g[0].Reminders[0].Attempts != 0 {
		t.Errorf("released reminder claimed again: %+v", g)
	}
	if err := db.MarkSent(ctx, 3, "", nil, now); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.DueReminders(ctx, now); n != 0 {
		t.Errorf("%d still due after sending", n)
	}
	// A's reminders at expiry go out at expiry.
	claimDue(t, db, exp.Add(-time.Millisecond), 4, 0)
	claimDue(t, db, exp, 5, 2)
}

// testRemindersRetryBacksOffThenGivesUp: a failed send is tried again
// after Base, twice as long after each further failure, at most Max, and
// is marked failed after Attempts failures, with the channels it reached.
func testRemindersRetryBacksOffThenGivesUp(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	reconcile(t, db, wk, "P", []commands.TrackedProtection{Protection("edit", "sysop", t0.Add(time.Hour))}, nil, t0)
	b := commands.ReminderBackoff{Base: time.Minute, Max: 4 * time.Minute, Attempts: 4}
	now := t0.Add(time.Hour)
	var waits []time.Duration
	for claim := int64(1); ; claim++ {
		n, err := db.ClaimDue(ctx, now, claim)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("nothing due at %s", now.Sub(t0))
		}
		if rs, _ := db.ClaimedReminders(ctx, claim); len(rs) != 1 || rs[0].Attempts != int(claim-1) {
			t.Fatalf("claimed %+v, want the reminder after %d failures", rs, claim-1)
		} else if claim > 1 && !slices.Equal(rs[0].Delivered, []string{"discord:D1", "slack:C1"}) {
			t.Errorf("delivered = %q", rs[0].Delivered)
		}
		gaveUp, err := db.RetryLater(ctx, claim, "", nil, now, b, "slack: channel_not_found", []string{"discord:D1", "slack:C1"})
		if err != nil {
			t.Fatal(err)
		}
		rs := pageReminders(t, db, wk, "P")
		if gaveUp == 1 {
			if rs[0].Status != commands.ReminderFailed || rs[0].Attempts != 4 || strings.Join(rs[0].Delivered, " ") != "discord:D1 slack:C1" {
				t.Errorf("after the last attempt: %+v", rs[0])
			}
			break
		}
		if rs[0].Status != commands.ReminderPending || rs[0].Attempts != int(claim) {
			t.Fatalf("after failure %d: %+v", claim, rs[0])
		}
		// Find when it is due next.
		next := now
		for ; next.Sub(now) < time.Hour; next = next.Add(30 * time.Second) {
			if d, _ := db.DueReminders(ctx, next); d == 1 {
				break
			}
		}
		waits = append(waits, next.Sub(now))
		now = next
	}
	if fmt.Sprint(waits) != "[1m0s 2m0s 4m0s]" {
		t.Errorf("waits between attempts = %v, want 1m, 2m, 4m (capped)", waits)
	}
	if n, _ := db.DueReminders(ctx, now.Add(time.Hour)); n != 0 {
		t.Errorf("a failed reminder is due again")
	}
	if n, err := db.RetryLater(ctx, 99, "", []int64{}, now, b, "x", nil); err != nil || n != 0 {
		t.Errorf("RetryLater of no ids = %d, %v", n, err)
	}
}

// testRemindersRecoverClaimed: a reminder claimed by a process that then
// stopped is not due until recovered; recovered, it goes out marked so.
func testRemindersRecoverClaimed(t *testing.T, open Opener) {
	ctx := context.Background()
	db := open(fixed(t0))
	reconcile(t, db, wk, "P", []commands.TrackedProtection{Protection("edit", "sysop", t0.Add(time.Hour))}, nil, t0)
	claimDue(t, db, t0.Add(time.Hour), 7, 1)
	if err := db.Close(); err != nil { // the process dies before marking it sent
		t.Fatal(err)
	}

	db = open(fixed(t0))
	if n, _ := db.DueReminders(ctx, t0.Add(2*time.Hour)); n != 0 {
		t.Fatalf("a claimed reminder counts as due before recovery")
	}
	if n, err := db.RecoverClaimed(ctx); err != nil || n != 1 {
		t.Fatalf("recovered %d, %v", n, err)
	}
	if n, err := db.RecoverClaimed(ctx); err != nil || n != 0 {
		t.Errorf("recovered again: %d, %v", n, err)
	}
	claimDue(t, db, t0.Add(2*time.Hour), 8, 1)
	if groups := ClaimedGroups(t, db, 8); len(groups) != 1 || !groups[0].Reminders[0].Recovered {
		t.Fatalf("groups = %+v; want the reminder, marked recovered", groups)
	}
	// The dead process's claim holds nothing.
	if rs, _ := db.ClaimedReminders(ctx, 7); len(rs) != 0 {
		t.Errorf("claim 7 still holds %+v", rs)
	}
}

// testRemindersRecoverStaleClaims: of two replicas' claims, only the one
// older than the lease is taken over; the replica that made it, waking
// up, marks nothing sent, and the reminder goes out again, marked
// recovered.
func testRemindersRecoverStaleClaims(t *testing.T, open Opener) {
	ctx := context.Background()
	a, b := open(fixed(t0)), open(fixed(t0))
	reconcile(t, a, wk, "P1", []commands.TrackedProtection{Protection("edit", "sysop", t0.Add(time.Hour))}, nil, t0)
	reconcile(t, b, wk, "P2", []commands.TrackedProtection{Protection("edit", "sysop", t0.Add(2*time.Hour))}, nil, t0)
	claimDue(t, a, t0.Add(time.Hour), 1, 1) // a hangs with it
	claimDue(t, b, t0.Add(2*time.Hour), 2, 1)

	// A claim made at olderThan is not older than it.
	if n, err := b.RecoverStaleClaims(ctx, t0.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("RecoverStaleClaims(claimed then) = %d, %v; want 0", n, err)
	}
	lease := 5 * time.Minute
	now := t0.Add(2*time.Hour + time.Minute)
	if n, err := b.RecoverStaleClaims(ctx, now.Add(-lease)); err != nil || n != 1 {
		t.Fatalf("RecoverStaleClaims = %d, %v; want a's claim", n, err)
	}
	if rs, _ := b.ClaimedReminders(ctx, 2); len(rs) != 1 || rs[0].Protection.Title != "P2" || rs[0].Recovered {
		t.Errorf("b's live claim = %+v; want it kept", rs)
	}
	if rs, _ := a.ClaimedReminders(ctx, 1); len(rs) != 0 {
		t.Errorf("a's stale claim still holds %+v", rs)
	}
	// a wakes up and marks its claim sent: it no longer holds it.
	if err := a.MarkSent(ctx, 1, "", nil, now); err != nil {
		t.Fatal(err)
	}
	if gaveUp, err := a.RetryLater(ctx, 1, "", nil, now, commands.ReminderBackoff{Base: time.Minute, Max: time.Hour, Attempts: 1}, "x", nil); err != nil || gaveUp != 0 {
		t.Errorf("RetryLater of a taken-over claim = %d, %v", gaveUp, err)
	}
	wantReminders(t, b, wk, "P1", "edit/0s:pending")
	claimDue(t, b, now, 3, 1)
	if g := ClaimedGroups(t, b, 3); len(g) != 1 || g[0].Title != "P1" || !g[0].Reminders[0].Recovered || g[0].Reminders[0].Attempts != 0 {
		t.Fatalf("claim 3 = %+v; want P1's reminder, recovered", g)
	}
	for _, c := range []int64{2, 3} {
		if err := b.MarkSent(ctx, c, "", nil, now); err != nil {
			t.Fatal(err)
		}
	}
	wantReminders(t, b, wk, "P1", "edit/0s:sent")
	wantReminders(t, b, wk, "P2", "edit/0s:sent")
	if n, err := b.RecoverStaleClaims(ctx, now.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("RecoverStaleClaims with nothing claimed = %d, %v", n, err)
	}
}

// testRemindersDismissExpiringPrune lists what expires soon, per wiki and
// in all, up to a limit; dismisses an expiry's reminders; and prunes
// what expired and has nothing left to send.
func testRemindersDismissExpiringPrune(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	exp := t0.Add(48 * time.Hour)
	reconcile(t, db, wk, "A", []commands.TrackedProtection{Protection("edit", "sysop", exp), Protection("move", "sysop", exp)}, leads, t0)
	reconcile(t, db, wk, "B", []commands.TrackedProtection{Protection("edit", "sysop", t0.Add(2*time.Hour))}, leads, t0)
	reconcile(t, db, wk, "C", []commands.TrackedProtection{Protection("create", "sysop", t0.Add(30*24*time.Hour))}, leads, t0)
	// On de, two titles that sort apart byte by byte ("B" < "a") and
	// alphabetically.
	for _, title := range []string{"a", "B"} {
		reconcile(t, db, "de", title, []commands.TrackedProtection{Protection("edit", "sysop", t0.Add(5*time.Hour))}, leads, t0)
	}
	week := t0.Add(7 * 24 * time.Hour)
	list := func(wiki string, from, until time.Time, limit int) (string, int) {
		t.Helper()
		got, total, err := db.ExpiringProtections(ctx, wiki, from, until, limit)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, p := range got {
			s = append(s, p.Wiki+":"+p.Title+"/"+p.Type)
		}
		return strings.Join(s, " "), total
	}
	for _, c := range []struct {
		wiki        string
		from, until time.Time
		limit       int
		want        string
		total       int
	}{
		{wk, t0, week, 2, "en:B/edit en:A/edit", 3},
		{"", t0, week, 10, "en:B/edit de:B/edit de:a/edit en:A/edit en:A/move", 5},
		{"", t0, week, 2, "en:B/edit de:B/edit", 5},
		{"de", t0, week, 10, "de:B/edit de:a/edit", 2},
		{"fr", t0, week, 10, "", 0},
		// After from, no later than until.
		{wk, t0.Add(2 * time.Hour), exp, 10, "en:A/edit en:A/move", 2},
		{"", t0, week, 0, "", 5},
	} {
		if got, total := list(c.wiki, c.from, c.until, c.limit); got != c.want || total != c.total {
			t.Errorf("ExpiringProtections(%q, %s, %s, %d) = %q (%d); want %q (%d)",
				c.wiki, c.from.Sub(t0), c.until.Sub(t0), c.limit, got, total, c.want, c.total)
		}
	}
	got, _, _ := db.ExpiringProtections(ctx, wk, t0, week, 10)
	if !got[0].NextReminder.Equal(t0.Add(time.Hour)) || got[0].Dismissed {
		t.Errorf("B's next reminder = %v (dismissed %v), want in 1h", got[0].NextReminder, got[0].Dismissed)
	}

	rs := pageReminders(t, db, wk, "A")
	r, n, err := db.DismissReminders(ctx, rs[0].ID, "bob", t0)
	if err != nil || n != 6 || r.ID != rs[0].ID || r.Protection.Title != "A" || r.Protection.Wiki != wk || !r.Expiry.Equal(exp) {
		t.Fatalf("dismiss = %+v, %d, %v; want A's six pending reminders dismissed", r, n, err)
	}
	if _, n, err := db.DismissReminders(ctx, rs[1].ID, "bob", t0); err != nil || n != 0 {
		t.Errorf("dismissing again = %d, %v", n, err)
	}
	got, _, _ = db.ExpiringProtections(ctx, "", t0, week, 10)
	for _, p := range got {
		if p.Dismissed != (p.Title == "A") {
			t.Errorf("%s %s: dismissed = %v", p.Title, p.Type, p.Dismissed)
		}
		if p.Title == "A" && !p.NextReminder.IsZero() {
			t.Errorf("A's next reminder is %v after the dismissal", p.NextReminder)
		}
	}
	if _, _, err := db.DismissReminders(ctx, 99999, "bob", t0); !errors.Is(err, commands.ErrNotFound) || !errors.Is(err, commands.ErrNoReminder) {
		t.Errorf("dismissing a missing reminder: %v, want ErrNotFound", err)
	}
	if _, err := db.Reminder(ctx, 99999); !errors.Is(err, commands.ErrNotFound) || !errors.Is(err, commands.ErrNoReminder) {
		t.Errorf("missing reminder: %v, want ErrNotFound", err)
	}

	// Long after B expired and its reminders went out, it is pruned; de's
	// have expired too but have reminders pending.
	claimDue(t, db, t0.Add(3*time.Hour), 1, 1)
	if err := db.MarkSent(ctx, 1, "", nil, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantReminders(t, db, wk, "B", "edit/0s:sent", "edit/1h0m0s:superseded")
	if n, err := db.PruneProtections(ctx, t0.Add(40*time.Hour)); err != nil || n != 1 {
		t.Errorf("pruned %d, %v; want B only", n, err)
	}
	if ps, _ := db.PageProtections(ctx, wk, "B"); len(ps) != 0 {
		t.Errorf("B outlived the prune: %+v", ps)
	}
	if rs := pageReminders(t, db, wk, "B"); len(rs) != 0 {
		t.Errorf("B's reminders outlived it: %+v", rs)
	}
}

// testRemindersState keeps named values per wiki.
func testRemindersState(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	if v, err := db.ReminderState(ctx, wk, "cursor"); err != nil || v != "" {
		t.Fatalf("unset = %q, %v", v, err)
	}
	for _, v := range []string{"a", "2026-03-01T11:00:00Z|42"} {
		if err := db.SetReminderState(ctx, wk, "cursor", v); err != nil {
			t.Fatal(err)
		}
		if got, err := db.ReminderState(ctx, wk, "cursor"); err != nil || got != v {
			t.Errorf("state = %q, %v; want %q", got, err, v)
		}
	}
	if err := db.SetReminderState(ctx, "de", "cursor", "de's"); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.ReminderState(ctx, "de", "cursor"); v != "de's" {
		t.Errorf("de's cursor = %q", v)
	}
	if v, _ := open(fixed(t0)).ReminderState(ctx, wk, "cursor"); v != "2026-03-01T11:00:00Z|42" {
		t.Errorf("en's cursor through another handle = %q", v)
	}
	if v, _ := db.ReminderState(ctx, wk, "other"); v != "" {
		t.Errorf("another key = %q", v)
	}
}

// testRemindersSameTitleOnTwoWikis keeps "Page" on en and "Page" on de
// apart: reconciling, listing, claiming, sending, retrying and dismissing
// one leaves the other as it was, and a claimed group never mixes them.
func testRemindersSameTitleOnTwoWikis(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	exp := t0.Add(48 * time.Hour)
	for _, wiki := range []string{"en", "de"} {
		p := Protection("edit", "sysop", exp)
		p.Reason = "vandalism on " + wiki
		if res := reconcile(t, db, wiki, "Page", []commands.TrackedProtection{p}, leads, t0); res.Added != 1 {
			t.Fatalf("%s: %+v", wiki, res)
		}
	}
	// en's is extended; de's stays.
	if res := reconcile(t, db, "en", "Page", []commands.TrackedProtection{Protection("edit", "sysop", exp.Add(time.Hour))}, leads, t0); res.Changed != 1 {
		t.Fatalf("en changed: %+v", res)
	}
	en, _ := db.PageProtections(ctx, "en", "Page")
	de, _ := db.PageProtections(ctx, "de", "Page")
	if len(en) != 1 || len(de) != 1 || en[0].ID == de[0].ID || !en[0].Expiry.Equal(exp.Add(time.Hour)) || !de[0].Expiry.Equal(exp) ||
		en[0].Wiki != "en" || de[0].Wiki != "de" || de[0].Reason != "vandalism on de" {
		t.Fatalf("en = %+v\nde = %+v", en, de)
	}
	wantReminders(t, db, "de", "Page", "edit/0s:pending", "edit/24h0m0s:pending", "edit/1h0m0s:pending")
	week := t0.Add(7 * 24 * time.Hour)
	if got, total, err := db.ExpiringProtections(ctx, "de", t0, week, 10); err != nil || total != 1 || len(got) != 1 ||
		got[0].Wiki != "de" || !got[0].Expiry.Equal(exp) {
		t.Errorf("de's expiring = %+v (%d), %v; want de's Page alone", got, total, err)
	}
	if got, total, err := db.ExpiringProtections(ctx, "", t0, week, 10); err != nil || total != 2 || len(got) != 2 ||
		got[0].Wiki != "de" || got[1].Wiki != "en" {
		t.Errorf("every wiki's expiring = %+v (%d), %v; want de's Page, then en's (extended)", got, total, err)
	}

	// Both 24-hour warnings fall due in one tick: two groups, one a wiki.
	now := exp.Add(-23 * time.Hour)
	claimDue(t, db, now, 1, 2)
	groups := ClaimedGroups(t, db, 1)
	if len(groups) != 2 || groups[0].Wiki != "de" || groups[1].Wiki != "en" ||
		len(groups[0].Reminders) != 1 || groups[0].Reminders[0].Protection.Wiki != "de" ||
		len(groups[1].Reminders) != 1 || groups[1].Reminders[0].Protection.Wiki != "en" {
		t.Fatalf("claimed groups = %+v", groups)
	}
	// de's went out; en's failed and is retried.
	if err := db.MarkSent(ctx, 1, "de", nil, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RetryLater(ctx, 1, "en", nil, now, commands.ReminderBackoff{Base: time.Minute, Max: time.Hour, Attempts: 3}, "en's channel failed", nil); err != nil {
		t.Fatal(err)
	}
	wantReminders(t, db, "de", "Page", "edit/0s:pending", "edit/24h0m0s:sent", "edit/1h0m0s:pending")
	wantReminders(t, db, "en", "Page", "edit/0s:cancelled", "edit/24h0m0s:cancelled", "edit/1h0m0s:cancelled",
		"edit/0s:pending", "edit/24h0m0s:pending", "edit/1h0m0s:pending")
	if rs := pageReminders(t, db, "en", "Page"); rs[4].Attempts != 1 {
		t.Errorf("en's retried reminder = %+v", rs[4])
	}

	// Dismissing de's page leaves en's page reminded.
	rs := pageReminders(t, db, "de", "Page")
	if r, n, err := db.DismissReminders(ctx, rs[0].ID, "bob", now); err != nil || n != 2 || r.Protection.Wiki != "de" {
		t.Fatalf("dismiss de = %+v, %d, %v", r, n, err)
	}
	wantReminders(t, db, "de", "Page", "edit/0s:dismissed", "edit/24h0m0s:sent", "edit/1h0m0s:dismissed")
	wantReminders(t, db, "en", "Page", "edit/0s:cancelled", "edit/24h0m0s:cancelled", "edit/1h0m0s:cancelled",
		"edit/0s:pending", "edit/24h0m0s:pending", "edit/1h0m0s:pending")

	// Lifting en's protection keeps de's.
	if res := reconcile(t, db, "en", "Page", nil, leads, now); res.Removed != 1 {
		t.Fatalf("lifting en: %+v", res)
	}
	if ps, _ := db.PageProtections(ctx, "de", "Page"); len(ps) != 1 {
		t.Errorf("lifting en's protection dropped de's")
	}
	if rs := pageReminders(t, db, "en", "Page"); len(rs) != 0 {
		t.Errorf("en's reminders outlived its protection: %+v", rs)
	}
}

// testRemindersAdoptWiki: the default wiki's protections, with their ids
// and reminders (a claimed one stays claimed), and its state move to the
// adopting wiki; a wiki tracking the same page, or keeping the same
// state, collides, and then nothing moves.
func testRemindersAdoptWiki(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	const def = commands.DefaultWiki
	exp := t0.Add(48 * time.Hour)
	reconcile(t, db, def, "Page", []commands.TrackedProtection{Protection("edit", "sysop", exp), Protection("move", "sysop", exp)}, leads, t0)
	reconcile(t, db, def, "Other", []commands.TrackedProtection{Protection("edit", "sysop", t0.Add(time.Hour))}, nil, t0)
	reconcile(t, db, "de", "Page", []commands.TrackedProtection{Protection("edit", "sysop", exp)}, nil, t0)
	for _, wiki := range []string{def, "de"} {
		if err := db.SetReminderState(ctx, wiki, "cursor", "at "+wiki); err != nil {
			t.Fatal(err)
		}
	}
	claimDue(t, db, t0.Add(time.Hour), 1, 1) // Other's, being sent
	before, _ := db.PageProtections(ctx, def, "Page")
	beforeReminders := pageReminders(t, db, def, "Page")

	err := db.AdoptWiki(ctx, "de")
	if !errors.Is(err, commands.ErrWikiCollision) || !strings.Contains(err.Error(), "protections (1)") ||
		!strings.Contains(err.Error(), "reminder_state (1)") {
		t.Fatalf("AdoptWiki(de) = %v; want ErrWikiCollision naming protections and reminder_state", err)
	}
	if ps, _ := db.PageProtections(ctx, def, "Other"); len(ps) != 1 {
		t.Errorf("a refused adoption moved Other's protection")
	}
	if v, _ := db.ReminderState(ctx, def, "cursor"); v != "at "+def {
		t.Errorf("a refused adoption moved the cursor: %q", v)
	}

	if err := db.AdoptWiki(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	ps, _ := db.PageProtections(ctx, "en", "Page")
	if len(ps) != 2 || ps[0].ID != before[0].ID || ps[1].ID != before[1].ID || ps[0].Wiki != "en" {
		t.Errorf("en's protections = %+v, want the default wiki's %+v", ps, before)
	}
	if rs := pageReminders(t, db, "en", "Page"); len(rs) != len(beforeReminders) || rs[0].ID != beforeReminders[0].ID {
		t.Errorf("en has %d reminders, want the default wiki's %d", len(rs), len(beforeReminders))
	}
	if ps, _ := db.PageProtections(ctx, def, "Page"); len(ps) != 0 {
		t.Errorf("the default wiki kept protections: %+v", ps)
	}
	if v, _ := db.ReminderState(ctx, "en", "cursor"); v != "at "+def {
		t.Errorf("en's cursor = %q, want the default wiki's", v)
	}
	if v, _ := db.ReminderState(ctx, def, "cursor"); v != "" {
		t.Errorf("the default wiki kept its cursor: %q", v)
	}
	if g := ClaimedGroups(t, db, 1); len(g) != 1 || g[0].Wiki != "en" || g[0].Title != "Other" {
		t.Errorf("the claim after the adoption = %+v; want Other's reminder, on en", g)
	}
	if ps, _ := db.PageProtections(ctx, "de", "Page"); len(ps) != 1 {
		t.Errorf("de's protection moved")
	}
}

// testRemindersConcurrentClaimers: three handles (replicas) with two ticks
// each claim, read and mark sent 1,000 reminders that fall due at once:
// each is claimed by one tick and marked sent once. Then the protections
// are extended and their 1,000 new reminders fall due ten at a time, a
// second apart, which the ticks, sweeping the same seconds, race for
// again and again.
func testRemindersConcurrentClaimers(t *testing.T, open Opener) {
	ctx := context.Background()
	handles := []Store{open(fixed(t0)), open(fixed(t0)), open(fixed(t0))}
	const pages = 250 // of four protections, of one reminder each
	types := []string{"edit", "move", "create", "upload"}
	title := func(i int) (string, string) { return []string{"en", "de"}[i%2], fmt.Sprintf("Page %d", i) }
	// track tracks every page from all three handles at once, each page's
	// protections expiring when expiry says.
	track := func(expiry func(page int) time.Time) {
		t.Helper()
		var wg sync.WaitGroup
		for g := range 10 {
			wg.Go(func() {
				for i := g; i < pages; i += 10 {
					var want []commands.TrackedProtection
					for _, typ := range types {
						want = append(want, Protection(typ, "sysop", expiry(i)))
					}
					wiki, title := title(i)
					if _, err := handles[g%3].ReconcilePage(ctx, wiki, title, want, nil, t0); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}

	var (
		claims atomic.Int64
		mu     sync.Mutex
		by     = map[int64]int64{} // reminder id: the claim that got it
		twice  []int64
		ticks  int // claims that got something
	)
	// claimAll runs the six ticks, each sweeping the given times: at
	// each, it claims until nothing is due, sending what it claimed.
	claimAll := func(times []time.Time) {
		t.Helper()
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 6 {
			db := handles[i%3]
			wg.Go(func() {
				<-start
				for _, now := range times {
					for {
						claim := claims.Add(1)
						n, err := db.ClaimDue(ctx, now, claim)
						if err != nil {
							t.Error(err)
							return
						}
						if n == 0 {
							// Rows another tick is claiming are pending
							// until it commits.
							if due, err := db.DueReminders(ctx, now); err != nil || due == 0 {
								if err != nil {
									t.Error(err)
									return
								}
								break
							}
							continue
						}
						rs, err := db.ClaimedReminders(ctx, claim)
						if err != nil {
							t.Error(err)
							return
						}
						if len(rs) != n {
							t.Errorf("claim %d: ClaimDue said %d, ClaimedReminders gave %d", claim, n, len(rs))
						}
						mu.Lock()
						ticks++
						for _, r := range rs {
							if _, ok := by[r.ID]; ok {
								twice = append(twice, r.ID)
							}
							by[r.ID] = claim
						}
						mu.Unlock()
						// As the scheduler sends them: a message a group,
						// marked by wiki and ids.
						for _, g := range commands.GroupReminders(rs) {
							var ids []int64
							for _, r := range g.Reminders {
								ids = append(ids, r.ID)
							}
							if err := db.MarkSent(ctx, claim, g.Wiki, ids, now); err != nil {
								t.Error(err)
								return
							}
						}
						if rs, err := db.ClaimedReminders(ctx, claim); err != nil || len(rs) != 0 {
							t.Errorf("claim %d holds %d after MarkSent (%v)", claim, len(rs), err)
						}
					}
				}
			})
		}
		close(start)
		wg.Wait()
	}
	// check checks that each page has want reminders, each sent once.
	check := func(want int) {
		t.Helper()
		if len(twice) > 0 {
			t.Errorf("reminders claimed twice: %v", twice)
		}
		if len(by) != pages*want {
			t.Errorf("%d reminders claimed, want %d", len(by), pages*want)
		}
		sent := 0
		for i := range pages {
			wiki, title := title(i)
			for _, r := range pageReminders(t, handles[i%3], wiki, title) {
				if r.Status != commands.ReminderSent || r.Attempts != 0 || r.Recovered {
					t.Errorf("%s on %s: %+v", title, wiki, r)
				}
				if _, ok := by[r.ID]; !ok {
					t.Errorf("reminder %d was sent unclaimed", r.ID)
				}
				sent++
			}
		}
		if sent != pages*want {
			t.Errorf("%d reminders sent, want %d", sent, pages*want)
		}
		t.Logf("%d claims took %d reminders", ticks, pages*len(types))
		ticks = 0
	}

	exp := t0.Add(time.Hour)
	track(func(int) time.Time { return exp })
	if n, err := handles[0].DueReminders(ctx, exp); err != nil || n != pages*len(types) {
		t.Fatalf("due = %d, %v; want %d", n, err, pages*len(types))
	}
	claimAll([]time.Time{exp})
	check(len(types))

	// Extended: the reminders at the new expiries fall due in waves.
	exp2 := t0.Add(2 * time.Hour)
	track(func(page int) time.Time { return exp2.Add(time.Duration(page%100) * time.Second) })
	var waves []time.Time
	for s := range 100 {
		waves = append(waves, exp2.Add(time.Duration(s)*time.Second))
	}
	claimAll(waves)
	check(2 * len(types))
}

// testRemindersConcurrentReconcile: ten replicas' syncs, over three
// handles, reconcile one page at once, as when a /protect and the protect
// log's sync meet: the page is tracked once, with one set of reminders,
// and none of them fails.
func testRemindersConcurrentReconcile(t *testing.T, open Opener) {
	ctx := context.Background()
	handles := []Store{open(fixed(t0)), open(fixed(t0)), open(fixed(t0))}
	exp := t0.Add(48 * time.Hour)
	want := []commands.TrackedProtection{Protection("edit", "sysop", exp), Protection("move", "sysop", exp)}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total commands.ReconcileResult
	)
	start := make(chan struct{})
	for i := range 10 {
		wg.Go(func() {
			<-start
			res, err := handles[i%3].ReconcilePage(ctx, wk, "Page", want, leads, t0)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			total.Added += res.Added
			total.Changed += res.Changed
			total.Removed += res.Removed
			total.Unchanged += res.Unchanged
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if total != (commands.ReconcileResult{Added: 2, Unchanged: 18}) {
		t.Errorf("results add up to %+v; want 2 added once, then unchanged", total)
	}
	wantReminders(t, handles[0], wk, "Page", "edit/0s:pending", "edit/24h0m0s:pending", "edit/1h0m0s:pending",
		"move/0s:pending", "move/24h0m0s:pending", "move/1h0m0s:pending")
}
