package storagetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// quiet is the alerts' tests' quiet time: trouble that comes within it of
// a burst's last is of that burst.
const quiet = 15 * time.Minute

// burst returns an alert about title on wiki from start to last, raised at
// t0, with names enough to see what merging keeps.
func burst(wiki, title string, start, last time.Duration, reverts int, editors ...string) commands.Alert {
	return commands.Alert{Wiki: wiki, Title: title, Started: t0.Add(start), LastSeen: t0.Add(last), Raised: t0.Add(last),
		Rule: commands.AlertRuleReverts, Reverts: reverts, Editors: editors, Reverters: []string{"Admin"}}
}

// raise raises an alert and fails the test if that fails.
func raise(t *testing.T, db Store, a commands.Alert) (commands.Alert, bool) {
	t.Helper()
	out, raised, err := db.RaiseAlert(context.Background(), a, quiet)
	if err != nil {
		t.Fatalf("RaiseAlert(%s %q): %v", a.Wiki, a.Title, err)
	}
	return out, raised
}

// alertByID reads an alert and fails the test if that fails.
func alertByID(t *testing.T, db Store, id int64) commands.Alert {
	t.Helper()
	a, err := db.Alert(context.Background(), id)
	if err != nil {
		t.Fatalf("Alert(%d): %v", id, err)
	}
	return a
}

