package alerts_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/alerts"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// wiki is the test wiki (AbuseFilter is enabled on it by the tests that
// need it); wiki2 is a second one, for the tests of a farm.
var wiki, wiki2 *devwiki.Wiki

func TestMain(m *testing.M) { os.Exit(devwiki.Main(m, &wiki, &wiki2)) }

// userPassword is the main password of the accounts the tests make to edit.
const userPassword = "A-long-user-pass!"

// editors makes n accounts on w that edit, with names of their own, each
// logged in.
func editors(t testing.TB, w *devwiki.Wiki, n int) []string {
	t.Helper()
	var out []string
	for range n {
		name := testwait.Unique("Warrior")
		if err := w.CreateUser(context.Background(), name, userPassword, "", false); err != nil {
			t.Fatal(err)
		}
		out = append(out, name)
	}
	return out
}

// sessions keeps the tests' logins to each wiki, by account name: an edit
// war's edits and rollbacks must come within seconds of one another,
// which logging in for each would stretch on a busy machine.
var sessions sync.Map

// as returns a login to w as user.
func as(t testing.TB, w *devwiki.Wiki, user, password string) *devwiki.Account {
	t.Helper()
	key := w.URL + "|" + user
	if a, ok := sessions.Load(key); ok {
		return a.(*devwiki.Account)
	}
	a, err := w.LogIn(context.Background(), user, password)
	if err != nil {
		t.Fatal(err)
	}
	sessions.Store(key, a)
	return a
}

// war makes an edit war on title on w: Admin saves it, then each editor
// edits it and Admin rolls them back, as MediaWiki's rollback does it (and
// tags it).
func war(t testing.TB, w *devwiki.Wiki, title string, who []string) {
	t.Helper()
	if err := as(t, w, "Admin", devwiki.AdminPassword).Edit(context.Background(), title, "The page as it should be."); err != nil {
		t.Fatal(err)
	}
	for _, e := range who {
		revert(t, w, title, e)
	}
}

// revert has editor edit title on w, and Admin roll the edit back. It
// returns once the wiki lists the rollback in its recent changes, tagged:
// MediaWiki lists an edit in deferred updates that run after it answered.
func revert(t testing.TB, w *devwiki.Wiki, title, editor string) {
	t.Helper()
	ctx := context.Background()
	before := rollbacks(t, w, title)
	if err := as(t, w, editor, userPassword).Edit(ctx, title, "The page as "+editor+" wants it."); err != nil {
		t.Fatal(err)
	}
	if err := as(t, w, "Admin", devwiki.AdminPassword).Rollback(ctx, title, editor); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the wiki to list the rollback of "+editor, func() bool { return rollbacks(t, w, title) > before })
}

// readers are the bot's sessions the tests read the wikis with, by API
// address (a wiki may refuse anonymous readers).
var readers sync.Map

// rollbacks counts the rollbacks of title that w lists in its recent
// changes, with their tag.
func rollbacks(t testing.TB, w *devwiki.Wiki, title string) int {
	t.Helper()
	c, ok := readers.Load(w.APIURL)
	if !ok {
		bot, err := mw.New(mw.Config{APIURL: w.APIURL, User: w.BotUser, Password: w.BotPassword})
		if err != nil {
			t.Fatal(err)
		}
		c, _ = readers.LoadOrStore(w.APIURL, bot)
	}
	page, err := c.(*mw.Client).RecentChanges(context.Background(), mw.RecentChangesQuery{Title: title})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ch := range page.Changes {
		if ch.HasTag(mw.TagRollback) {
			n++
		}
	}
	return n
}

// inbox stands in for the notice channels: it records what is posted.
type inbox struct {
	mu      sync.Mutex
	msgs    []commands.Reply
	taken   int // how many of msgs take returned
	arrived chan commands.Reply
}

func newInbox() *inbox { return &inbox{arrived: make(chan commands.Reply, 1000)} }

func (b *inbox) Notify(_ context.Context, r commands.Reply) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, r)
	select {
	case b.arrived <- r:
	default: // no one is waiting for so many
	}
	return nil
}

func (b *inbox) channels() []alerts.Channel {
	return []alerts.Channel{{Name: "inbox", Notify: b.Notify}}
}

