package alerts_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/alerts"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/pgtest"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage/postgres"
)

// TestRestartGoesOnFromTheCursor: a follower reads two reverts (not yet an
// edit war), and a later edit elsewhere, and stops; the next process,
// which knows nothing but the store, reads the third revert and raises
// the alert, counting the first two, which are older than where its read
// would start (it reads the window before the cursor again). A process
// after that raises nothing more: no alert missed, none doubled.
func TestRestartGoesOnFromTheCursor(t *testing.T) {
	const overlap = time.Second
	f := newFixture(t, func(c *alerts.Config) { c.Overlap = overlap })
	ctx := context.Background()
	title := testwait.Unique("Restart War ")
	who := editors(t, wiki, 3)
	war(t, wiki, title, who[:2])
	// The wiki stamps its changes with this machine's clock: an edit a
	// few overlaps later moves the cursor past the two reverts.
	reverted := time.Now()
	testwait.For(t, "a few overlaps to pass", func() bool { return time.Since(reverted) > 3*overlap })
	if err := as(t, wiki, "Admin", devwiki.AdminPassword).Edit(ctx, testwait.Unique("Restart Elsewhere "), "later"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the wiki to list the later edit", func() bool {
		page, err := f.env.Anon.RecentChanges(ctx, mw.RecentChangesQuery{Start: reverted.Add(3 * overlap)})
		return err == nil && len(page.Changes) > 0
	})
	f.tick(t)
	if got := f.inbox.about(title); len(got) != 0 {
		t.Fatalf("two reverts raised %d alerts", len(got))
	}
	if c, err := f.env.DB.AlertCursor(ctx, commands.DefaultWiki, commands.AlertStreamChanges); err != nil || c == "" {
		t.Fatalf("no cursor was kept: %q, %v", c, err)
	}
	f.f.Close()

	// A new process: the same store, nothing in memory.
	f.f = f.follower(t, f.cfg)
	revert(t, wiki, title, who[2])
	got := f.alertWithin(t, 2, title)
	if len(got) != 1 || !strings.HasPrefix(field(got[0], "Reverted edits"), "3 edits by "+who[0]) {
		t.Fatalf("after the restart: %d alerts, %q", len(got), field(got[0], "Reverted edits"))
	}
	f.f.Close()

	// And another: nothing doubled.
	f.f = f.follower(t, f.cfg)
	f.tick(t)
	f.tick(t)
	if n := len(f.inbox.about(title)); n != 1 {
		t.Errorf("%d alerts after a second restart, want one", n)
	}
}

// postgresDSN starts a throwaway PostgreSQL server for the test, stopped
// when it ends, and returns a database of its own on it. Where PostgreSQL
// is not installed the test skips (or fails, with WIKIMOD_REQUIRE_POSTGRES=1,
// as in CI).
func postgresDSN(t *testing.T) string {
	t.Helper()
	srv, err := pgtest.Start(context.Background())
	if err != nil && !errors.Is(err, pgtest.ErrNotInstalled) {
		t.Fatalf("pgtest: %v", err)
	}
	if srv != nil {
		t.Cleanup(func() { srv.Close() })
	}
	return srv.NewDatabase(t) // on a nil server: skips, or fails under RequireEnv
}

// replica is one wikimod process following the test wiki: a handle of its
// own on the shared database, a session counting its requests, and a
// notice channel of its own.
type replica struct {
	f       *alerts.Follower
	inbox   *inbox
	counted *countingTransport
}

