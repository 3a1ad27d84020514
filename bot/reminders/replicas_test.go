package reminders_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/pgtest"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage/postgres"
)

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

// openPostgres opens a handle of its own on the database, as one replica
// does, closed when the test ends.
func openPostgres(t *testing.T, dsn string, clock *testenv.Clock) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// ticking is a replica's store that counts its ticks (each claims once).
type ticking struct {
	*postgres.DB
	ticks atomic.Int64
}

func (s *ticking) ClaimDue(ctx context.Context, now time.Time, claim int64) (int, error) {
	defer s.ticks.Add(1)
	return s.DB.ClaimDue(ctx, now, claim)
}

// replicaChannel is one replica's notice channel: it records every message
// the replica posts. With dieAt set, the replica dies during that post,
// after the message went out: the post never returns (until wake is
// closed, when the test has made sure the replica can no longer reach the
// database) and every later post fails, unrecorded.
type replicaChannel struct {
	mu    sync.Mutex
	msgs  []commands.Reply
	dieAt int
	dead  bool
	died  chan struct{}
	wake  chan struct{}
}

func newReplicaChannel(dieAt int) *replicaChannel {
	return &replicaChannel{dieAt: dieAt, died: make(chan struct{}), wake: make(chan struct{})}
}

func (c *replicaChannel) Notify(_ context.Context, r commands.Reply) error {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return errors.New("this replica is dead")
	}
	c.msgs = append(c.msgs, r)
	if len(c.msgs) != c.dieAt {
		c.mu.Unlock()
		return nil
	}
	c.dead = true
	close(c.died)
	c.mu.Unlock()
	<-c.wake
	return nil
}