// take returns the alerts posted since the last take.
func (b *inbox) take() []commands.Reply {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.msgs[b.taken:]
	b.taken = len(b.msgs)
	return out
}

// about returns the alerts posted so far about title. The wiki is shared
// with the other tests (and earlier runs): their pages' alerts are left
// out.
func (b *inbox) about(title string) []commands.Reply {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []commands.Reply
	for _, m := range b.msgs {
		if field(m, "Page") == title {
			out = append(out, m)
		}
	}
	return out
}

// english renders m in English, as a person with no other language would
// read it, without the wiki's own words.
func english(m i18n.Message) string { return i18n.Localizer{Lang: "en"}.Text(m) }

func field(r commands.Reply, label string) string {
	for _, f := range r.Fields {
		if english(f.Label) == label {
			return english(f.Value)
		}
	}
	return ""
}

var (
	slackAdmin  = commands.Actor{Platform: "slack", UserID: "U-ADMIN", UserName: "alice", Channel: "C-MODS"}
	discordMod  = commands.Actor{Platform: "discord", UserID: "D-ADMIN", UserName: "bob", Channel: "D-CHAN"}
	slackHelper = commands.Actor{Platform: "slack", UserID: "U-HELPER", UserName: "helen", Channel: "C-MODS"}
	slackSemi   = commands.Actor{Platform: "slack", UserID: "U-SEMI", UserName: "sam", Channel: "C-MODS"}
)

// fixture is a real core on the test wiki with a follower beside it, as
// cmd/wikimod wires them, and a fake clock set to now.
type fixture struct {
	env   *testenv.Env
	f     *alerts.Follower
	clock *testenv.Clock
	inbox *inbox
	cfg   alerts.Config
	// protected are the protections the alert command handed on, as the
	// reminders would track them.
	mu        sync.Mutex
	protected []*commands.ProtectOutcome
}

const interval = time.Minute

func newFixture(t *testing.T, mod func(*alerts.Config)) *fixture {
	t.Helper()
	f := &fixture{clock: testenv.NewClock(time.Now().UTC().Truncate(time.Second)), inbox: newInbox()}
	f.env = testenv.New(t, wiki, testenv.Options{
		Now:   f.clock.Now,
		Extra: deferredCommands(&f.f),
		// The default rules, and a Slack user in the devwiki's
		// semiprotector group (protect and editsemiprotected only).
		Rules: append([]commands.AccessRule{{WikiGroups: []string{"semiprotector"}, Identities: []commands.Identities{commands.Users("slack", "U-SEMI")}}}, testenv.DefaultRules...),
	})
	f.cfg = alerts.Config{Store: f.env.DB, Wikis: []alerts.Wiki{{Name: commands.DefaultWiki, Client: f.env.Anon}}, Channels: f.inbox.channels,
		Interval: interval, Now: f.clock.Now, Metrics: alerts.NewMetrics(f.env.Metrics.Registerer()),
		PlatformTitle: f.env.Service.PlatformTitle,
		Logger:        slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnProtect: func(_ context.Context, _ commands.Actor, out *commands.ProtectOutcome) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.protected = append(f.protected, out)
			return nil
		}}
	if mod != nil {
		mod(&f.cfg)
	}
	f.f = f.follower(t, f.cfg)
	return f
}

// testLog writes a follower's log into the test's.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// follower makes a follower with cfg, closed when the test ends.
func (f *fixture) follower(t *testing.T, cfg alerts.Config) *alerts.Follower {
	t.Helper()
	fl, err := alerts.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fl.Close() })
	return fl
}

// deferredCommands returns the alerts' commands for a follower built after
// the command service (testenv builds the service first).
func deferredCommands(fl **alerts.Follower) []commands.Command {
	cmds := (&alerts.Follower{}).Commands()
	for i := range cmds {
		cmds[i].Run = func(ctx context.Context, req *commands.Request) (commands.Reply, error) {
			return (*fl).Commands()[i].Run(ctx, req)
		}
	}
	return cmds
}

// tick moves the clock on by an interval and runs the polls due: each
// wiki's once.
func (f *fixture) tick(t *testing.T) {
	t.Helper()
	f.clock.Add(interval)
	f.f.PollDue(context.Background())
}