// testAlertCursors: a stream of a wiki has no cursor until one is set; a
// second replaces the first; each wiki and stream is a cursor of its own;
// every handle reads what another set, and a cursor outlives a restart.
// A cursor without a wiki or a stream is refused.
func testAlertCursors(t *testing.T, open Opener) {
	ctx := context.Background()
	a, b := open(fixed(t0)), open(fixed(t0))
	cursor := func(db Store, wiki, stream string) string {
		t.Helper()
		v, err := db.AlertCursor(ctx, wiki, stream)
		if err != nil {
			t.Fatalf("AlertCursor(%s, %s): %v", wiki, stream, err)
		}
		return v
	}
	set := func(db Store, wiki, stream, value string) {
		t.Helper()
		if err := db.SetAlertCursor(ctx, wiki, stream, value); err != nil {
			t.Fatalf("SetAlertCursor(%s, %s): %v", wiki, stream, err)
		}
	}
	if v := cursor(a, "en", commands.AlertStreamChanges); v != "" {
		t.Fatalf("a cursor before any was set: %q", v)
	}
	set(a, "en", commands.AlertStreamChanges, "2026-03-01T12:00:00Z|41")
	set(a, "en", commands.AlertStreamAbuseLog, "2026-03-01T11:00:00Z|7")
	set(b, "de", commands.AlertStreamChanges, "2026-03-01T10:00:00Z|3")
	set(b, "en", commands.AlertStreamChanges, "2026-03-01T12:01:00Z|42")
	for _, c := range []struct{ wiki, stream, want string }{
		{"en", commands.AlertStreamChanges, "2026-03-01T12:01:00Z|42"},
		{"en", commands.AlertStreamAbuseLog, "2026-03-01T11:00:00Z|7"},
		{"de", commands.AlertStreamChanges, "2026-03-01T10:00:00Z|3"},
		{"de", commands.AlertStreamAbuseLog, ""},
	} {
		for _, db := range []Store{a, b} {
			if got := cursor(db, c.wiki, c.stream); got != c.want {
				t.Errorf("AlertCursor(%s, %s) = %q, want %q", c.wiki, c.stream, got, c.want)
			}
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cursor(open(fixed(t0)), "en", commands.AlertStreamChanges); got != "2026-03-01T12:01:00Z|42" {
		t.Errorf("after a restart: %q", got)
	}
	for _, c := range []struct{ wiki, stream string }{{"", "x"}, {"en", ""}} {
		if err := b.SetAlertCursor(ctx, c.wiki, c.stream, "v"); err == nil {
			t.Errorf("SetAlertCursor(%q, %q) succeeded", c.wiki, c.stream)
		}
	}
}

// testAlertsOncePerBurst: the first trouble on a page raises an alert;
// more of the same burst (within the quiet time of its last trouble, from
// any handle) is merged into it, widening the burst and keeping every
// name, and raises nothing; trouble after a quiet time is a new burst; the
// same title on another wiki is another page. An alert keeps every field
// it was raised with, its times in UTC to the millisecond.
func testAlertsOncePerBurst(t *testing.T, open Opener) {
	a, b := open(fixed(t0)), open(fixed(t0))
	paris := time.FixedZone("Paris", 3600)
	first := burst("en", "War", 0, 5*time.Minute+1500*time.Microsecond, 3, "Ann", "Bob")
	first.Started = first.Started.In(paris)
	first.AbuseHits, first.AbuseUsers, first.Filters = 1, []string{"Cy"}, []string{"4: spam"}
	got, raised := raise(t, a, first)
	if !raised || got.ID == 0 {
		t.Fatalf("the first trouble: raised %v, %+v", raised, got)
	}
	want := commands.Alert{ID: got.ID, Wiki: "en", Title: "War", Started: t0, LastSeen: t0.Add(5*time.Minute + time.Millisecond),
		Raised: t0.Add(5*time.Minute + time.Millisecond), Rule: commands.AlertRuleReverts, Reverts: 3, Editors: []string{"Ann", "Bob"},
		Reverters: []string{"Admin"}, AbuseHits: 1, AbuseUsers: []string{"Cy"}, Filters: []string{"4: spam"}, Delivered: []string{}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("raised:\n got %+v\nwant %+v", got, want)
	}
	if read := alertByID(t, b, got.ID); !reflect.DeepEqual(read, want) {
		t.Fatalf("read back through another handle:\n got %+v\nwant %+v", read, want)
	}

	// More of the burst, through the other handle: merged.
	more, raised := raise(t, b, burst("en", "War", 10*time.Minute, 19*time.Minute, 4, "Bob", "Dee"))
	if raised || more.ID != got.ID {
		t.Fatalf("more of the burst raised %v a new alert %d (first %d)", raised, more.ID, got.ID)
	}
	merged := alertByID(t, a, got.ID)
	if !merged.Started.Equal(t0) || !merged.LastSeen.Equal(t0.Add(19*time.Minute)) || merged.Reverts != 4 ||
		!reflect.DeepEqual(merged.Editors, []string{"Ann", "Bob", "Dee"}) || merged.AbuseHits != 1 {
		t.Errorf("merged: %+v", merged)
	}
	if !reflect.DeepEqual(more, merged) {
		t.Errorf("RaiseAlert returned %+v, the store has %+v", more, merged)
	}
	// Trouble starting at the edge of the quiet time is still the burst;
	// an older report does not move its end back.
	if _, raised := raise(t, a, burst("en", "War", 34*time.Minute, 34*time.Minute, 3, "Eve")); raised {
		t.Error("trouble at the end of the quiet time raised a new alert")
	}
	if _, raised := raise(t, a, burst("en", "War", 2*time.Minute, 3*time.Minute, 3, "Ann")); raised {
		t.Error("an older report raised a new alert")
	}
	if got := alertByID(t, a, got.ID); !got.LastSeen.Equal(t0.Add(34 * time.Minute)) {
		t.Errorf("the burst's end = %v, want %v", got.LastSeen, t0.Add(34*time.Minute))
	}
	// After a quiet time: a new burst.
	again, raised := raise(t, b, burst("en", "War", 49*time.Minute+time.Millisecond, time.Hour, 3, "Fay", "Gus"))
	if !raised || again.ID == got.ID {
		t.Errorf("trouble after a quiet time: raised %v, id %d", raised, again.ID)
	}
	// The same title on another wiki, and another title.
	for _, other := range []commands.Alert{burst("de", "War", 0, time.Minute, 3, "Ann", "Bob"), burst("en", "Peace", 0, time.Minute, 3, "Ann", "Bob")} {
		if o, raised := raise(t, a, other); !raised || o.ID == got.ID || o.ID == again.ID {
			t.Errorf("%s %s: raised %v, id %d", other.Wiki, other.Title, raised, o.ID)
		}
	}

	// The names kept are bounded.
	var many []string
	for i := range commands.MaxAlertNames + 5 {
		many = append(many, fmt.Sprintf("User %d", i))
	}
	big, _ := raise(t, a, burst("en", "Flood", 0, time.Minute, 30, many...))
	if len(big.Editors) != commands.MaxAlertNames || len(alertByID(t, b, big.ID).Editors) != commands.MaxAlertNames {
		t.Errorf("an alert keeps %d editors, want %d", len(big.Editors), commands.MaxAlertNames)
	}

	ctx := context.Background()
	for _, bad := range []commands.Alert{
		{Title: "x", Rule: "reverts", Started: t0, LastSeen: t0},
		{Wiki: "en", Rule: "reverts", Started: t0, LastSeen: t0},
		{Wiki: "en", Title: "x", Started: t0, LastSeen: t0},
		{Wiki: "en", Title: "x", Rule: "reverts", LastSeen: t0},
		{Wiki: "en", Title: "x", Rule: "reverts", Started: t0, LastSeen: t0.Add(-time.Second)},
	} {
		if _, _, err := a.RaiseAlert(ctx, bad, quiet); err == nil {
			t.Errorf("RaiseAlert(%+v) succeeded", bad)
		}
	}
	if _, err := a.Alert(ctx, 987654); !errors.Is(err, commands.ErrNoAlert) || !errors.Is(err, commands.ErrNotFound) {
		t.Errorf("Alert of a missing id = %v, want ErrNoAlert and ErrNotFound", err)
	}
}

// testAlertsRaisedOnceByConcurrentReplicas: eight raisers on four handles
// (replicas that took a wiki over at once) raise the same burst, each
// seeing it start a moment apart: one alert is raised, and it holds every
// name.
func testAlertsRaisedOnceByConcurrentReplicas(t *testing.T, open Opener) {
	handles := []Store{open(fixed(t0)), open(fixed(t0)), open(fixed(t0)), open(fixed(t0))}
	var (
		wg     sync.WaitGroup
		raised atomic.Int32
		ids    sync.Map
	)
	for i := range 8 {
		wg.Go(func() {
			a := burst("en", "Race", time.Duration(i)*time.Second, 5*time.Minute, 3+i, fmt.Sprintf("Editor %d", i), "Both")
			out, ok, err := handles[i%len(handles)].RaiseAlert(context.Background(), a, quiet)
			if err != nil {
				t.Errorf("raiser %d: %v", i, err)
				return
			}
			if ok {
				raised.Add(1)
			}
			ids.Store(out.ID, true)
		})
	}
	wg.Wait()
	n := 0
	var id int64
	ids.Range(func(k, _ any) bool { n++; id = k.(int64); return true })
	if raised.Load() != 1 || n != 1 {
		t.Fatalf("%d raisers raised an alert, %d alerts in all; want one", raised.Load(), n)
	}
	got := alertByID(t, handles[0], id)
	if got.Reverts != 10 || len(got.Editors) != 9 {
		t.Errorf("the alert = %+v, want 10 reverts and nine editors", got)
	}
}

// testAlertsTouch: touching moves the burst's end later, never back, and
// touching an alert that is gone is no error.
func testAlertsTouch(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	a, _ := raise(t, db, burst("en", "Touch", 0, time.Minute, 3, "Ann", "Bob"))
	for _, c := range []struct {
		to, want time.Duration
	}{{10 * time.Minute, 10 * time.Minute}, {5 * time.Minute, 10 * time.Minute}, {20*time.Minute + 7*time.Millisecond, 20*time.Minute + 7*time.Millisecond}} {
		if err := db.TouchAlert(ctx, a.ID, t0.Add(c.to)); err != nil {
			t.Fatal(err)
		}
		if got := alertByID(t, db, a.ID).LastSeen; !got.Equal(t0.Add(c.want)) {
			t.Errorf("touched to +%s: last seen %v, want +%s", c.to, got, c.want)
		}
	}
	if err := db.TouchAlert(ctx, 987654, t0); err != nil {
		t.Errorf("touching a missing alert: %v", err)
	}
	// A burst touched on goes on: trouble within quiet of the touch is it.
	if _, raised := raise(t, db, burst("en", "Touch", 30*time.Minute, 31*time.Minute, 3, "Cy")); raised {
		t.Error("trouble within the quiet time of the touched end raised a new alert")
	}
}

// testAlertsPostedAndOpen: an alert is open (OpenAlerts) while it is not
// posted or its burst was seen since the time asked about; a post records
// the channels reached (replacing the last ones) and counts an attempt;
// other wikis' alerts are not listed.
func testAlertsPostedAndOpen(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	old, _ := raise(t, db, burst("en", "Old", 0, time.Minute, 3, "Ann", "Bob"))
	recent, _ := raise(t, db, burst("en", "Recent", 50*time.Minute, time.Hour, 3, "Ann", "Bob"))
	raise(t, db, burst("de", "Recent", 50*time.Minute, time.Hour, 3, "Ann", "Bob"))
	ids := func(since time.Duration) string {
		t.Helper()
		as, err := db.OpenAlerts(ctx, "en", t0.Add(since))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.Title)
		}
		return strings.Join(out, ",")
	}
	if got := ids(30 * time.Minute); got != "Old,Recent" {
		t.Errorf("open before posting: %s, want Old,Recent", got)
	}
	if err := db.MarkAlertPosted(ctx, old.ID, []string{"slack"}, false, t0); err != nil {
		t.Fatal(err)
	}
	got := alertByID(t, db, old.ID)
	if got.Posted || got.Attempts != 1 || !reflect.DeepEqual(got.Delivered, []string{"slack"}) {
		t.Errorf("after a partial post: %+v", got)
	}
	if err := db.MarkAlertPosted(ctx, old.ID, []string{"slack", "discord"}, true, t0); err != nil {
		t.Fatal(err)
	}
	got = alertByID(t, db, old.ID)
	if !got.Posted || got.Attempts != 2 || !reflect.DeepEqual(got.Delivered, []string{"slack", "discord"}) {
		t.Errorf("after the post: %+v", got)
	}
	if got := ids(30 * time.Minute); got != "Recent" {
		t.Errorf("open after posting Old: %s, want Recent", got)
	}
	if err := db.MarkAlertPosted(ctx, recent.ID, nil, true, t0); err != nil {
		t.Fatal(err)
	}
	if got := ids(2 * time.Hour); got != "" {
		t.Errorf("open later: %s, want none", got)
	}
	if got := ids(0); got != "Old,Recent" {
		t.Errorf("open since the start: %s", got)
	}
}

