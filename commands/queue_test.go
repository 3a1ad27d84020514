package commands_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

// replies collects the replies the queue delivers, by job, and counts every
// delivery so that a second one for the same job shows.
type replies struct {
	mu   sync.Mutex
	got  map[int][]commands.Reply
	done chan struct{}
	want int
}

func newReplies(want int) *replies {
	return &replies{got: map[int][]commands.Reply{}, done: make(chan struct{}), want: want}
}

func (r *replies) deliver(n int) func(context.Context, commands.Reply) {
	return func(_ context.Context, reply commands.Reply) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got[n] = append(r.got[n], reply)
		if len(r.got) == r.want && len(r.got[n]) == 1 {
			close(r.done)
		}
	}
}

// wait waits until every job has a reply. The limit only catches a hang.
func (r *replies) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(3 * time.Minute):
		r.mu.Lock()
		defer r.mu.Unlock()
		t.Fatalf("only %d of %d jobs were answered", len(r.got), r.want)
	}
}

// frozen freezes the wiki (SIGSTOP on its PHP processes) and thaws it when
// the test ends, whatever happens.
func frozen(t *testing.T, w *devwiki.Wiki) (thaw func()) {
	t.Helper()
	if err := w.Freeze(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	thaw = func() {
		once.Do(func() {
			if err := w.Thaw(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(thaw)
	return thaw
}

// auditByID returns the audit rows with ids in [first, last].
func auditRows(t *testing.T, env *testenv.Env, n int) []commands.AuditRecord {
	t.Helper()
	recs, err := env.DB.Audit(ctxTest, storage.AuditFilter{Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestFrozenWikiEveryCommandAnsweredOnce queues 200 /protect commands while
// the wiki is frozen. Every one gets exactly one reply and one finished
// audit row, and each reply is true: a command refused for waiting too long
// never reached the wiki, and one the wiki applied says so.
func TestFrozenWikiEveryCommandAnsweredOnce(t *testing.T) {
	const n = 200
	env := testenv.New(t, wiki, testenv.Options{
		Timeout: 2 * time.Second,
		Queue:   commands.QueueConfig{Workers: 4, MaxWait: 3 * time.Second, SweepEvery: 100 * time.Millisecond},
	})
	prefix := testwait.Unique("Frozen ")
	if r := run(t, env, admin, `/protect "`+prefix+` warm" create=sysop`); !r.OK() {
		t.Fatalf("warm-up: %s", r.String())
	}
	thaw := frozen(t, wiki)
	got := newReplies(n)
	for i := range n {
		_, ok := env.Service.Submit(ctxTest, commands.Job{Actor: admin,
			Line:    fmt.Sprintf(`/protect "%s %d" create=sysop expiry="1 week"`, prefix, i),
			Deliver: got.deliver(i)})
		if !ok {
			t.Fatalf("job %d refused at submission", i)
		}
	}
	// Keep the wiki frozen past the commands' wait limit, until the sweep
	// has refused every command still waiting, then let it go.
	testwait.For(t, "the sweep to refuse every command still waiting", func() bool {
		waiting, _ := env.Service.QueueLen()
		return waiting == 0
	})
	thaw()
	got.wait(t)

	counts := map[string]int{}
	for i := range n {
		rs := got.got[i]
		if len(rs) != 1 {
			t.Fatalf("job %d got %d replies", i, len(rs))
		}
		r := rs[0]
		counts[string(r.Outcome)+"/"+r.Code]++
		title := fmt.Sprintf("%s %d", prefix, i)
		applied := env.Protections(t, title)["create"].Level == "sysop"
		switch {
		case r.Outcome == commands.OutcomeOK && !applied:
			t.Errorf("job %d answered ok but %q is not protected", i, title)
		case r.Code == "waited-too-long" && applied:
			t.Errorf("job %d was refused as never started, yet %q is protected", i, title)
		case r.Code == "wiki-unavailable" && applied:
			t.Errorf("job %d says the wiki did not answer and nothing was done, yet %q is protected", i, title)
		case r.Outcome != commands.OutcomeOK && r.Outcome != commands.OutcomeUnknown && r.Code != "waited-too-long" && r.Code != "wiki-unavailable":
			t.Errorf("job %d: unexpected reply %s / %s: %s", i, r.Outcome, r.Code, r.String())
		}
		if strings.Contains(r.String(), "nothing was done") && applied {
			t.Errorf("job %d says nothing was done, but %q is protected", i, title)
		}
		if r.Code == "waited-too-long" && counts["failed/waited-too-long"] == 1 {
			if !strings.Contains(english(r.Text), "`/protect` for "+title+" waited ") {
				t.Errorf("job %d: %s", i, r.String())
			}
			noEnglish(t, "waited too long", r, title)
		}
	}
	recs := auditRows(t, env, n+1)
	finished := 0
	for _, rec := range recs {
		if rec.Outcome == commands.OutcomeQueued || rec.Outcome == commands.OutcomePending {
			t.Errorf("audit row %d left %s", rec.ID, rec.Outcome)
		}
		if strings.HasPrefix(rec.Args["_"], prefix+" ") && rec.Args["_"] != prefix+" warm" {
			finished++
		}
	}
	if finished != n {
		t.Errorf("%d audit rows for %d commands", finished, n)
	}
	t.Logf("frozen wiki: %d sent, %d answered, %d audited; replies by outcome: %v", n, len(got.got), finished, counts)
	if counts["failed/waited-too-long"] == 0 {
		t.Errorf("no command was refused for waiting, with the wiki frozen past the limit: %v", counts)
	}
}

// TestDeadlineStartsWhenTurnComes: a command that waited longer than the
// command timeout behind a stuck write still gets its whole timeout when
// its turn comes.
func TestDeadlineStartsWhenTurnComes(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{
		Timeout: 2 * time.Second,
		Queue:   commands.QueueConfig{Workers: 2, MaxWait: time.Minute},
	})
	prefix := testwait.Unique("Turn ")
	if r := run(t, env, admin, `/protect "`+prefix+` warm" create=sysop`); !r.OK() {
		t.Fatalf("warm-up: %s", r.String())
	}
	thaw := frozen(t, wiki)
	got := newReplies(3)
	for i := range 3 {
		env.Service.Submit(ctxTest, commands.Job{Actor: admin, Line: fmt.Sprintf(`/protect "%s %d" create=sysop`, prefix, i), Deliver: got.deliver(i)})
	}
	// The first is stuck until its timeout ends it; only then does the
	// second's turn come, after waiting longer than the timeout.
	testwait.For(t, "the second command's turn", func() bool {
		waiting, _ := env.Service.QueueLen()
		return waiting < 2
	})
	thaw()
	got.wait(t)
	for i := 1; i < 3; i++ {
		if r := got.got[i][0]; !r.OK() {
			t.Errorf("job %d, queued behind a stuck write for longer than the timeout: %s", i, r.String())
		}
	}
	// The first one's read of the page, or its write, met the frozen wiki.
	if r := got.got[0][0]; r.Outcome != commands.OutcomeOK && r.Outcome != commands.OutcomeUnknown && r.Code != "wiki-unavailable" {
		t.Errorf("stuck job: %s", r.String())
	}
}

// TestQueueFullRefusesAtOnce: past the queue's capacity a command is refused
// at submission, with a reply saying so, and audited.
func TestQueueFullRefusesAtOnce(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{
		Timeout: 2 * time.Second,
		Queue:   commands.QueueConfig{Workers: 2, Capacity: 3, MaxWait: time.Minute},
	})
	prefix := testwait.Unique("Full ")
	run(t, env, admin, `/protect "`+prefix+` warm" create=sysop`)
	thaw := frozen(t, wiki)
	got := newReplies(4)
	accepted := 0
	var refusal commands.Reply
	for i := range 6 {
		r, ok := env.Service.Submit(ctxTest, commands.Job{Actor: admin, Line: fmt.Sprintf(`/protect "%s %d" create=sysop`, prefix, i), Deliver: got.deliver(i)})
		if ok {
			accepted++
			if i == 0 {
				// Let the writer take the first, so three can wait.
				testwait.For(t, "the writer to take the first command", func() bool { _, running := env.Service.QueueLen(); return running == 1 })
			}
			continue
		}
		refusal = r
	}
	if accepted != 4 || refusal.Code != "busy" || !strings.Contains(refusal.String(), "3 commands waiting") || !strings.Contains(refusal.String(), "Try again") {
		t.Fatalf("accepted %d; refusal %s", accepted, refusal.String())
	}
	noEnglish(t, "busy", refusal)
	rec := env.LastAudit(t)
	if rec.Code != "busy" || rec.Outcome != commands.OutcomeFailed {
		t.Errorf("refusal audit = %+v", rec)
	}
	thaw()
	got.wait(t)
}

// TestWritesRunInArrivalOrder: writes run one at a time, in the order they
// were submitted, so the wiki's protect log lists them in that order.
func TestWritesRunInArrivalOrder(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Queue: commands.QueueConfig{Workers: 6}})
	title := testwait.Unique("Order ")
	levels := []string{"sysop", "autoconfirmed"}
	const n = 12
	got := newReplies(n)
	for i := range n {
		reason := fmt.Sprintf("step %02d", i)
		env.Service.Submit(ctxTest, commands.Job{Actor: admin,
			Line:    fmt.Sprintf(`/protect "%s" create=%s reason="%s"`, title, levels[i%2], reason),
			Deliver: got.deliver(i)})
	}
	got.wait(t)
	for i := range n {
		if !got.got[i][0].OK() {
			t.Fatalf("step %d: %s", i, got.got[i][0].String())
		}
	}
	page, err := env.Bot.LogEvents(ctxTest, mwLogQuery("protect"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, ev := range page.Events {
		if ev.Title == title {
			steps = append(steps, ev.Comment)
		}
	}
	if len(steps) != n {
		t.Fatalf("%d log entries for %d writes: %v", len(steps), n, steps)
	}
	// The log lists the newest entry first.
	for i, c := range steps {
		if !strings.HasPrefix(c, fmt.Sprintf("step %02d — ", n-1-i)) {
			t.Fatalf("the wiki logged the writes out of order: %v", steps)
		}
	}
}

// countingTransport counts the requests in flight to the wiki.
type countingTransport struct {
	now, peak atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.now.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	defer c.now.Add(-1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestQueueBoundsRequestsToTheWiki: however many commands are queued, the
// wiki sees at most the configured number of requests at once.
func TestQueueBoundsRequestsToTheWiki(t *testing.T) {
	ct := &countingTransport{}
	env := testenv.New(t, wiki, testenv.Options{Transport: ct, Queue: commands.QueueConfig{Workers: 3}})
	prefix := testwait.Unique("Bound ")
	const n = 60
	got := newReplies(n)
	for i := range n {
		line := fmt.Sprintf(`/validatepassword password="Quite-long-pass-%d!"`, i)
		if i%3 == 0 {
			line = fmt.Sprintf(`/protect "%s %d" create=sysop`, prefix, i)
		}
		env.Service.Submit(ctxTest, commands.Job{Actor: admin, Line: line, Deliver: got.deliver(i)})
	}
	got.wait(t)
	for i := range n {
		if !got.got[i][0].OK() {
			t.Fatalf("job %d: %s", i, got.got[i][0].String())
		}
	}
	if p := ct.peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak requests in flight to the wiki = %d, want at most 3 (and more than 1: reads run beside the writer)", p)
	}
}

// TestPanicIsRecoveredAndAnswered: a panic inside a command is recovered,
// audited as failed and answered, on the direct path and through the queue,
// and the service goes on serving.
func TestPanicIsRecoveredAndAnswered(t *testing.T) {
	boom := commands.Command{Spec: commands.Spec{Name: "boom", Usage: "/boom"},
		Run: func(context.Context, *commands.Request) (commands.Reply, error) {
			var levels []string
			_ = levels[len(levels)-1] // index out of range, as a real bug would
			return commands.Reply{}, nil
		}}
	logs := &testenv.LogBuffer{}
	env := testenv.New(t, wiki, testenv.Options{Extra: []commands.Command{boom}, Logger: logs.Logger()})
	check := func(r commands.Reply) {
		t.Helper()
		if r.Outcome != commands.OutcomeFailed || r.Code != "internal" || !strings.Contains(english(r.Text), "internal error") || !strings.Contains(english(r.Text), "operators") {
			t.Errorf("reply = %+v", r)
		}
		if rec := env.LastAudit(t); rec.Command != "boom" || rec.Outcome != commands.OutcomeFailed || rec.Code != "internal" {
			t.Errorf("audit = %+v", rec)
		}
	}
	check(run(t, env, admin, "/boom"))
	got := newReplies(1)
	env.Service.Submit(ctxTest, commands.Job{Actor: admin, Line: "/boom", Deliver: got.deliver(0)})
	got.wait(t)
	check(got.got[0][0])
	if !strings.Contains(logs.String(), "index out of range") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("the panic and its stack are not logged:\n%s", logs.String())
	}
	if r := run(t, env, admin, "/help"); !r.OK() {
		t.Errorf("after a panic: %s", r.String())
	}
}

// TestUnparsedCommandIsNamedInTheAudit: a line that cannot be read is
// audited under its command's name, without its arguments.
func TestUnparsedCommandIsNamedInTheAudit(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	r := run(t, env, admin, `/protect "Unclosed quote edit=sysop`)
	if r.Outcome != commands.OutcomeInvalid {
		t.Fatalf("reply = %+v", r)
	}
	rec := env.LastAudit(t)
	if rec.Command != "protect" || rec.Args["_"] != "[unparsed]" || len(rec.Args) != 1 {
		t.Errorf("audit = %+v", rec)
	}
	run(t, env, admin, `"secret-looking words`)
	if rec := env.LastAudit(t); rec.Command != "[unparsed]" || strings.Contains(fmt.Sprint(rec.Args), "secret") {
		t.Errorf("audit = %+v", rec)
	}
}

var errDropped = errors.New("connection dropped after the request was sent")

// TestSessionInvalidatedUnderLoad: the wiki ends the bot's session while
// 100 commands are queued; every one succeeds, and the bot logs in once.
func TestSessionInvalidatedUnderLoad(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Queue: commands.QueueConfig{Workers: 8}})
	prefix := testwait.Unique("Invalidated ")
	if r := run(t, env, admin, `/protect "`+prefix+` warm" create=sysop`); !r.OK() {
		t.Fatalf("warm-up: %s", r.String())
	}
	for round := range 2 {
		if err := wiki.InvalidateSessions(ctxTest, "Admin"); err != nil {
			t.Fatal(err)
		}
		logins := wikiRequests(env, "login")
		const n = 100
		got := newReplies(n)
		for i := range n {
			line := fmt.Sprintf(`/validatepassword password="Quite-long-pass-%d!"`, i)
			if i%2 == 0 {
				line = fmt.Sprintf(`/protect "%s %d %d" create=sysop`, prefix, round, i)
			}
			env.Service.Submit(ctxTest, commands.Job{Actor: admin, Line: line, Deliver: got.deliver(i)})
		}
		got.wait(t)
		ok := 0
		for i := range n {
			if got.got[i][0].OK() {
				ok++
			} else {
				t.Errorf("round %d, command %d: %s", round, i, got.got[i][0].String())
			}
		}
		t.Logf("round %d: %d sent, %d succeeded, %v logins", round, n, ok, wikiRequests(env, "login")-logins)
		if l := wikiRequests(env, "login") - logins; l != 1 {
			t.Errorf("round %d: %v logins, want 1", round, l)
		}
	}
}

// TestTrackingRunsAfterTheReply: a queued /protect's reply goes out before
// the reminders are told of the protection, so the moderator does not wait
// for that; they are told once, with what the wiki applied, and a panic
// there is logged without touching the reply. Execute, whose caller has
// the reply only when it returns, tells them before it returns.
func TestTrackingRunsAfterTheReply(t *testing.T) {
	var (
		mu      sync.Mutex
		told    []*commands.ProtectOutcome
		release = make(chan struct{})
		blocked = make(chan struct{}, 1)
		panics  atomic.Bool
	)
	var once sync.Once
	letGo := func() { once.Do(func() { close(release) }) }
	logs := &testenv.LogBuffer{}
	env := testenv.New(t, wiki, testenv.Options{Logger: logs.Logger(), OnProtect: func(ctx context.Context, _ commands.Actor, out *commands.ProtectOutcome) error {
		if panics.Load() {
			panic("tracking broke")
		}
		select {
		case blocked <- struct{}{}:
		default:
		}
		<-release
		mu.Lock()
		told = append(told, out)
		mu.Unlock()
		return nil
	}})
	t.Cleanup(letGo) // registered after testenv's, so it runs before the service closes
	page := testwait.Unique("Tracked after reply ")
	got := newReplies(1)
	env.Service.Submit(ctxTest, commands.Job{Actor: admin, Line: fmt.Sprintf(`/protect "%s" create=sysop expiry="1 day"`, page), Deliver: got.deliver(0)})
	<-blocked   // the reminders are being told, and wait ...
	got.wait(t) // ... while the reply goes out
	if r := got.got[0][0]; !r.OK() {
		t.Fatalf("reply = %s", r.String())
	}
	mu.Lock()
	if len(told) != 0 {
		t.Errorf("the reminders were told before the reply went out")
	}
	mu.Unlock()
	letGo()
	testwait.For(t, "the reminders to be told", func() bool { mu.Lock(); defer mu.Unlock(); return len(told) == 1 })
	mu.Lock()
	if out := told[0]; out.Title != page || len(out.Protections) != 1 || out.Protections[0].Level != "sysop" {
		t.Errorf("told %+v", out)
	}
	mu.Unlock()

	// Execute: done when it returns.
	if r := run(t, env, admin, fmt.Sprintf(`/protect "%s" create=autoconfirmed expiry="1 day"`, page)); !r.OK() {
		t.Fatal(r.String())
	}
	mu.Lock()
	if len(told) != 2 || told[1].Protections[0].Level != "autoconfirmed" {
		t.Errorf("after Execute returned, the reminders had %d outcomes", len(told))
	}
	mu.Unlock()

	// A panic while telling them: logged, one reply, and the queue goes on.
	panics.Store(true)
	got = newReplies(1)
	env.Service.Submit(ctxTest, commands.Job{Actor: admin, Line: fmt.Sprintf(`/protect "%s" create=sysop expiry="1 day"`, page), Deliver: got.deliver(0)})
	got.wait(t)
	testwait.For(t, "the tracking panic to be logged", func() bool { return strings.Contains(logs.String(), "tracking broke") })
	if r := run(t, env, admin, "/help"); !r.OK() {
		t.Errorf("after a panic in tracking: %s", r.String())
	}
	got.mu.Lock()
	if n := len(got.got[0]); n != 1 || !got.got[0][0].OK() {
		t.Errorf("%d replies, first %+v", n, got.got[0])
	}
	got.mu.Unlock()
}