// alertWithin ticks up to n intervals until an alert about title is
// posted, and returns the alerts about it.
func (f *fixture) alertWithin(t *testing.T, n int, title string) []commands.Reply {
	t.Helper()
	for i := 0; i < n; i++ {
		f.tick(t)
		if got := f.inbox.about(title); len(got) > 0 {
			return got
		}
	}
	t.Fatalf("no alert about %s within %d polling intervals", title, n)
	return nil
}

func (f *fixture) press(t *testing.T, actor commands.Actor, a commands.Action) commands.Reply {
	t.Helper()
	args := commands.Args{Named: map[string]string{}}
	for k, v := range a.Args {
		args.Named[k] = v
	}
	return f.env.Service.Execute(context.Background(), actor, a.Command, args)
}

// button returns the alert's button whose label starts so.
func button(t *testing.T, m commands.Reply, label string) commands.Action {
	t.Helper()
	var labels []string
	for _, a := range m.Actions {
		if strings.HasPrefix(english(a.Label), label) {
			return a
		}
		labels = append(labels, english(a.Label))
	}
	t.Fatalf("no button %q among %q", label, labels)
	return commands.Action{}
}

// sent returns the audit records of the posts of alerts about title.
func sent(t *testing.T, f *fixture, title string) []commands.AuditRecord {
	t.Helper()
	recs, err := f.env.DB.Audit(context.Background(), commands.AuditFilter{Command: "alert-send", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []commands.AuditRecord
	for _, r := range recs {
		if r.Args["title"] == title {
			out = append(out, r)
		}
	}
	return out
}

// protectLog reads title's protect log, newest first.
func protectLog(t *testing.T, c *mw.Client, title string) []mw.LogEvent {
	t.Helper()
	page, err := c.LogEvents(context.Background(), mw.LogEventsQuery{Type: mw.LogProtect, Title: title})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

// TestThreeEditorsRolledBackRaiseOneAlert is the acceptance test: three
// editors rolled back on one page within minutes raise one alert in the
// notice channel within two polling intervals, naming the page, the
// editors, who reverted them, the page's protection (none) and history
// (none), and suggesting edit=autoconfirmed for a day with buttons, which
// carry the wiki and the alert. More reverts of the same burst raise no
// other. The suggested button protects the page as the moderator who
// pressed it, signed and audited; a second press, by another, protects
// nothing more and says who did.
func TestThreeEditorsRolledBackRaiseOneAlert(t *testing.T) {
	f := newFixture(t, nil)
	title := testwait.Unique("Edit War ")
	who := editors(t, wiki, 4)
	war(t, wiki, title, who[:3])

	got := f.alertWithin(t, 2, title)
	if len(got) != 1 {
		t.Fatalf("%d alerts about %s, want one", len(got), title)
	}
	m := got[0]
	if tl := english(m.Title); tl != "Edit war on "+title+": 3 edits reverted from 3 editors within 15 minutes" {
		t.Errorf("title %q", tl)
	}
	if v := field(m, "Reverted edits"); v != "3 edits by "+who[0]+", "+who[1]+" and "+who[2] {
		t.Errorf("reverted edits: %q", v)
	}
	for label, want := range map[string]string{
		"Reverted by":        "Admin",
		"Protection now":     "None",
		"Protection history": "The page's protect log is empty: it was never protected.",
		"Suggested":          "edit (edit): autoconfirmed (autoconfirmed), for 1 day. The page was never protected.",
	} {
		if v := field(m, label); v != want {
			t.Errorf("%s: %q, want %q", label, v, want)
		}
	}
	if !m.Announce || m.Command != "alert" || !strings.HasPrefix(m.URL, wiki.URL) {
		t.Errorf("alert: announce %v, command %q, url %q", m.Announce, m.Command, m.URL)
	}
	suggested := button(t, m, "Protect: edit=autoconfirmed, 1 day (suggested)")
	if suggested.Style != "primary" || suggested.Args["wiki"] != commands.DefaultWiki || suggested.Args["id"] == "" ||
		suggested.Args["expiry"] != "1 day" || suggested.Args["level"] != "autoconfirmed" {
		t.Errorf("suggested button: %+v", suggested)
	}
	button(t, m, "Protect: edit=sysop, 1 day")
	button(t, m, "Protect: edit=autoconfirmed, 2 days")
	dismiss := button(t, m, "Dismiss")
	if dismiss.Args["do"] != "dismiss" || dismiss.Args["id"] != suggested.Args["id"] {
		t.Errorf("dismiss button: %+v", dismiss)
	}
	if audit := sent(t, f, title); len(audit) != 1 || audit[0].Outcome != commands.OutcomeOK || audit[0].Channel != "inbox" || audit[0].Args["rule"] != "reverts" {
		t.Errorf("the post's audit records: %+v", audit)
	}
	if v := f.env.Metrics.Value("wikimod_alerts_raised_total", "rule", "reverts"); v < 1 {
		t.Errorf("alerts raised: %v", v)
	}

	// The burst goes on: one more revert, no other alert.
	revert(t, wiki, title, who[3])
	f.tick(t)
	f.tick(t)
	if n := len(f.inbox.about(title)); n != 1 {
		t.Fatalf("%d alerts about %s after the burst went on, want still one", n, title)
	}

	// The suggested protection, pressed by a moderator.
	r := f.press(t, slackAdmin, suggested)
	if !r.OK() || !r.Announce || r.Protect == nil {
		t.Fatalf("pressing the suggested button: %s", r.String())
	}
	p := f.env.Protections(t, title)["edit"]
	exp, err := time.Parse(time.RFC3339, p.Expiry)
	if p.Level != "autoconfirmed" || err != nil || exp.Sub(time.Now()) < 23*time.Hour || exp.Sub(time.Now()) > 25*time.Hour {
		t.Fatalf("the page's edit protection: %+v", p)
	}
	log := protectLog(t, f.env.Bot, title)
	if len(log) != 1 || !strings.Contains(log[0].Comment, "Edit war: 4 edits reverted within 15 minutes (wikimod alert)") ||
		!strings.Contains(log[0].Comment, "alice") {
		t.Fatalf("protect log: %+v", log)
	}
	if audit := f.env.LastAudit(t); audit.Command != "alert" || audit.Outcome != commands.OutcomeOK || audit.UserID != "U-ADMIN" ||
		!strings.Contains(string(audit.Result), "autoconfirmed") {
		t.Errorf("the press's audit record: %+v", audit)
	}
	if len(f.protected) != 1 || f.protected[0].Title != title {
		t.Errorf("handed on to the reminders: %+v", f.protected)
	}

	// Pressed again, by another moderator: nothing more, and who did.
	for _, b := range []commands.Action{suggested, button(t, m, "Protect: edit=sysop")} {
		r = f.press(t, discordMod, b)
		if r.Code != "alert-handled" || !strings.Contains(english(r.Text), "alice on Slack protected "+title+" from this alert") {
			t.Errorf("a second press: %s", r.String())
		}
	}
	if log := protectLog(t, f.env.Bot, title); len(log) != 1 {
		t.Errorf("%d protect log entries after the second presses, want one", len(log))
	}
	if p := f.env.Protections(t, title)["edit"]; p.Level != "autoconfirmed" {
		t.Errorf("the second press changed the protection: %+v", p)
	}
}

// TestAlertButtonsNeedTheRights: a person who may not protect is refused
// by the command's right; one who may protect but not at the sysop level
// is refused the sysop button by /protect's own rule; neither changes the
// page nor takes the alert, and a moderator may still act on it.
func TestAlertButtonsNeedTheRights(t *testing.T) {
	f := newFixture(t, nil)
	title := testwait.Unique("Rights War ")
	war(t, wiki, title, editors(t, wiki, 3))
	m := f.alertWithin(t, 2, title)[0]

	r := f.press(t, slackHelper, button(t, m, "Protect: edit=autoconfirmed, 1 day (suggested)"))
	if r.Outcome != commands.OutcomeDenied {
		t.Errorf("a helper pressed protect: %s", r.String())
	}
	r = f.press(t, slackSemi, button(t, m, "Protect: edit=sysop"))
	if r.Outcome != commands.OutcomeDenied || !strings.Contains(r.Code, "editprotected") {
		t.Errorf("a semiprotector pressed sysop: %s (%s)", r.String(), r.Code)
	}
	if audit := f.env.LastAudit(t); audit.Command != "alert" || audit.Outcome != commands.OutcomeDenied {
		t.Errorf("the refusal's audit record: %+v", audit)
	}
	if ps := f.env.Protections(t, title); len(ps) != 0 {
		t.Fatalf("refused presses protected the page: %+v", ps)
	}
	// The semiprotector may set what their rights allow.
	r = f.press(t, slackSemi, button(t, m, "Protect: edit=autoconfirmed, 1 day (suggested)"))
	if !r.OK() || f.env.Protections(t, title)["edit"].Level != "autoconfirmed" {
		t.Fatalf("the semiprotector's press: %s", r.String())
	}
	// And a press of the alert of another wiki's number is not found.
	r = f.env.Service.ExecuteLine(context.Background(), slackAdmin, "/alert do=dismiss id=987654")
	if r.Code != "alert-gone" {
		t.Errorf("an unknown alert: %s", r.String())
	}
}

// TestDismissAndAlreadyProtected: dismissing an alert leaves the page as it
// is, and a later press says who dismissed it; on a page protected more
// than a button asks (by an administrator on the wiki meanwhile), the
// button does nothing and says so.
func TestDismissAndAlreadyProtected(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	dismissed, stronger := testwait.Unique("Dismissed War "), testwait.Unique("Stronger War ")
	war(t, wiki, dismissed, editors(t, wiki, 3))
	war(t, wiki, stronger, editors(t, wiki, 3))
	m := f.alertWithin(t, 2, dismissed)[0]
	// MediaWiki lists an edit once its deferred updates have run, after
	// it answered: the second war's last revert may come a poll later.
	n := f.inbox.about(stronger)
	if len(n) == 0 {
		n = f.alertWithin(t, 1, stronger)
	}

	r := f.press(t, discordMod, button(t, m, "Dismiss"))
	if !r.OK() || english(r.Title) != "Alert about "+dismissed+" dismissed." {
		t.Fatalf("dismiss: %s", r.String())
	}
	r = f.press(t, slackAdmin, button(t, m, "Protect: edit=autoconfirmed"))
	if r.Code != "alert-handled" || !strings.Contains(english(r.Text), "bob on Discord dismissed this alert about "+dismissed) {
		t.Errorf("a press after the dismissal: %s", r.String())
	}
	if ps := f.env.Protections(t, dismissed); len(ps) != 0 {
		t.Errorf("a dismissed alert's page was protected: %+v", ps)
	}

	if _, err := f.env.Bot.Protect(ctx, mw.ProtectParams{Title: stronger, Protections: []mw.Protection{{Action: "edit", Level: "sysop"}},
		Expiry: []string{"infinite"}, Reason: "done on the wiki"}); err != nil {
		t.Fatal(err)
	}
	r = f.press(t, slackAdmin, button(t, n[0], "Protect: edit=autoconfirmed"))
	if r.Code != "alert-already-protected" {
		t.Errorf("a press on a page protected more: %s", r.String())
	}
	if p := f.env.Protections(t, stronger)["edit"]; p.Level != "sysop" || p.Expiry != "infinity" {
		t.Errorf("the page's protection was lowered: %+v", p)
	}
	// The alert was not taken: a moderator may still dismiss it.
	if r := f.press(t, slackAdmin, button(t, n[0], "Dismiss")); !r.OK() {
		t.Errorf("dismissing after the refused press: %s", r.String())
	}
}

// TestANewBurstAfterQuietIsANewAlert: with a window of a few seconds, a
// burst raises an alert, and a burst after a quiet time as long as the
// window raises another, whose suggestion escalates from the protection
// the first one set: the next level, for as long.
func TestANewBurstAfterQuietIsANewAlert(t *testing.T) {
	const window = 10 * time.Second
	f := newFixture(t, func(c *alerts.Config) { c.Rules.Window = window })
	title := testwait.Unique("Bursting ")
	war(t, wiki, title, editors(t, wiki, 3))
	first := f.alertWithin(t, 2, title)
	if len(first) != 1 {
		t.Fatalf("%d alerts after the first burst", len(first))
	}
	if r := f.press(t, slackAdmin, button(t, first[0], "Protect: edit=autoconfirmed, 1 day (suggested)")); !r.OK() {
		t.Fatalf("protect: %s", r.String())
	}
	// The wiki stamps its changes with its own clock, this machine's:
	// wait for that clock to pass the quiet time.
	quietFrom := time.Now()
	testwait.For(t, "the window to pass quietly", func() bool { return time.Since(quietFrom) > window+time.Second })

	again := editors(t, wiki, 3)
	for _, e := range again {
		revert(t, wiki, title, e)
	}
	f.tick(t)
	f.tick(t)
	got := f.inbox.about(title)
	if len(got) != 2 {
		t.Fatalf("%d alerts after a second burst, want two", len(got))
	}
	second := got[1]
	if v := field(second, "Reverted edits"); v != "3 edits by "+again[0]+", "+again[1]+" and "+again[2] {
		t.Errorf("the second alert's reverted edits: %q", v)
	}
	if b := button(t, second, "Protect: edit=sysop, 1 day (suggested)"); b.Args["id"] == button(t, first[0], "Dismiss").Args["id"] {
		t.Error("the second alert is the first one again")
	}
	if v := field(second, "Protection history"); !strings.Contains(v, "1 protection in the last 90 days") {
		t.Errorf("the second alert's history: %q", v)
	}
}

// countingTransport counts the requests a client sends, by what they ask.
type countingTransport struct {
	mu    sync.Mutex
	count map[string]int
	base  http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	what := r.URL.Query().Get("list")
	if what == "" {
		what = r.URL.Query().Get("action") + ":" + r.URL.Query().Get("prop") + r.URL.Query().Get("meta")
	}
	c.mu.Lock()
	c.count[what]++
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *countingTransport) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.count
	c.count = map[string]int{}
	return out
}

// TestOneRequestPerWikiPerInterval: followed for five intervals, the
// dispatcher looking every ten seconds, a wiki with no trouble is read
// five times, one request each (recent changes and, where asked, the abuse
// log, in one); a wiki without AbuseFilter says so in that answer and is
// not asked for its abuse log again for an hour.
func TestOneRequestPerWikiPerInterval(t *testing.T) {
	counting := &countingTransport{count: map[string]int{}, base: http.DefaultTransport}
	second := devwiki.Need(t, wiki2)
	c, err := mw.New(mw.Config{APIURL: second.APIURL, HTTPClient: &http.Client{Transport: counting}})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(cfg *alerts.Config) { cfg.Wikis = []alerts.Wiki{{Name: "de", Client: c}} })
	ctx := context.Background()
	polls := 0
	for range 30 {
		f.clock.Add(10 * time.Second)
		names := f.f.PollDue(ctx)
		got := counting.take()
		if len(names) == 0 {
			if len(got) != 0 {
				t.Fatalf("no poll was due, and %v was sent", got)
			}
			continue
		}
		polls++
		// The wiki is shared with other tests and runs: where its last
		// quarter of an hour holds an edit war, its alert's post reads
		// the page (its site information, protection and protect log).
		posted := len(f.inbox.take())
		reads := got["query:siteinfo"] + got["query:info"] + got["logevents"]
		if got["recentchanges|abuselog"]+got["recentchanges"] != 1 || len(got) != 1 && (posted == 0 || reads > 3*posted) {
			t.Fatalf("poll %d sent %v and posted %d alerts, want one request, and at most three reads a post", polls, got, posted)
		}
		// The first answer said the wiki has no abuse log: later ones
		// are not asked for it.
		if polls > 1 && got["recentchanges"] != 1 {
			t.Errorf("poll %d asked for the abuse log again: %v", polls, got)
		}
	}
	if polls != 5 {
		t.Errorf("%d polls in five intervals, want 5", polls)
	}
	if v := f.env.Metrics.Value("wikimod_alert_polls_total", "outcome", "ok"); v != 5 {
		t.Errorf("polls ok = %v, want 5", v)
	}
}

// TestAPrivateWikiIsReadWithTheBotsSession: a wiki that anonymous readers
// may not read refuses the follower's anonymous session; the follower
// reads it with the bot's session from then on, and its edit war is
// announced.
func TestAPrivateWikiIsReadWithTheBotsSession(t *testing.T) {
	w := devwiki.Need(t, wiki2)
	ctx := context.Background()
	if err := w.AllowAnonymousReading(ctx, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.AllowAnonymousReading(context.Background(), true); err != nil {
			t.Error(err)
		}
	})
	anon, err := mw.New(mw.Config{APIURL: w.APIURL})
	if err != nil {
		t.Fatal(err)
	}
	bot, err := mw.New(mw.Config{APIURL: w.APIURL, User: w.BotUser, Password: w.BotPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.RecentChanges(ctx, mw.RecentChangesQuery{Limit: 1}); mw.ErrorCode(err) != "readapidenied" {
		t.Fatalf("an anonymous read of the private wiki: %v", err)
	}
	f := newFixture(t, func(c *alerts.Config) { c.Wikis = []alerts.Wiki{{Name: "private", Client: anon, Session: bot}} })
	title := testwait.Unique("Private War ")
	war(t, w, title, editors(t, w, 3))
	if got := f.alertWithin(t, 2, title); len(got) != 1 {
		t.Fatalf("%d alerts about the private wiki's war", len(got))
	}
}

// TestConfigIsChecked: a follower refuses a config it could not work with,
// naming what is wrong.
func TestConfigIsChecked(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	one := []alerts.Wiki{{Name: "en", Client: env.Bot}}
	for _, c := range []struct {
		cfg  alerts.Config
		want string
	}{
		{alerts.Config{Wikis: one}, "no store"},
		{alerts.Config{Store: env.DB}, "no wiki"},
		{alerts.Config{Store: env.DB, Wikis: []alerts.Wiki{{Name: "en"}}}, "needs a name and a client"},
		{alerts.Config{Store: env.DB, Wikis: append(one, one...)}, "given twice"},
		{alerts.Config{Store: env.DB, Wikis: one, Interval: time.Millisecond}, "too short"},
		{alerts.Config{Store: env.DB, Wikis: one, Limit: 501}, "not between 1 and 500"},
		{alerts.Config{Store: env.DB, Wikis: one, Rules: alerts.Rules{MinReverts: 2, MinEditors: 3}}, "min_editors 3 is more than min_reverts 2"},
		{alerts.Config{Store: env.DB, Wikis: []alerts.Wiki{{Name: "en", Client: env.Bot, Rules: &alerts.Rules{Window: time.Millisecond}}}}, "wiki en: window"},
		{alerts.Config{Store: env.DB, Wikis: one, Replicas: &alerts.Replicas{Store: env.DB}}, "instance's name"},
		{alerts.Config{Store: env.DB, Wikis: one, Replicas: &alerts.Replicas{Store: env.DB, Instance: "a", Lease: time.Second}}, "does not outlast a poll"},
	} {
		if _, err := alerts.New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error about %q", c.cfg, err, c.want)
		}
	}
}

// TestCommandRefusesWhatItCannotRead: /alert typed wrong says what was
// wrong and how to write it.
func TestCommandRefusesWhatItCannotRead(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for _, c := range []struct{ line, code, says string }{
		{"/alert do=protect id=first", "usage", "`id=first` is not an alert number"},
		{"/alert do=undo id=1", "usage", "say `do=protect` or `do=dismiss`"},
		{"/alert do=dismiss id=1 colour=red", "usage", "has no `colour=`"},
		{"/alert do=dismiss id=1 now", "usage", "takes only named values"},
	} {
		r := f.env.Service.ExecuteLine(ctx, slackAdmin, c.line)
		if r.Code != c.code || !strings.Contains(english(r.Text), c.says) {
			t.Errorf("%s: %s (%s)", c.line, english(r.Text), r.Code)
		}
	}
	title := testwait.Unique("Typed War ")
	war(t, wiki, title, editors(t, wiki, 3))
	m := f.alertWithin(t, 2, title)[0]
	id := button(t, m, "Dismiss").Args["id"]
	for _, c := range []struct{ line, code, says string }{
		{"/alert do=protect id=" + id + " level=owner expiry=\"1 day\"", "usage", "`level=owner` is not one of the wiki's protection levels"},
		{"/alert do=protect id=" + id + " level=sysop expiry=tomorrow", "usage", "`expiry=tomorrow` is not a length"},
	} {
		r := f.env.Service.ExecuteLine(ctx, slackAdmin, c.line)
		if r.Code != c.code || !strings.Contains(english(r.Text), c.says) {
			t.Errorf("%s: %s (%s)", c.line, english(r.Text), r.Code)
		}
	}
	r := f.env.Service.ExecuteLine(ctx, slackAdmin, "/alert do=protect id="+id+" level=sysop expiry=\"2 hours\"")
	if !r.OK() || f.env.Protections(t, title)["edit"].Level != "sysop" {
		t.Fatalf("typed: %s", r.String())
	}
}
