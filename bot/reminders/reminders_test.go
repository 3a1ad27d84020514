package reminders_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

// wiki is the test wiki; wiki2 is a second one, for the tests of a farm
// (two real wikis with pages, logs and sessions of their own).
var wiki, wiki2 *devwiki.Wiki

func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(devwiki.Main(m, &wiki, &wiki2))
}

// crashEnv makes the test binary run crashChild instead of the tests.
const crashEnv = "WIKIMOD_REMINDERS_CRASH"

// crashChild is a wikimod process that is killed in the middle of a tick:
// it opens the database, claims what is due, and kills itself (SIGKILL)
// when it posts the first message, before the post ("before") or after it
// ("after"), so it never marks anything sent.
func crashChild() int {
	path, when := os.Getenv("WIKIMOD_REMINDERS_DB"), os.Getenv(crashEnv)
	now, err := time.Parse(time.RFC3339Nano, os.Getenv("WIKIMOD_REMINDERS_NOW"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	db, err := storage.Open(path, storage.Options{Now: func() time.Time { return now }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c, _ := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php"})
	s, err := reminders.New(reminders.Config{Store: db, Wikis: oneWiki(c), Now: func() time.Time { return now },
		Notify: func(_ context.Context, r commands.Reply) error {
			if when == "after" {
				fmt.Println("POSTED:", english(r.Title))
				os.Stdout.Sync()
			}
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s.Tick(context.Background())
	fmt.Fprintln(os.Stderr, "the tick ended without posting")
	return 2
}

// crash runs crashChild on the database at path at the given time, and
// returns the titles it posted before it was killed.
func crash(t *testing.T, path string, now time.Time, when string) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashEnv+"="+when, "WIKIMOD_REMINDERS_DB="+path, "WIKIMOD_REMINDERS_NOW="+now.Format(time.RFC3339Nano))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed: %v\n%s%s", err, out, stderr.String())
	}
	var posted []string
	for _, line := range strings.Split(string(out), "\n") {
		if title, ok := strings.CutPrefix(line, "POSTED: "); ok {
			posted = append(posted, title)
		}
	}
	return posted
}

// inbox stands in for the notice channels: it records what is posted, and
// fails the next posts when told to.
type inbox struct {
	mu       sync.Mutex
	msgs     []commands.Reply
	attempts int
	failures int
	failWith error
	arrived  chan struct{}
}

func newInbox() *inbox { return &inbox{arrived: make(chan struct{}, 100)} }

func (b *inbox) Notify(_ context.Context, r commands.Reply) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attempts++
	if b.failures > 0 {
		b.failures--
		return b.failWith
	}
	b.msgs = append(b.msgs, r)
	b.arrived <- struct{}{}
	return nil
}

func (b *inbox) failNext(n int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.failWith = n, err
}

// take returns the messages posted since the last take.
func (b *inbox) take() []commands.Reply {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.msgs
	b.msgs = nil
	return out
}

func (b *inbox) tries() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.attempts
}

// waitFor waits until n messages are waiting to be taken, for code that
// runs in the background (Start's catch-up). The deadline only stops a
// broken test.
func (b *inbox) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		b.mu.Lock()
		have := len(b.msgs)
		b.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-b.arrived:
		case <-deadline:
			t.Fatalf("only %d of %d messages arrived", have, n)
		}
	}
}

type fixture struct {
	env   *testenv.Env
	s     *reminders.Scheduler
	clock *testenv.Clock
	inbox *inbox
	cfg   reminders.Config
}

// newFixture wires a real core on the test wiki with the reminders hooked
// into /protect, as cmd/wikimod does, and a fake clock set to now.
func newFixture(t *testing.T, mod func(*reminders.Config)) *fixture {
	t.Helper()
	return newFixtureWith(t, nil, mod)
}

// newFixtureWith is newFixture with the bot's requests to the wiki carried
// by transport (nil: directly).
func newFixtureWith(t *testing.T, transport http.RoundTripper, mod func(*reminders.Config)) *fixture {
	t.Helper()
	f := &fixture{clock: testenv.NewClock(time.Now().UTC().Truncate(time.Second)), inbox: newInbox()}
	useClock(t, f.clock.Now)
	f.env = testenv.New(t, wiki, testenv.Options{
		Transport: transport,
		Now:       f.clock.Now,
		OnProtect: func(ctx context.Context, a commands.Actor, r *commands.ProtectOutcome) error {
			return f.s.OnProtect(ctx, a, r)
		},
		Extra: deferredCommands(&f.s),
		// The default rules, and a Slack user in the devwiki's
		// semiprotector group (protect and editsemiprotected only).
		Rules: append([]commands.AccessRule{{WikiGroups: []string{"semiprotector"}, Identities: []commands.Identities{commands.Users("slack", "U-SEMI")}}}, testenv.DefaultRules...),
	})
	f.cfg = reminders.Config{Store: f.env.DB, Wikis: oneWiki(f.env.Bot), Notify: f.inbox.Notify, Now: f.clock.Now,
		Metrics:       reminders.NewMetrics(f.env.Metrics.Registerer()),
		PlatformTitle: f.env.Service.PlatformTitle, ChannelsOf: func(p string) bool { return p != "console" }}
	if mod != nil {
		mod(&f.cfg)
	}
	var err error
	f.s, err = reminders.New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.s.Close() })
	return f
}