// testAlertsActedOnOnce: of many presses of an alert's buttons at once,
// through several handles, one takes it and the others see who did; a
// finished action keeps the alert for good; a press that failed gives it
// back for another; a press whose process died is taken over once it is
// stale, and its late finish changes nothing.
func testAlertsActedOnOnce(t *testing.T, open Opener) {
	a, b := open(fixed(t0)), open(fixed(t0))
	ctx := context.Background()
	al, _ := raise(t, a, burst("en", "Press", 0, time.Minute, 3, "Ann", "Bob"))
	press := func(claim int64, action, by string, at time.Duration) commands.AlertAction {
		return commands.AlertAction{Action: action, Claim: claim, By: by, Name: by + " (name)", At: t0.Add(at)}
	}
	var (
		wg     sync.WaitGroup
		took   atomic.Int32
		winner atomic.Int64
	)
	for i := range 8 {
		db := []Store{a, b}[i%2]
		wg.Go(func() {
			got, ok, err := db.ClaimAlert(ctx, al.ID, press(int64(i+1), commands.AlertProtect, fmt.Sprintf("slack:U%d", i), time.Minute), t0)
			if err != nil {
				t.Errorf("press %d: %v", i, err)
				return
			}
			if ok {
				took.Add(1)
				winner.Store(int64(i + 1))
			}
			if got.Action != commands.AlertProtect || got.ActClaim == 0 || got.ActedBy == "" || got.ActDone {
				t.Errorf("press %d sees %+v", i, got)
			}
		})
	}
	wg.Wait()
	if took.Load() != 1 {
		t.Fatalf("%d presses took the alert, want one", took.Load())
	}
	claim := winner.Load()
	held := alertByID(t, b, al.ID)
	if held.ActClaim != claim || held.ActedBy != fmt.Sprintf("slack:U%d", claim-1) || held.ActedName != held.ActedBy+" (name)" ||
		!held.ActedAt.Equal(t0.Add(time.Minute)) || !held.ActUpdated.Equal(t0.Add(time.Minute)) {
		t.Errorf("the claim: %+v", held)
	}
	// Another claim's finish changes nothing; the holder's gives it back.
	if got, err := a.FinishAlert(ctx, al.ID, claim+100, true, "nothing", t0.Add(2*time.Minute)); err != nil || got.ActDone || got.ActClaim != claim {
		t.Errorf("a stranger's finish: %+v, %v", got, err)
	}
	if got, err := a.FinishAlert(ctx, al.ID, claim, false, "", t0.Add(2*time.Minute)); err != nil || got.Action != "" || got.ActClaim != 0 || got.ActedBy != "" {
		t.Errorf("a failed press gave back: %+v, %v", got, err)
	}
	// Now a dismissal takes it, and finishes it.
	if _, ok, err := b.ClaimAlert(ctx, al.ID, press(50, commands.AlertDismiss, "discord:D1", 3*time.Minute), t0); err != nil || !ok {
		t.Fatalf("dismissal after the give-back: %v, %v", ok, err)
	}
	done, err := b.FinishAlert(ctx, al.ID, 50, true, "dismissed", t0.Add(4*time.Minute))
	if err != nil || !done.ActDone || done.ActDetail != "dismissed" || done.Action != commands.AlertDismiss || !done.ActUpdated.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("finished: %+v, %v", done, err)
	}
	// A finished action holds, stale or not; finishing again changes
	// nothing.
	if got, ok, err := a.ClaimAlert(ctx, al.ID, press(51, commands.AlertProtect, "slack:U9", time.Hour), t0.Add(time.Hour)); err != nil || ok ||
		got.ActedBy != "discord:D1" {
		t.Errorf("a press after the dismissal: %v, %+v, %v", ok, got, err)
	}
	if got, _ := a.FinishAlert(ctx, al.ID, 50, false, "", t0.Add(time.Hour)); !got.ActDone {
		t.Errorf("a finished action was given back: %+v", got)
	}

	// A press whose process died: taken over once stale, not before.
	other, _ := raise(t, a, burst("en", "Died", 0, time.Minute, 3, "Ann", "Bob"))
	if _, ok, _ := a.ClaimAlert(ctx, other.ID, press(60, commands.AlertProtect, "slack:U1", time.Minute), t0); !ok {
		t.Fatal("the first press did not take a fresh alert")
	}
	if _, ok, _ := b.ClaimAlert(ctx, other.ID, press(61, commands.AlertProtect, "slack:U2", 3*time.Minute), t0.Add(time.Minute)); ok {
		t.Error("a press took an alert whose action is not stale")
	}
	got, ok, err := b.ClaimAlert(ctx, other.ID, press(62, commands.AlertProtect, "slack:U2", 10*time.Minute), t0.Add(time.Minute+time.Millisecond))
	if err != nil || !ok || got.ActClaim != 62 || got.ActedBy != "slack:U2" {
		t.Errorf("taking over a stale press: %v, %+v, %v", ok, got, err)
	}
	if got, _ := a.FinishAlert(ctx, other.ID, 60, true, "late", t0.Add(11*time.Minute)); got.ActDone || got.ActClaim != 62 {
		t.Errorf("the dead press's late finish: %+v", got)
	}

	for _, bad := range []commands.AlertAction{
		press(1, "undo", "x", 0), press(0, commands.AlertProtect, "x", 0), press(1, commands.AlertProtect, "", 0), {Action: commands.AlertDismiss, Claim: 1, By: "x"},
	} {
		if _, _, err := a.ClaimAlert(ctx, al.ID, bad, t0); err == nil {
			t.Errorf("ClaimAlert(%+v) succeeded", bad)
		}
	}
	if _, _, err := a.ClaimAlert(ctx, 987654, press(1, commands.AlertProtect, "x", 0), t0); !errors.Is(err, commands.ErrNoAlert) {
		t.Errorf("claiming a missing alert = %v, want ErrNoAlert", err)
	}
}