func (c *replicaChannel) posted() []commands.Reply {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// protectionType finds the code of each protection type in a list of
// protections rendered in English: the code in brackets before the colon.
var protectionType = regexp.MustCompile(`\(([a-z]+)\): `)

// covered is what a reminder message is about: for each reminder it
// covers, its key (wiki, page, protection type) and whether the message
// says that it may repeat one already posted.
func covered(m commands.Reply) map[string]bool {
	out := map[string]bool{}
	add := func(title, levels string, mayRepeat bool) {
		// Each protection reads "TYPE (type): LEVEL (level)".
		for _, typ := range protectionType.FindAllStringSubmatch(levels, -1) {
			out[m.Wiki+"|"+title+"|"+typ[1]] = mayRepeat
		}
	}
	if page := field(m, "Page"); page != "" {
		add(page, field(m, "Protection"), strings.Contains(english(m.Text), "may repeat"))
		return out
	}
	for _, f := range m.Fields { // a digest: a line a page
		levels, _, _ := strings.Cut(english(f.Value), "; ")
		add(english(f.Label), levels, strings.Contains(english(f.Value), "may repeat"))
	}
	return out
}

// TestAReplicaDiesMidTickAndTheOthersFinishItsClaim runs three replicas'
// schedulers on one PostgreSQL database, each with its own handle and
// instance name, on one clock. 1,000 reminders on four wikis fall due at
// once; the first replica claims them all and dies mid-tick: it has
// posted four single messages (marked sent) and a digest of 400 pages,
// which it never marks sent. Its claim stays in the database, as a dead
// process leaves it: ClaimDue committed it, and the process never
// releases it. The survivors leave it alone while its lease lasts, then
// take it over and send what it held. Every reminder reaches a channel;
// only the 400 in flight at the death go out twice, and the second time
// says it may repeat; the database has every one sent.
func TestAReplicaDiesMidTickAndTheOthersFinishItsClaim(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	due := time.Now().UTC().Truncate(time.Second)
	clock := testenv.NewClock(due.Add(-time.Minute))
	const lease = 5 * time.Minute
	leads := []time.Duration{time.Hour}

	// Four wikis, in the order a tick sends them: alpha's 4 pages go out
	// singly (one page has two protections, one message), beta's 400 and
	// delta's 592 as a digest each, gamma's 3 singly. 1,000 reminders.
	pages := map[string]int{"alpha": 4, "beta": 400, "delta": 592, "gamma": 3}
	seed := openPostgres(t, dsn, clock)
	want := map[string]bool{}
	for name, n := range pages {
		for i := range n {
			title := fmt.Sprintf("Replica %s %03d", name, i)
			types := []string{"edit"}
			if name == "alpha" && i == 0 {
				types = append(types, "move")
			}
			var ps []reminders.TrackedProtection
			for _, typ := range types {
				ps = append(ps, reminders.TrackedProtection{Type: typ, Level: "sysop", Expiry: due.Add(time.Hour),
					SetBy: "alice", Platform: "slack", SetAt: clock.Now()})
				want[name+"|"+title+"|"+typ] = true
			}
			if _, err := seed.ReconcilePage(ctx, name, title, ps, leads, clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(want) != 1000 {
		t.Fatalf("seeded %d reminders", len(want))
	}

	gone, _ := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php"}) // no sync reaches a wiki
	var wikis []reminders.Wiki
	for name := range pages {
		wikis = append(wikis, reminders.Wiki{Name: name, Client: gone})
	}
	newReplica := func(instance string, ch *replicaChannel) (*reminders.Scheduler, *ticking) {
		t.Helper()
		store := &ticking{DB: openPostgres(t, dsn, clock)}
		s, err := reminders.New(reminders.Config{Store: store, Wikis: wikis, Notify: ch.Notify, Now: clock.Now,
			LeadTimes: leads, DigestLines: 1000, TickSpec: "@every 1s",
			Replicas: &reminders.Replicas{Store: store, Instance: instance, ClaimLease: lease}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, store
	}
	victimCh, aCh, bCh := newReplicaChannel(5), newReplicaChannel(0), newReplicaChannel(0)
	victim, victimStore := newReplica("replica-1", victimCh)
	survivorA, storeA := newReplica("replica-2", aCh)
	survivorB, storeB := newReplica("replica-3", bCh)

	// The victim ticks first and claims all 1,000; it dies in its fifth
	// post, beta's digest, once the digest is out.
	clock.Set(due)
	ticked := make(chan error, 1)
	go func() { ticked <- victim.Tick(ctx) }()
	select {
	case <-victimCh.died:
	case err := <-ticked:
		t.Fatalf("the victim's tick ended (%v) after %d posts, before it died", err, len(victimCh.posted()))
	case <-time.After(30 * time.Second):
		t.Fatal("the victim did not reach its fifth post")
	}
	// Dead: its connections are gone, and nothing it would still do (mark
	// the digest sent, release the rest of its claim) reaches the
	// database. Only then is its goroutine let go, to fail.
	victimStore.Close()
	close(victimCh.wake)
	<-ticked

	// The survivors run as replicas do, ticking on their schedule; while
	// the dead replica's lease lasts, its claim is left to it.
	for _, s := range []*reminders.Scheduler{survivorA, survivorB} {
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitTicks := func(n int64) {
		t.Helper()
		a0, b0 := storeA.ticks.Load(), storeB.ticks.Load()
		testwait.For(t, fmt.Sprintf("each survivor to tick %d times", n), func() bool {
			return storeA.ticks.Load() >= a0+n && storeB.ticks.Load() >= b0+n
		})
	}
	clock.Set(due.Add(lease - time.Second))
	waitTicks(2)
	if a, b := len(aCh.posted()), len(bCh.posted()); a+b != 0 {
		t.Fatalf("the survivors posted %d and %d messages within the dead replica's lease", a, b)
	}

	// The lease has run out: the survivors take the claim over.
	clock.Set(due.Add(lease + time.Minute))
	delivered := func() map[string]int {
		n := map[string]int{}
		for _, ch := range []*replicaChannel{victimCh, aCh, bCh} {
			for _, m := range ch.posted() {
				for k := range covered(m) {
					n[k]++
				}
			}
		}
		return n
	}
	testwait.For(t, "every reminder to be delivered after the lease ran out", func() bool { return len(delivered()) >= len(want) })
	waitTicks(1) // a tick in progress finishes; the next finds nothing
	survivorA.Close()
	survivorB.Close()

	// What the victim posted before it died: four singles, marked sent,
	// and the digest in flight.
	before := victimCh.posted()
	if len(before) != 5 || len(covered(before[4])) != pages["beta"] {
		t.Fatalf("the victim posted %d messages, the last about %d reminders; want 5, the last beta's %d", len(before), len(covered(before[4])), pages["beta"])
	}
	inFlight := map[string]bool{}
	for k := range covered(before[4]) {
		inFlight[k] = true
	}
	counts := delivered()
	var lost, repeats, unmarked, extra int
	for k := range want {
		switch n := counts[k]; {
		case n == 0:
			lost++
			t.Errorf("%s never reached a channel", k)
		case n > 2 || n == 2 && !inFlight[k]:
			extra++
			t.Errorf("%s reached a channel %d times", k, n)
		case n == 2:
			repeats++
		case inFlight[k]:
			t.Errorf("%s, in flight when the victim died, was not sent again", k)
		}
	}
	for _, m := range append(aCh.posted(), bCh.posted()...) {
		for k, mayRepeat := range covered(m) {
			if inFlight[k] && !mayRepeat {
				unmarked++
			}
		}
	}
	if unmarked > 0 {
		t.Errorf("%d reminders were sent again without saying that they may repeat", unmarked)
	}
	for k := range counts {
		if !want[k] {
			t.Errorf("a message about %s, which was never due", k)
		}
	}

	// The database has every reminder that fell due sent, by one replica
	// or another; the reminders at expiry wait for their time.
	check := openPostgres(t, dsn, clock)
	statuses := map[string]int{}
	for name, n := range pages {
		for i := range n {
			rs, err := check.PageReminders(ctx, name, fmt.Sprintf("Replica %s %03d", name, i))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Lead == time.Hour {
					statuses[r.Status]++
				} else if r.Status != reminders.StatusPending {
					t.Errorf("the reminder at expiry of %s is %s", r.Protection.Title, r.Status)
				}
			}
		}
	}
	if statuses[reminders.StatusSent] != len(want) {
		t.Errorf("reminders in the database: %v; want all %d sent", statuses, len(want))
	}
	t.Logf("%d reminders due; the victim posted %d messages (%d reminders) before it died; survivors posted %d and %d messages; "+
		"%d reminders delivered, %d twice (all marked as possible repeats: %v), %d more than that, %d lost",
		len(want), len(before), len(inFlight)+5, len(aCh.posted()), len(bCh.posted()), len(counts), repeats, unmarked == 0, extra, lost)
}

// syncGate stands between replicas' wiki clients and the real wiki. It
// counts each replica's requests, and when armed it holds each request
// until released, telling which replica sent it: every request to the
// wiki is a sync's.
type syncGate struct {
	mu       sync.Mutex
	requests map[string]int
	hold     chan struct{}
	held     chan string
}

func newSyncGate() *syncGate {
	return &syncGate{requests: map[string]int{}, held: make(chan string, 64)}
}

// arm holds the requests from now on.
func (g *syncGate) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold = make(chan struct{})
}

// release lets the held requests go on, and those to come.
func (g *syncGate) release() {
	g.mu.Lock()
	h := g.hold
	g.hold = nil
	g.mu.Unlock()
	close(h)
}

func (g *syncGate) count(replica string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests[replica]
}

// client is a session on the real wiki for one replica, through the gate.
func (g *syncGate) client(t *testing.T, replica string) *mw.Client {
	t.Helper()
	c, err := mw.New(mw.Config{APIURL: wiki.APIURL, HTTPClient: &http.Client{Timeout: 30 * time.Second,
		Transport: gatedTransport{g, replica}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type gatedTransport struct {
	g       *syncGate
	replica string
}

func (t gatedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.g.mu.Lock()
	t.g.requests[t.replica]++
	hold := t.g.hold
	t.g.mu.Unlock()
	if hold != nil {
		t.g.held <- t.replica
		select {
		case <-hold:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestReplicasSyncAWikiOneAtATime runs two replicas' schedulers on one
// PostgreSQL database and the real wiki, both due to sync it in the same
// tick, round after round. While one syncs (held in its first request to
// the wiki), the other's sync finds the lease taken and sends nothing. The
// sync that runs tracks the protection made on the wiki. Without Replicas
// both would read the log at once, which the gate sees.
func TestReplicasSyncAWikiOneAtATime(t *testing.T) {
	w := devwiki.Need(t, wiki)
	dsn := postgresDSN(t)
	ctx := context.Background()
	clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	gate := newSyncGate()
	title := testwait.Unique("Replica Sync ")
	const interval = 15 * time.Minute

	newSyncer := func(instance string, replicas bool) *reminders.Scheduler {
		t.Helper()
		db := openPostgres(t, dsn, clock)
		cfg := reminders.Config{Store: db, Notify: newInbox().Notify, Now: clock.Now, SyncInterval: interval,
			Wikis: []reminders.Wiki{{Name: commands.DefaultWiki, Client: gate.client(t, instance), Pages: []string{title}}}}
		if replicas {
			cfg.Replicas = &reminders.Replicas{Store: db, Instance: instance}
		}
		s, err := reminders.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	replicas := map[string]*reminders.Scheduler{"replica-1": newSyncer("replica-1", true), "replica-2": newSyncer("replica-2", true)}

	bot, err := mw.New(mw.Config{APIURL: w.APIURL, User: w.BotUser, Password: w.BotPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Protect(ctx, mw.ProtectParams{Title: title, Protections: []mw.Protection{{Action: "create", Level: "sysop"}},
		Expiry: []string{"2 days"}, Reason: "replica sync test"}); err != nil {
		t.Fatal(err)
	}

	// syncRound moves the clock a sync interval on, so that every
	// scheduler's slot has come, runs their SyncDue at once with the gate
	// armed, and returns the replicas held in a request to the wiki
	// before the first of them is let go, once the others have given up.
	syncRound := func(ss map[string]*reminders.Scheduler) []string {
		t.Helper()
		clock.Add(interval)
		gate.arm()
		done := make(chan string, len(ss))
		for name, s := range ss {
			go func() {
				s.SyncDue(ctx)
				done <- name
			}()
		}
		var held []string
		select {
		case name := <-gate.held:
			held = append(held, name)
		case <-time.After(30 * time.Second):
			t.Fatal("no replica synced")
		}
		// The others either give up at once or are held too.
		for finished := 0; len(held)+finished < len(ss); {
			select {
			case name := <-gate.held:
				held = append(held, name)
			case name := <-done:
				if slices.Contains(held, name) {
					t.Fatalf("%s's sync ended while it was held", name)
				}
				finished++
			case <-time.After(30 * time.Second):
				t.Fatalf("held %v; the others neither synced nor gave up", held)
			}
		}
		gate.release()
		for range held {
			<-done
		}
		for len(gate.held) > 0 { // the requests that followed the first
			<-gate.held
		}
		return held
	}

	holders := map[string]int{}
	for round := range 6 {
		before := map[string]int{}
		for name := range replicas {
			before[name] = gate.count(name)
		}
		held := syncRound(replicas)
		if len(held) != 1 {
			t.Fatalf("round %d: %v synced the wiki at the same time", round, held)
		}
		holders[held[0]]++
		for name := range replicas {
			if name != held[0] && gate.count(name) != before[name] {
				t.Errorf("round %d: %s sent %d requests to the wiki while %s held the sync lease", round, name, gate.count(name)-before[name], held[0])
			}
		}
		if round == 0 {
			if ps, _ := openPostgres(t, dsn, clock).PageProtections(ctx, commands.DefaultWiki, title); len(ps) != 1 {
				t.Errorf("after the first sync, %q is tracked as %+v", title, ps)
			}
		}
	}
	t.Logf("six rounds with two replicas due at once: synced by %v, one at a time", holders)

	// The control: without Replicas, both read the wiki's log at once.
	alone := map[string]*reminders.Scheduler{"alone-1": newSyncer("alone-1", false), "alone-2": newSyncer("alone-2", false)}
	if held := syncRound(alone); len(held) != 2 {
		t.Errorf("without Replicas, %v synced at once; want both (else this test sees nothing)", held)
	}
}