// oneWiki is the Config.Wikis of a single-wiki wikimod: one wiki named
// "default".
func oneWiki(c *mw.Client) []reminders.Wiki {
	return []reminders.Wiki{{Name: commands.DefaultWiki, Client: c}}
}

// deferredCommands returns the reminders' commands for a scheduler built
// after the command service (testenv builds the service first).
func deferredCommands(s **reminders.Scheduler) []commands.Command {
	cmds := (&reminders.Scheduler{}).Commands()
	for i := range cmds {
		name := cmds[i].Spec.Name
		cmds[i].Run = func(ctx context.Context, req *commands.Request) (commands.Reply, error) {
			for _, c := range (*s).Commands() {
				if c.Spec.Name == name {
					return c.Run(ctx, req)
				}
			}
			return commands.Reply{}, fmt.Errorf("no command %s", name)
		}
	}
	return cmds
}

var (
	slackAdmin = commands.Actor{Platform: "slack", UserID: "U-ADMIN", UserName: "alice", Channel: "C-MODS"}
	discordMod = commands.Actor{Platform: "discord", UserID: "D-ADMIN", UserName: "bob", Channel: "D-CHAN"}
)

// protect runs a /protect line through the command service and returns the
// expiry the wiki gave the first protection.
func (f *fixture) protect(t *testing.T, line string) time.Time {
	t.Helper()
	r := f.env.Service.ExecuteLine(context.Background(), slackAdmin, line)
	if !r.OK() {
		t.Fatalf("%s: %s", line, r.String())
	}
	exp, err := time.Parse(time.RFC3339, r.Protect.Protections[0].Expiry)
	if err != nil {
		return time.Time{}
	}
	return exp
}

// tick moves the clock to at, runs one tick and returns what was posted.
func (f *fixture) tick(t *testing.T, at time.Time) []commands.Reply {
	t.Helper()
	f.clock.Set(at)
	if err := f.s.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f.inbox.take()
}

func (f *fixture) press(t *testing.T, actor commands.Actor, a commands.Action) commands.Reply {
	t.Helper()
	args := commands.Args{Named: map[string]string{}}
	for k, v := range a.Args {
		args.Named[k] = v
	}
	return f.env.Service.Execute(context.Background(), actor, a.Command, args)
}

func field(r commands.Reply, label string) string {
	for _, f := range r.Fields {
		if english(f.Label) == label {
			return english(f.Value)
		}
	}
	return ""
}

func wantOne(t *testing.T, msgs []commands.Reply, what string) commands.Reply {
	t.Helper()
	if len(msgs) != 1 {
		var titles []string
		for _, m := range msgs {
			titles = append(titles, english(m.Title))
		}
		t.Fatalf("%s: %d messages %q, want exactly one", what, len(msgs), titles)
	}
	return msgs[0]
}

func wantNone(t *testing.T, msgs []commands.Reply, what string) {
	t.Helper()
	if len(msgs) != 0 {
		t.Fatalf("%s: unexpected message %q", what, msgs[0].Title)
	}
}

func TestProtectIsRemindedAtLeadTimeAndAtExpiry(t *testing.T) {
	f := newFixture(t, nil)
	exp := f.protect(t, `/protect "Reminder Lead Page" create=sysop expiry="3 hours" reason="spam wave"`)
	if d := exp.Sub(f.clock.Now()); d < 3*time.Hour-time.Minute || d > 3*time.Hour+time.Minute {
		t.Fatalf("the wiki's expiry is %v away, want 3 hours", d)
	}
	wantNone(t, f.tick(t, f.clock.Now()), "right after /protect")
	// Set for 3 hours: the 24-hour warning is moot; the 1-hour one is next.
	wantNone(t, f.tick(t, exp.Add(-time.Hour-time.Minute)), "a minute before the 1-hour warning")

	m := wantOne(t, f.tick(t, exp.Add(-time.Hour)), "at the 1-hour warning")
	if english(m.Title) != "Protection of Reminder Lead Page expires in 1 hour" || !m.Announce || m.Command != "reminder" {
		t.Errorf("reminder = %q (announce %v)", m.Title, m.Announce)
	}
	for label, want := range map[string]string{
		"Page":       "Reminder Lead Page",
		"Protection": "create (create): sysop (sysop)",
		"Expires":    exp.Format("2006-01-02 15:04 UTC") + " (in 1 hour)",
		"Reason":     "spam wave",
	} {
		if got := field(m, label); got != want {
			t.Errorf("%s = %q, want %q", label, got, want)
		}
	}
	if got := field(m, "Set by"); !strings.HasPrefix(got, "alice on Slack (channel C-MODS), ") {
		t.Errorf("Set by = %q", got)
	}
	if !strings.HasSuffix(m.URL, "/Reminder_Lead_Page") {
		t.Errorf("URL = %q", m.URL)
	}
	if strings.Contains(english(m.Text), "late") {
		t.Errorf("an on-time reminder says it is late: %q", m.Text)
	}
	if len(m.Actions) != 2 || english(m.Actions[0].Label) != "Extend 3 hours" || m.Actions[0].Style != "primary" ||
		m.Actions[0].Command != "reminder" || m.Actions[0].Args["do"] != "extend" || english(m.Actions[1].Label) != "Dismiss" ||
		m.Actions[1].Args["do"] != "dismiss" || m.Actions[1].Args["id"] != m.Actions[0].Args["id"] || len(m.Actions[0].Args) != 3 ||
		m.Actions[0].Args["wiki"] != commands.DefaultWiki || m.Actions[1].Args["wiki"] != commands.DefaultWiki {
		t.Errorf("actions = %+v", m.Actions)
	}
	audit := f.env.LastAudit(t)
	if audit.Command != "reminder-send" || audit.Platform != "system" || audit.Outcome != commands.OutcomeOK {
		t.Errorf("audit = %+v, want a system reminder-send ok", audit)
	}

	wantNone(t, f.tick(t, exp.Add(-time.Hour+time.Minute)), "a minute later: no repeat")
	m = wantOne(t, f.tick(t, exp), "at expiry")
	if english(m.Title) != "Protection of Reminder Lead Page has expired" || len(m.Actions) != 1 || english(m.Actions[0].Label) != "Protect again for 3 hours" {
		t.Errorf("at expiry: %q with %+v", m.Title, m.Actions)
	}
	wantNone(t, f.tick(t, exp.Add(24*time.Hour)), "a day later")
}