// testAlertsPrune: alerts whose burst ended before the time given are
// forgotten, except one an action is running on.
func testAlertsPrune(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	gone, _ := raise(t, db, burst("en", "Gone", 0, time.Minute, 3, "Ann", "Bob"))
	running, _ := raise(t, db, burst("en", "Running", 0, time.Minute, 3, "Ann", "Bob"))
	done, _ := raise(t, db, burst("en", "Done", 0, time.Minute, 3, "Ann", "Bob"))
	kept, _ := raise(t, db, burst("en", "Kept", 0, 3*time.Hour, 3, "Ann", "Bob"))
	for i, a := range []commands.Alert{running, done} {
		if _, ok, err := db.ClaimAlert(ctx, a.ID, commands.AlertAction{Action: commands.AlertProtect, Claim: int64(i + 1), By: "x", At: t0}, t0); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	if _, err := db.FinishAlert(ctx, done.ID, 2, true, "protected", t0); err != nil {
		t.Fatal(err)
	}
	n, err := db.PruneAlerts(ctx, t0.Add(time.Hour))
	if err != nil || n != 2 {
		t.Errorf("PruneAlerts = %d, %v; want 2", n, err)
	}
	for _, a := range []commands.Alert{gone, done} {
		if _, err := db.Alert(ctx, a.ID); !errors.Is(err, commands.ErrNoAlert) {
			t.Errorf("%s was kept: %v", a.Title, err)
		}
	}
	for _, a := range []commands.Alert{running, kept} {
		alertByID(t, db, a.ID)
	}
}

// testAlertsDumpRestore: the alerts, every column, and the cursors are
// dumped; a database holding either is not empty, and Restore refuses it
// naming the tables. (CopyAlerts restores them into another database.)
func testAlertsDumpRestore(t *testing.T, open Opener) {
	src := open(fixed(t0))
	dumped := fillAlerts(t, src)
	source := func(ctx context.Context, yield func(commands.DumpBatch) error) error { return yield(dumped) }
	if err := src.Restore(context.Background(), source); !errors.Is(err, commands.ErrNotEmpty) || !strings.Contains(err.Error(), "alerts (2)") ||
		!strings.Contains(err.Error(), "alert_cursors (3)") {
		t.Errorf("Restore into the source = %v, want ErrNotEmpty naming alerts and alert_cursors", err)
	}
}

// fillAlerts raises, posts and acts on alerts in db and sets cursors, and
// returns what db's Dump hands over of them, checked.
func fillAlerts(t *testing.T, db Store) commands.DumpBatch {
	t.Helper()
	ctx := context.Background()
	a, _ := raise(t, db, burst("en", "Copied", 0, time.Minute+3*time.Millisecond, 3, "Ann", "Bob"))
	raise(t, db, burst("de", "Copied, too", 0, time.Minute, 4, "Cy", "Dee"))
	if err := db.MarkAlertPosted(ctx, a.ID, []string{"slack"}, true, t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.ClaimAlert(ctx, a.ID, commands.AlertAction{Action: commands.AlertProtect, Claim: 9, By: "slack:U1", Name: "ann", At: t0.Add(time.Minute)}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishAlert(ctx, a.ID, 9, true, "edit=autoconfirmed for 1 day", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []commands.AlertCursorRow{{Wiki: "en", Stream: commands.AlertStreamChanges, Value: "c1"},
		{Wiki: "en", Stream: commands.AlertStreamAbuseLog, Value: "c2"}, {Wiki: "de", Stream: commands.AlertStreamChanges, Value: "c3"}} {
		if err := db.SetAlertCursor(ctx, c.Wiki, c.Stream, c.Value); err != nil {
			t.Fatal(err)
		}
	}
	dumped := dumpAlerts(t, db)
	if len(dumped.Alerts) != 2 || !dumped.Alerts[0].ActDone || dumped.Alerts[0].ActedName != "ann" || !dumped.Alerts[0].Posted ||
		!reflect.DeepEqual(dumped.Alerts[0], alertByID(t, db, a.ID)) {
		t.Fatalf("dumped alerts: %+v", dumped.Alerts)
	}
	want := []commands.AlertCursorRow{{Wiki: "de", Stream: commands.AlertStreamChanges, Value: "c3"},
		{Wiki: "en", Stream: commands.AlertStreamAbuseLog, Value: "c2"}, {Wiki: "en", Stream: commands.AlertStreamChanges, Value: "c1"}}
	if !reflect.DeepEqual(dumped.AlertCursors, want) {
		t.Errorf("dumped cursors %+v, want %+v", dumped.AlertCursors, want)
	}
	return dumped
}

// CopyAlerts fills src with alerts and cursors, copies them into dst, an
// empty database of either backend, with Restore, and checks that dst
// holds them as src does, every column, and numbers new alerts after
// them. The backends' tests run it from one database to another, which
// the contract's Opener cannot make.
func CopyAlerts(t *testing.T, src, dst Store) {
	t.Helper()
	ctx := context.Background()
	dumped := fillAlerts(t, src)
	if err := dst.Restore(ctx, src.Dump); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := dumpAlerts(t, dst); !reflect.DeepEqual(got, dumped) {
		t.Errorf("the copy:\n got %+v\nwant %+v", got, dumped)
	}
	if got := alertByID(t, dst, dumped.Alerts[0].ID); !reflect.DeepEqual(got, dumped.Alerts[0]) {
		t.Errorf("Alert in the copy = %+v", got)
	}
	if v, _ := dst.AlertCursor(ctx, "en", commands.AlertStreamAbuseLog); v != "c2" {
		t.Errorf("the copy's cursor = %q", v)
	}
	next, raised := raise(t, dst, burst("en", "After the copy", 0, time.Minute, 3, "Ann", "Bob"))
	if !raised || next.ID <= dumped.Alerts[1].ID {
		t.Errorf("an alert raised in the copy has id %d, after %d copied", next.ID, dumped.Alerts[1].ID)
	}
	// The copied burst goes on in the copy.
	if _, raised := raise(t, dst, burst("en", "Copied", 5*time.Minute, 6*time.Minute, 3, "Cy")); raised {
		t.Error("the copied burst was raised again in the copy")
	}
}

// dumpAlerts returns the alert rows and cursors db's Dump hands over; the
// tests that use it store nothing else.
func dumpAlerts(t *testing.T, db Store) commands.DumpBatch {
	t.Helper()
	var out commands.DumpBatch
	err := db.Dump(context.Background(), func(b commands.DumpBatch) error {
		out.Alerts = append(out.Alerts, b.Alerts...)
		out.AlertCursors = append(out.AlertCursors, b.AlertCursors...)
		b.Alerts, b.AlertCursors = nil, nil
		if !reflect.ValueOf(b).IsZero() {
			t.Errorf("Dump handed over rows besides the alerts: %+v", b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	return out
}

// testAlertsAdoptWiki: the default wiki's alerts and cursors become the
// adopting wiki's, ids kept; a burst both have (the same page and start),
// or a stream both follow, is a collision, and nothing moves.
func testAlertsAdoptWiki(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	const def = commands.DefaultWiki
	a, _ := raise(t, db, burst(def, "Page", 0, time.Minute, 3, "Ann", "Bob"))
	raise(t, db, burst("de", "Page", 0, time.Minute, 3, "Ann", "Bob"))
	for _, wiki := range []string{def, "de"} {
		if err := db.SetAlertCursor(ctx, wiki, commands.AlertStreamChanges, "at "+wiki); err != nil {
			t.Fatal(err)
		}
	}
	err := db.AdoptWiki(ctx, "de")
	if !errors.Is(err, commands.ErrWikiCollision) || !strings.Contains(err.Error(), "alerts (1)") || !strings.Contains(err.Error(), "alert_cursors (1)") {
		t.Fatalf("AdoptWiki(de) = %v; want ErrWikiCollision naming alerts and alert_cursors", err)
	}
	if err := db.AdoptWiki(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	if got := alertByID(t, db, a.ID); got.Wiki != "en" {
		t.Errorf("the default wiki's alert is on %q, want en", got.Wiki)
	}
	if v, _ := db.AlertCursor(ctx, "en", commands.AlertStreamChanges); v != "at "+def {
		t.Errorf("en's cursor = %q", v)
	}
	if v, _ := db.AlertCursor(ctx, def, commands.AlertStreamChanges); v != "" {
		t.Errorf("the default wiki kept its cursor: %q", v)
	}
	// The adopted burst goes on under its new wiki.
	if _, raised := raise(t, db, burst("en", "Page", 5*time.Minute, 6*time.Minute, 3, "Cy")); raised {
		t.Error("the adopted burst was raised again")
	}
}