func newReplica(t *testing.T, dsn, name string, clock *testenv.Clock) *replica {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &replica{inbox: newInbox(), counted: &countingTransport{count: map[string]int{}, base: http.DefaultTransport}}
	c, err := mw.New(mw.Config{APIURL: wiki.APIURL, HTTPClient: &http.Client{Transport: r.counted}})
	if err != nil {
		t.Fatal(err)
	}
	r.f, err = alerts.New(alerts.Config{Store: db, Wikis: []alerts.Wiki{{Name: commands.DefaultWiki, Client: c}}, Channels: r.inbox.channels,
		Interval: interval, Now: clock.Now, Replicas: &alerts.Replicas{Store: db, Instance: name},
		Logger: slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", name)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.f.Close() })
	return r
}

// TestReplicasHandOverAWiki: of two replicas sharing PostgreSQL, one
// follows the wiki (its lease) and the other sends the wiki nothing. When
// the first dies (it stops without giving its lease up), the second takes
// the wiki over once the lease has run out, goes on from the first's
// cursor, and raises the alert the reverts on both sides of the handover
// make, once; the first, back, finds the wiki another's and raises
// nothing.
func TestReplicasHandOverAWiki(t *testing.T) {
	devwiki.Need(t, wiki)
	dsn := postgresDSN(t)
	clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	a, b := newReplica(t, dsn, "a", clock), newReplica(t, dsn, "b", clock)
	ctx := context.Background()
	title := testwait.Unique("Handover War ")
	who := editors(t, wiki, 3)
	poll := func(r *replica) (sent int) {
		r.f.PollDue(ctx)
		for _, n := range r.counted.take() {
			sent += n
		}
		return sent
	}
	// Which replica takes the wiki first is a race; a polls first here.
	war(t, wiki, title, who[:1])
	clock.Add(interval)
	if sent := poll(a); sent == 0 {
		t.Fatal("a read nothing")
	}
	if sent := poll(b); sent != 0 {
		t.Fatalf("b sent %d requests to a wiki a follows", sent)
	}
	revert(t, wiki, title, who[1])
	clock.Add(interval)
	poll(a)
	poll(b)
	// a dies here, holding its lease; the third revert comes.
	revert(t, wiki, title, who[2])
	clock.Add(interval)
	if sent := poll(b); sent != 0 || len(b.inbox.about(title)) != 0 {
		t.Fatalf("b took the wiki while a's lease lasted (%d requests)", sent)
	}
	clock.Add(3 * interval)
	if sent := poll(b); sent == 0 {
		t.Fatal("b did not take the wiki over once a's lease ran out")
	}
	got := b.inbox.about(title)
	if len(got) != 1 || field(got[0], "Reverted edits") != "3 edits by "+who[0]+", "+who[1]+" and "+who[2] {
		t.Fatalf("after the handover: %d alerts (%v)", len(got), got)
	}
	// a comes back: the wiki is b's now.
	clock.Add(interval)
	if sent := poll(a); sent != 0 || len(a.inbox.about(title)) != 0 {
		t.Errorf("a, back, sent %d requests and posted %d alerts", sent, len(a.inbox.about(title)))
	}
	poll(b)
	if n := len(b.inbox.about(title)); n != 1 {
		t.Errorf("%d alerts in all, want one", n)
	}
}

// TestAWikiThatIsDownDelaysNoOther: with one wiki frozen (it takes
// requests and never answers) and one gone (nothing listens), an edit war
// on the third is announced while the frozen wiki's poll still waits, and
// that poll ends at its time limit.
func TestAWikiThatIsDownDelaysNoOther(t *testing.T) {
	second := devwiki.Need(t, wiki2)
	gone, _ := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php"})
	frozen, _ := mw.New(mw.Config{APIURL: second.APIURL})
	const timeout = 5 * time.Second
	f := newFixture(t, func(c *alerts.Config) {
		c.Concurrency, c.PollTimeout = 2, timeout
		// The frozen and the gone wiki come first, and take the slots
		// first.
		test := c.Wikis[0]
		c.Wikis = []alerts.Wiki{{Name: "de", Client: frozen}, {Name: "gone", Client: gone}, test}
	})
	ctx := context.Background()
	title := testwait.Unique("Farm War ")
	war(t, wiki, title, editors(t, wiki, 3))
	if err := second.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Thaw() })

	f.clock.Add(interval) // every wiki's slot has come
	done := make(chan []string)
	start := time.Now()
	go func() { done <- f.f.PollDue(ctx) }()
	for announced := false; !announced; {
		announced = len(f.inbox.about(title)) > 0
		select {
		case <-done:
			if !announced {
				t.Fatalf("the polls ended after %s without the alert", time.Since(start))
			}
			t.Fatalf("the alert came only with the frozen wiki's poll (%s): it waited for it", time.Since(start))
		case <-f.inbox.arrived:
		case <-time.After(20 * time.Millisecond):
		}
	}
	if took := time.Since(start); took >= timeout {
		t.Errorf("the alert took %s, as long as the frozen wiki's time limit", took)
	}
	names := <-done
	if took := time.Since(start); took < timeout-time.Second || took > 3*timeout {
		t.Errorf("the frozen wiki's poll ended after %s, want about %s", took, timeout)
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "de,default,gone" {
		t.Errorf("polled %v, want all three", names)
	}
	m := f.inbox.about(title)[0]
	if m.Wiki != commands.DefaultWiki || !strings.HasPrefix(english(m.Title), "["+commands.DefaultWiki+"] Edit war on "+title) {
		t.Errorf("on a farm, the alert names its wiki: %q (%q)", english(m.Title), m.Wiki)
	}
	for outcome, want := range map[string]float64{"ok": 1, "failed": 2} {
		if got := f.env.Metrics.Value("wikimod_alert_polls_total", "outcome", outcome); got != want {
			t.Errorf("polls %s = %v, want %v", outcome, got, want)
		}
	}
}