func TestProtectLongerThanTheLeadTimesGetsEveryWarning(t *testing.T) {
	f := newFixture(t, func(c *reminders.Config) { c.LeadTimes = []time.Duration{24 * time.Hour, time.Hour} })
	exp := f.protect(t, `/protect "Reminder Week Page" create=sysop expiry="1 week"`)
	m := wantOne(t, f.tick(t, exp.Add(-24*time.Hour)), "a day before")
	if english(m.Title) != "Protection of Reminder Week Page expires in 1 day" || english(m.Actions[0].Label) != "Extend 1 week" {
		t.Errorf("a day before: %q, %+v", m.Title, m.Actions)
	}
	wantOne(t, f.tick(t, exp.Add(-time.Hour)), "an hour before")
	wantOne(t, f.tick(t, exp), "at expiry")
}

func TestIndefiniteAndLiftedProtectionsAreNotTracked(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tracked := func(title string) []reminders.TrackedProtection {
		ps, err := f.env.DB.PageProtections(ctx, commands.DefaultWiki, title)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	f.protect(t, `/protect "Reminder Indefinite" create=sysop`)
	if ps := tracked("Reminder Indefinite"); len(ps) != 0 {
		t.Fatalf("an indefinite protection is tracked: %+v", ps)
	}
	exp := f.protect(t, `/protect "Reminder Indefinite" create=sysop expiry="2 hours"`)
	if ps := tracked("Reminder Indefinite"); len(ps) != 1 || !ps[0].Expiry.Equal(exp) || ps[0].Length != 2*time.Hour {
		t.Fatalf("tracked = %+v, want create until %v, set for 2h", ps, exp)
	}
	f.protect(t, `/protect "Reminder Indefinite" create=sysop expiry=infinite`)
	if ps := tracked("Reminder Indefinite"); len(ps) != 0 {
		t.Fatalf("made indefinite, still tracked: %+v", ps)
	}
	f.protect(t, `/protect "Reminder Lifted" create=sysop expiry="2 hours"`)
	f.protect(t, `/protect "Reminder Lifted" create=all`)
	if ps := tracked("Reminder Lifted"); len(ps) != 0 {
		t.Fatalf("lifted, still tracked: %+v", ps)
	}
	wantNone(t, f.tick(t, f.clock.Now().Add(3*time.Hour)), "no reminders for dropped protections")
}

func TestSyncFollowsChangesMadeOnTheWiki(t *testing.T) {
	// The wiki outlives one run of the test (-count): new titles each time.
	run := testwait.Unique("")
	name := func(s string) string { return s + " " + run }
	watch := []string{name("Sync Extended"), name("Sync New"), name("Sync Lifted"), name("Talk:Sync Other Namespace")}
	f := newFixture(t, func(c *reminders.Config) { c.Wikis[0].Pages = watch; c.Wikis[0].Namespaces = []int{0} })
	ctx := context.Background()
	oldExp := f.protect(t, `/protect "`+name("Sync Extended")+`" create=sysop expiry="3 hours"`)
	f.protect(t, `/protect "`+name("Sync Lifted")+`" create=sysop expiry="2 hours"`)
	f.protect(t, `/protect "`+name("Sync Unwatched")+`" create=sysop expiry="2 hours"`)
	if ps, _ := f.env.DB.PageProtections(ctx, commands.DefaultWiki, name("Sync Unwatched")); len(ps) != 0 {
		t.Errorf("a page off the watch list was tracked from /protect")
	}
	if _, err := f.s.Sync(ctx, commands.DefaultWiki); err != nil { // catch up with the log so far
		t.Fatal(err)
	}

	// Now someone changes things on the wiki itself, not through wikimod.
	direct := func(title, typ, level, expiry, reason string) *mw.ProtectResult {
		t.Helper()
		p := mw.ProtectParams{Title: title, Protections: []mw.Protection{{Action: typ, Level: level}}, Reason: reason}
		if expiry != "" {
			p.Expiry = []string{expiry}
		}
		res, err := f.env.Bot.Protect(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	extended := direct(name("Sync Extended"), "create", "sysop", "2 days", "longer")
	created := direct(name("Sync New"), "create", "autoconfirmed", "5 hours", "from the wiki")
	direct(name("Sync Lifted"), "create", "all", "", "")
	direct(name("Talk:Sync Other Namespace"), "create", "sysop", "4 hours", "")
	direct(name("Sync Unwatched 2"), "create", "sysop", "4 hours", "")

	res, err := f.s.Sync(ctx, commands.DefaultWiki)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || res.Changed != 1 || res.Removed != 1 {
		t.Errorf("sync = %+v, want one added, one changed, one removed", res)
	}
	ps, _ := f.env.DB.PageProtections(ctx, commands.DefaultWiki, name("Sync Extended"))
	newExp, _ := time.Parse(time.RFC3339, extended.Protections[0].Expiry)
	if len(ps) != 1 || !ps[0].Expiry.Equal(newExp) || ps[0].Platform != "wiki" || ps[0].SetBy != "Admin" || ps[0].Reason != "longer" {
		t.Errorf("Sync Extended = %+v, want until %v, set by Admin on the wiki", ps, newExp)
	}
	ps, _ = f.env.DB.PageProtections(ctx, commands.DefaultWiki, name("Sync New"))
	if len(ps) != 1 || ps[0].Level != "autoconfirmed" || ps[0].Length != 5*time.Hour || ps[0].Reason != "from the wiki" ||
		!strings.HasSuffix(ps[0].URL, "/Sync_New_"+run) {
		t.Errorf("Sync New = %+v, want tracked, set for 5 hours", ps)
	}
	for _, title := range []string{name("Sync Lifted"), name("Talk:Sync Other Namespace"), name("Sync Unwatched 2")} {
		if ps, _ := f.env.DB.PageProtections(ctx, commands.DefaultWiki, title); len(ps) != 0 {
			t.Errorf("%s is tracked: %+v", title, ps)
		}
	}
	again, err := f.s.Sync(ctx, commands.DefaultWiki)
	if err != nil || again.Entries != 0 {
		t.Errorf("a second sync read %d entries (%v); it should continue where the first stopped", again.Entries, err)
	}

	// The old schedule of Sync Extended is gone; Sync New's is there.
	wantNone(t, f.tick(t, oldExp.Add(-time.Hour)), "the extended protection's old 1-hour warning")
	created1h, _ := time.Parse(time.RFC3339, created.Protections[0].Expiry)
	m := wantOne(t, f.tick(t, created1h.Add(-time.Hour)), "the new protection's 1-hour warning")
	if english(m.Title) != "Protection of "+name("Sync New")+" expires in 1 hour" || !strings.HasPrefix(field(m, "Set by"), "Admin on the wiki, ") || english(m.Actions[0].Label) != "Extend 5 hours" {
		t.Errorf("reminder = %q, set by %q, %+v", m.Title, field(m, "Set by"), m.Actions)
	}
	wantOne(t, f.tick(t, created1h), "the new protection's expiry")
	m = wantOne(t, f.tick(t, newExp.Add(-24*time.Hour)), "the extended protection's new 24-hour warning")
	if english(m.Title) != "Protection of "+name("Sync Extended")+" expires in 1 day" {
		t.Errorf("reminder = %q", m.Title)
	}
}

func TestSyncFollowsAProtectionMovedWithItsPage(t *testing.T) {
	run := testwait.Unique("")
	from, to := "Move From "+run, "Move To "+run
	f := newFixture(t, func(c *reminders.Config) { c.Wikis[0].Pages = []string{from, to} })
	ctx := context.Background()
	if _, err := f.env.Bot.Post(ctx, "csrf", url.Values{"action": {"edit"}, "title": {from}, "text": {"content"}, "summary": {"test"}}, nil); err != nil {
		t.Fatal(err)
	}
	exp := f.protect(t, "/protect \""+from+"\" edit=sysop move=sysop expiry=\"1 day\"")
	if _, err := f.s.Sync(ctx, commands.DefaultWiki); err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.Bot.Post(ctx, "csrf", url.Values{"action": {"move"}, "from": {from}, "to": {to}, "reason": {"rename"}}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := f.s.Sync(ctx, commands.DefaultWiki)
	if err != nil || res.Added != 2 {
		t.Fatalf("sync after the move = %+v, %v; want the new title's two protections added", res, err)
	}
	ps, _ := f.env.DB.PageProtections(ctx, commands.DefaultWiki, to)
	if len(ps) != 2 || !ps[0].Expiry.Equal(exp) || ps[0].Platform != "wiki" || !strings.Contains(ps[0].Reason, "rename") {
		t.Errorf("the new title = %+v, want edit and move until %v", ps, exp)
	}
	// MediaWiki protects the redirect left behind the same way, so the old
	// title keeps its reminders too.
	if ps, _ := f.env.DB.PageProtections(ctx, commands.DefaultWiki, from); len(ps) != 2 {
		t.Errorf("the old title = %+v", ps)
	}
}

func TestExtendButtonExtendsAndKeepsTheRest(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.env.Bot.Post(ctx, "csrf", url.Values{"action": {"edit"}, "title": {"Extend Page"}, "text": {"content"}, "summary": {"test"}}, nil); err != nil {
		t.Fatal(err)
	}
	exp := f.protect(t, `/protect "Extend Page" edit=sysop move=sysop edit_expiry="3 hours" move_expiry=infinite cascade reason="edit war"`)
	m := wantOne(t, f.tick(t, exp.Add(-time.Hour)), "the 1-hour warning")
	extend := m.Actions[0]

	// People who may not protect cannot press it; nothing changes.
	for _, a := range []commands.Actor{
		{Platform: "discord", UserID: "D-STRANGER", UserName: "mallory"},
		{Platform: "discord", UserID: "D-HELPER", UserName: "helper"},
	} {
		r := f.press(t, a, extend)
		if r.Outcome != commands.OutcomeDenied {
			t.Errorf("%s pressed extend: %s", a.UserID, r.String())
		}
		if audit := f.env.LastAudit(t); audit.Command != "reminder" || audit.UserID != a.UserID || audit.Outcome != commands.OutcomeDenied {
			t.Errorf("audit = %+v", audit)
		}
	}
	if got := f.env.Protections(t, "Extend Page")["edit"].Expiry; got != exp.Format(time.RFC3339) {
		t.Fatalf("a denied press changed the expiry to %s", got)
	}

	r := f.press(t, discordMod, extend)
	if !r.OK() || english(r.Title) != "Protection of Extend Page extended by 3 hours." {
		t.Fatalf("extend: %s", r.String())
	}
	want := exp.Add(3 * time.Hour).Format(time.RFC3339)
	got := f.env.Protections(t, "Extend Page")
	if got["edit"].Expiry != want || got["edit"].Level != "sysop" || !got["edit"].Cascade {
		t.Errorf("edit = %+v, want sysop with cascade until %s", got["edit"], want)
	}
	if got["move"].Level != "sysop" || got["move"].Expiry != "infinity" {
		t.Errorf("move = %+v, want kept: sysop, indefinitely", got["move"])
	}
	audit := f.env.LastAudit(t)
	if audit.Command != "reminder" || audit.UserID != "D-ADMIN" || audit.Outcome != commands.OutcomeOK || !strings.Contains(string(audit.Result), want) {
		t.Errorf("audit = %+v", audit)
	}
	ps, _ := f.env.DB.PageProtections(ctx, commands.DefaultWiki, "Extend Page")
	if len(ps) != 1 || ps[0].Expiry.Format(time.RFC3339) != want || ps[0].Length != 3*time.Hour || ps[0].SetBy != "bob" || ps[0].Reason != "edit war" {
		t.Errorf("tracked = %+v", ps)
	}

	// Pressing the same button again does not extend twice.
	if r := f.press(t, discordMod, extend); r.Code != "reminder-stale" {
		t.Errorf("second press: %s", r.String())
	}
	if got := f.env.Protections(t, "Extend Page")["edit"].Expiry; got != want {
		t.Errorf("the second press changed the expiry to %s", got)
	}
	// The old expiry passes quietly; the new one is reminded.
	wantNone(t, f.tick(t, exp), "the old expiry")
	wantOne(t, f.tick(t, exp.Add(2*time.Hour)), "the new 1-hour warning")
}

// loseProtectAnswers, while on, lets action=protect reach the wiki and
// drops its answer, as a connection lost after the request would.
type loseProtectAnswers struct{ on atomic.Bool }

func (l *loseProtectAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if form, _ := url.ParseQuery(string(body)); err == nil && l.on.Load() && form.Get("action") == "protect" {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("connection lost after the request was sent")
	}
	return resp, err
}

// TestExtendWhoseAnswerIsLostIsReadBack: a reminder's Extend protects
// through /protect's own path, so when the wiki applies it and the answer
// is lost, the reply comes from reading the page and its log back, as
// /protect's would: "as you asked", with the wiki's new expiry.
func TestExtendWhoseAnswerIsLostIsReadBack(t *testing.T) {
	lose := &loseProtectAnswers{}
	f := newFixtureWith(t, lose, nil)
	exp := f.protect(t, `/protect "Extend Lost Answer" create=sysop expiry="2 hours"`)
	m := wantOne(t, f.tick(t, exp.Add(-time.Hour)), "the 1-hour warning")
	lose.on.Store(true)
	r := f.press(t, slackAdmin, m.Actions[0])
	lose.on.Store(false)
	want := exp.Add(2 * time.Hour).Format(time.RFC3339)
	if got := f.env.Protections(t, "Extend Lost Answer")["create"].Expiry; got != want {
		t.Fatalf("the wiki has create until %s, want %s (the extension applied)", got, want)
	}
	if !r.OK() || r.Code != "read-back" || !strings.Contains(r.String(), "as you asked") || !strings.Contains(r.String(), exp.Add(2*time.Hour).Format("2006-01-02 15:04 UTC")) {
		t.Errorf("reply %s/%s:\n%s", r.Outcome, r.Code, r.String())
	}
	if rec := f.env.LastAudit(t); rec.Command != "reminder" || rec.Outcome != commands.OutcomeOK || rec.Code != "read-back" {
		t.Errorf("audit = %+v", rec)
	}
}

func TestExtendAfterExpiryProtectsAgain(t *testing.T) {
	f := newFixture(t, nil)
	exp := f.protect(t, `/protect "Lapsed Page" create=sysop expiry="2 hours"`)
	m := wantOne(t, f.tick(t, exp), "at expiry")
	if len(m.Actions) != 1 || english(m.Actions[0].Label) != "Protect again for 2 hours" {
		t.Fatalf("actions = %+v", m.Actions)
	}
	// Pressed ten minutes after the expiry: two hours from then.
	f.clock.Set(exp.Add(10 * time.Minute))
	r := f.press(t, slackAdmin, m.Actions[0])
	if !r.OK() {
		t.Fatalf("protect again: %s", r.String())
	}
	want := exp.Add(130 * time.Minute).Format(time.RFC3339)
	if got := f.env.Protections(t, "Lapsed Page")["create"]; got.Level != "sysop" || got.Expiry != want {
		t.Errorf("create = %+v, want sysop until %s", got, want)
	}
}

func TestDismissStopsTheRemainingReminders(t *testing.T) {
	f := newFixture(t, nil)
	exp := f.protect(t, `/protect "Dismiss Page" create=sysop expiry="1 week"`)
	m := wantOne(t, f.tick(t, exp.Add(-24*time.Hour)), "the 24-hour warning")
	r := f.press(t, slackAdmin, m.Actions[1])
	if !r.OK() || english(r.Title) != "Reminders about Dismiss Page dismissed." {
		t.Fatalf("dismiss: %s", r.String())
	}
	list := f.env.Service.ExecuteLine(context.Background(), slackAdmin, "/expiring 2d")
	if v := field(list, "Dismiss Page — create (create)"); !strings.Contains(v, "; reminders dismissed") {
		t.Errorf("/expiring shows %q", v)
	}
	wantNone(t, f.tick(t, exp.Add(-time.Hour)), "the 1-hour warning after dismissal")
	wantNone(t, f.tick(t, exp), "expiry after dismissal")
	if r := f.press(t, slackAdmin, m.Actions[1]); !r.OK() || english(r.Title) != "Nothing left to dismiss." {
		t.Errorf("dismissing again: %s", r.String())
	}
	if r := f.press(t, slackAdmin, commands.Action{Command: "reminder", Args: map[string]string{"do": "dismiss", "id": "999999"}}); r.Code != "reminder-gone" {
		t.Errorf("dismissing a reminder that does not exist: %s", r.String())
	}
}

// TestButtonsNeedTheRightsOfWhatTheyAct on: a person who may set only
// semi-protection can neither extend nor dismiss the reminders of a sysop
// protection (nothing changes, and the reminders still go out), and can
// both for a semi-protection.
func TestButtonsNeedTheRightsOfWhatTheyActOn(t *testing.T) {
	f := newFixture(t, nil)
	semi := commands.Actor{Platform: "slack", UserID: "U-SEMI", UserName: "sam", Channel: "C-MODS"}
	exp := f.protect(t, `/protect "Buttons Sysop Page" create=sysop expiry="1 week"`)
	m := wantOne(t, f.tick(t, exp.Add(-24*time.Hour)), "the 24-hour warning")
	for _, a := range m.Actions {
		r := f.press(t, semi, a)
		if r.Outcome != commands.OutcomeDenied || r.Code != "missing-right:editprotected" {
			t.Errorf("semiprotector pressed %q: %s/%s %s", a.Label, r.Outcome, r.Code, r.String())
		}
	}
	if got := f.env.Protections(t, "Buttons Sysop Page")["create"]; got.Expiry != exp.Format(time.RFC3339) {
		t.Errorf("a denied press changed the protection: %+v", got)
	}
	wantOne(t, f.tick(t, exp.Add(-time.Hour)), "the 1-hour warning after the denied dismissal")

	// A fresh clock: the wiki reads "1 week" from its own.
	f = newFixture(t, nil)
	exp = f.protect(t, `/protect "Buttons Semi Page" create=autoconfirmed expiry="1 week"`)
	exp2 := f.protect(t, `/protect "Buttons Semi Page 2" create=autoconfirmed expiry="8 days"`)
	m = wantOne(t, f.tick(t, exp.Add(-24*time.Hour)), "the 24-hour warning of the semi-protection")
	if r := f.press(t, semi, m.Actions[0]); !r.OK() {
		t.Errorf("semiprotector extending a semi-protection: %s", r.String())
	}
	m = wantOne(t, f.tick(t, exp2.Add(-24*time.Hour)), "the 24-hour warning of the second semi-protection")
	if r := f.press(t, semi, m.Actions[1]); !r.OK() {
		t.Errorf("semiprotector dismissing a semi-protection's reminders: %s", r.String())
	}
}

func TestExpiringListsWhatExpiresSoon(t *testing.T) {
	f := newFixture(t, nil)
	f.protect(t, `/protect "Expiring Soon" create=sysop expiry="3 hours" reason="short"`)
	f.protect(t, `/protect "Expiring Later" create=autoconfirmed expiry="10 days"`)
	ctx := context.Background()

	r := f.env.Service.ExecuteLine(ctx, slackAdmin, "/expiring")
	if !r.OK() || english(r.Title) != "1 protection expires within 1 week." || r.Announce {
		t.Fatalf("/expiring: %s (announce %v)", r.String(), r.Announce)
	}
	v := field(r, "Expiring Soon — create (create)")
	if !strings.HasPrefix(v, "sysop (sysop), until ") || !strings.Contains(v, "(in 3 hours); set by alice on Slack") || !strings.Contains(v, "; next reminder in 2 hours; reminder ") {
		t.Errorf("line = %q", v)
	}
	// The reminder's number, as the docs say, works as the buttons do.
	var id string
	fmt.Sscanf(v[strings.LastIndex(v, "; reminder ")+len("; reminder "):], "%s", &id)
	if !strings.Contains(english(r.Text), "`/reminder do=extend id="+id+"`") {
		t.Errorf("/expiring does not say how to use reminder %s:\n%s", id, r.Text)
	}
	if d := f.env.Service.ExecuteLine(ctx, slackAdmin, "/reminder do=dismiss id="+id); !d.OK() || !strings.Contains(english(d.Title), "Expiring Soon") {
		t.Errorf("/reminder do=dismiss id=%s: %s", id, d.String())
	}
	r = f.env.Service.Execute(ctx, discordMod, "expiring", commands.Args{Named: map[string]string{"within": "2 weeks"}})
	if english(r.Title) != "2 protections expire within 2 weeks." || english(r.Fields[0].Label) != "Expiring Soon — create (create)" || english(r.Fields[1].Label) != "Expiring Later — create (create)" {
		t.Errorf("within 2 weeks: %s", r.String())
	}
	if r := f.env.Service.ExecuteLine(ctx, slackAdmin, "/expiring 30m"); english(r.Title) != "No tracked protection expires within 30 minutes." {
		t.Errorf("within 30m: %s", r.String())
	}
	if r := f.env.Service.ExecuteLine(ctx, slackAdmin, "/expiring within=soon"); r.Outcome != commands.OutcomeInvalid {
		t.Errorf("within=soon: %s", r.String())
	}
	helper := commands.Actor{Platform: "slack", UserID: "U-HELPER"}
	if r := f.env.Service.ExecuteLine(ctx, helper, "/expiring"); r.Outcome != commands.OutcomeDenied {
		t.Errorf("a helper without protect: %s", r.String())
	}
}

func TestFailedSendsAreRetriedWithBackoffAndAudited(t *testing.T) {
	f := newFixture(t, nil)
	exp := f.protect(t, `/protect "Retry Page" create=sysop expiry="3 hours"`)
	f.inbox.failNext(2, errors.New("slack: channel_not_found"))
	due := exp.Add(-time.Hour)

	wantNone(t, f.tick(t, due), "first attempt fails")
	audit := f.env.LastAudit(t)
	if audit.Command != "reminder-send" || audit.Outcome != commands.OutcomeFailed || audit.Code != "send-failed" ||
		!strings.Contains(string(audit.Result), "channel_not_found") {
		t.Errorf("audit after a failure = %+v", audit)
	}
	wantNone(t, f.tick(t, due.Add(59*time.Second)), "before the back-off")
	if n := f.inbox.tries(); n != 1 {
		t.Fatalf("%d attempts before the back-off ended, want 1", n)
	}
	wantNone(t, f.tick(t, due.Add(time.Minute)), "second attempt fails")
	wantNone(t, f.tick(t, due.Add(2*time.Minute)), "the back-off doubled")
	if n := f.inbox.tries(); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
	m := wantOne(t, f.tick(t, due.Add(3*time.Minute)), "third attempt succeeds")
	if !strings.Contains(english(m.Text), "This reminder is late") {
		t.Errorf("a reminder 3 minutes late does not say so: %q", m.Text)
	}
	if audit := f.env.LastAudit(t); audit.Outcome != commands.OutcomeOK {
		t.Errorf("audit after the success = %+v", audit)
	}
	wantNone(t, f.tick(t, due.Add(10*time.Minute)), "sent once")
	if got := f.env.Metrics.Value("wikimod_reminder_send_failures_total", "outcome", "retry"); got != 2 {
		t.Errorf("failure metric = %v, want 2", got)
	}
}

func TestAFailingChannelIsRetriedAlone(t *testing.T) {
	slack, discord := newInbox(), newInbox()
	f := newFixture(t, func(c *reminders.Config) {
		c.Channels = func() []reminders.Channel {
			return []reminders.Channel{{Name: "slack", Notify: slack.Notify}, {Name: "discord", Notify: discord.Notify}}
		}
	})
	exp := f.protect(t, `/protect "Two Channels Page" create=sysop expiry="3 hours"`)
	discord.failNext(1, errors.New("discord: 503 Service Unavailable"))
	due := exp.Add(-time.Hour)
	f.tick(t, due)
	if s, d := len(slack.take()), len(discord.take()); s != 1 || d != 0 {
		t.Fatalf("first attempt: slack got %d, discord %d; want 1 and 0", s, d)
	}
	audit := f.env.LastAudit(t)
	if audit.Outcome != commands.OutcomeFailed || audit.Channel != "slack" || !strings.Contains(string(audit.Result), `"failed":["discord"]`) {
		t.Errorf("audit = %+v %s", audit, audit.Result)
	}
	f.tick(t, due.Add(time.Minute))
	if s, d := len(slack.take()), len(discord.take()); s != 0 || d != 1 {
		t.Fatalf("retry: slack got %d more, discord %d; want 0 and 1", s, d)
	}
	if audit := f.env.LastAudit(t); audit.Outcome != commands.OutcomeOK || audit.Channel != "slack,discord" {
		t.Errorf("audit = %+v", audit)
	}
	f.tick(t, due.Add(10*time.Minute))
	if s, d := len(slack.take()), len(discord.take()); s+d != 0 {
		t.Fatalf("sent again: %d, %d", s, d)
	}
}

func TestABurstIsDigested(t *testing.T) {
	f := newFixture(t, func(c *reminders.Config) { c.DigestLines = 8 })
	var last time.Time
	for i := 1; i <= 20; i++ {
		last = f.protect(t, fmt.Sprintf(`/protect "Burst Page %02d" create=sysop expiry="2 hours" reason="mass protection"`, i))
	}
	m := wantOne(t, f.tick(t, last.Add(-time.Hour)), "20 warnings due at once")
	if english(m.Title) != "20 protections expire soon or have expired" || len(m.Fields) != 8 || len(m.Actions) != 0 {
		t.Errorf("digest = %q with %d lines", m.Title, len(m.Fields))
	}
	if !strings.HasPrefix(english(m.Fields[0].Label), "Burst Page") || !strings.Contains(english(m.Fields[0].Value), "create (create): sysop (sysop); expires in") ||
		!strings.Contains(english(m.Text), "…and 12 more.") {
		t.Errorf("digest:\n%s", m.String())
	}
	wantNone(t, f.tick(t, last.Add(-30*time.Minute)), "all marked sent")
	wantOne(t, f.tick(t, last), "20 expiries at once")
	if got := f.env.Metrics.Value("wikimod_reminder_messages_total", "kind", "digest"); got != 2 {
		t.Errorf("digest metric = %v", got)
	}
}

func TestRestartNeitherLosesNorRepeats(t *testing.T) {
	f := newFixture(t, func(c *reminders.Config) { c.Wikis[0].Pages = []string{"Restart A", "Restart B", "Restart C"} })
	ctx := context.Background()
	expA := f.protect(t, `/protect "Restart A" create=sysop expiry="2 hours"`)
	expB := f.protect(t, `/protect "Restart B" create=sysop expiry="3 hours"`)
	expC := f.protect(t, `/protect "Restart C" create=sysop expiry="6 hours"`)
	path := f.env.DB.Path()
	wantOne(t, f.tick(t, expA.Add(-time.Hour)), "A's warning before the crash")

	// restart opens the database as a new process would and starts a
	// scheduler on it, which catches up in the background.
	restart := func(notify func(context.Context, commands.Reply) error) (*storage.DB, *reminders.Scheduler) {
		t.Helper()
		db, err := storage.Open(path, storage.Options{Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		cfg := f.cfg
		cfg.Store, cfg.Notify = db, notify
		s, err := reminders.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return db, s
	}
	titles := func(msgs []commands.Reply) string {
		var out []string
		for _, m := range msgs {
			out = append(out, english(m.Title))
		}
		slices.Sort(out)
		return strings.Join(out, " | ")
	}

	// Crash 1: a wikimod process claims A's expiry and B's warning and is
	// killed before it posts them.
	f.env.DB.Close()
	if posted := crash(t, path, expA.Add(time.Minute), "before"); len(posted) != 0 {
		t.Fatalf("posted %q", posted)
	}
	f.clock.Set(expA.Add(2 * time.Minute))
	db2, s2 := restart(f.inbox.Notify)
	f.inbox.waitFor(t, 2)
	msgs := f.inbox.take()
	if got := titles(msgs); got != "Protection of Restart A has expired | Protection of Restart B expires "+english(i18n.Relative(expB, f.clock.Now())) {
		t.Errorf("after the restart: %s", got)
	}
	for _, m := range msgs {
		if !strings.Contains(english(m.Text), "may repeat") {
			t.Errorf("a recovered reminder does not say it may repeat: %q", m.Text)
		}
	}
	if err := s2.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	wantNone(t, f.inbox.take(), "after the catch-up")
	s2.Close()
	db2.Close()

	// Crash 2: the process posts B's expiry and is killed before it marks
	// it sent. After the restart it is posted again, flagged as a possible
	// repeat: at least once, never lost.
	if posted := crash(t, path, expB, "after"); strings.Join(posted, "|") != "Protection of Restart B has expired" {
		t.Fatalf("posted before the kill: %q", posted)
	}

	// Downtime: C's warning and expiry fall due while wikimod is down; only
	// the later one goes out, late.
	f.clock.Set(expC.Add(10 * time.Minute))
	restart(f.inbox.Notify)
	f.inbox.waitFor(t, 2)
	msgs = f.inbox.take()
	if got := titles(msgs); got != "Protection of Restart B expired 3 hours ago | Protection of Restart C expired 10 minutes ago" {
		t.Fatalf("after the downtime: %s", got)
	}
	for _, m := range msgs {
		if !strings.Contains(english(m.Text), "This reminder is late") {
			t.Errorf("%q is not marked late", m.Title)
		}
		if strings.Contains(english(m.Title), "Restart B") != strings.Contains(english(m.Text), "may repeat") {
			t.Errorf("%q: only B may repeat: %q", m.Title, m.Text)
		}
	}
}

// tempStore opens a SQLite store in the test's own directory, with the
// real clock, closed when the test ends.
func tempStore(t *testing.T) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "w.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConfigIsChecked(t *testing.T) {
	db := tempStore(t)
	c, _ := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php"})
	for _, cfg := range []reminders.Config{
		{Wikis: oneWiki(c)},
		{Store: db},
		{Store: db, Wikis: []reminders.Wiki{{Name: "en"}}},
		{Store: db, Wikis: []reminders.Wiki{{Client: c}}},
		{Store: db, Wikis: []reminders.Wiki{{Name: "en", Client: c}, {Name: "en", Client: c}}},
		{Store: db, Wikis: oneWiki(c), LeadTimes: []time.Duration{-time.Hour}},
		{Store: db, Wikis: oneWiki(c), TickSpec: "every minute"},
		{Store: db, Wikis: oneWiki(c), SyncConcurrency: -1},
		{Store: db, Wikis: oneWiki(c), Retry: reminders.Backoff{Base: time.Hour, Max: time.Minute, Attempts: 1}},
		// A store that keeps no audit log, and no Audit.
		{Store: struct{ reminders.Store }{db}, Wikis: oneWiki(c)},
	} {
		if _, err := reminders.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	s, err := reminders.New(reminders.Config{Store: db, Wikis: oneWiki(c)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Error("Start without a notice channel succeeded")
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}
