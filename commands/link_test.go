package commands_test

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

var mailedCode = regexp.MustCompile(`(?m)^Your wikimod code: ([0-9A-Z]{10})$`)

// linkByMail links actor to the wiki account user through the real mail
// flow, and fails the test if it does not end linked.
func linkByMail(t *testing.T, env *testenv.Env, actor commands.Actor, user string) {
	t.Helper()
	before, err := env.Wiki.Mail()
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, env, actor, "/link user="+commands.QuoteArg(user)); r.Code != "code-sent" {
		t.Fatalf("/link user=%s: %s", user, r.String())
	}
	mail, err := env.Wiki.WaitMail(ctxTest, len(before), "Your wikimod code:")
	if err != nil {
		t.Fatal(err)
	}
	m := mailedCode.FindStringSubmatch(mail)
	if m == nil {
		t.Fatalf("no code line in the mail:\n%s", mail)
	}
	if r := run(t, env, actor, "/link code="+m[1]); r.Code != "linked" {
		t.Fatalf("/link code=…: %s", r.String())
	}
}

// newSysop creates a wiki account in the sysop group, with an email address.
func newSysop(t *testing.T, env *testenv.Env, prefix string) string {
	t.Helper()
	name := testwait.Unique(prefix + " ")
	if err := env.Wiki.CreateUser(ctxTest, name, "Linked-sysop-pass-8080", strings.ToLower(strings.ReplaceAll(name, " ", ""))+"@example.test", true); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestLinkedSysopSignsAndLosesRightsWithTheWiki: a chat user linked to a
// sysop protects a page, and the wiki's protect log names their wiki
// account. Removed from sysop on the wiki, they keep the cached groups for
// at most rights_ttl; the first command after it is refused. Blocked on the
// wiki, they may do nothing, whatever the access rules say.
func TestLinkedSysopSignsAndLosesRightsWithTheWiki(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	const ttl = time.Minute
	env := testenv.New(t, wiki, testenv.Options{Linking: true, RightsTTL: ttl, Now: clock.Now})
	// Mapped to sysop by the access rules too: the link, not the rule, decides.
	carolChat := commands.Actor{Platform: "discord", UserID: "D-ADMIN", UserName: "carol", Channel: "C1"}
	carol := newSysop(t, env, "Carol")
	linkByMail(t, env, carolChat, carol)

	title := testwait.Unique("Linked Protect ")
	if r := run(t, env, carolChat, fmt.Sprintf(`/protect "%s" create=sysop reason="spam wave"`, title)); !r.OK() {
		t.Fatal(r.String())
	}
	page, err := env.Bot.LogEvents(ctxTest, mwLogQuery("protect"))
	if err != nil {
		t.Fatal(err)
	}
	want := "spam wave — requested by [[User:" + carol + "|" + carol + "]] on Discord via wikimod"
	found := false
	for _, ev := range page.Events {
		if ev.Title == title {
			found = ev.Comment == want
			if !found {
				t.Errorf("protect log comment = %q, want %q", ev.Comment, want)
			}
		}
	}
	if !found {
		t.Errorf("no protect log entry for %q", title)
	}
	if rec := env.LastAudit(t); rec.WikiUser != carol || rec.UserID != "D-ADMIN" {
		t.Errorf("audit = %+v, want the chat identity and the wiki account %s", rec, carol)
	}

	// Demoted on the wiki: refused at the first command once rights_ttl
	// has passed since the groups were read.
	if err := env.Wiki.SetGroups(ctxTest, carol, nil, []string{"sysop"}); err != nil {
		t.Fatal(err)
	}
	demoted := clock.Now()
	var took time.Duration
	for step := 0; step < 12; step++ {
		r := run(t, env, carolChat, fmt.Sprintf(`/protect "%s" create=sysop`, title))
		if r.Code == "missing-right:protect" {
			took = clock.Now().Sub(demoted)
			if !strings.Contains(english(r.Text), carol) {
				t.Errorf("the refusal does not name the wiki account: %s", r.Text)
			}
			break
		}
		if r.Code != "unchanged" {
			t.Fatalf("step %d: %s", step, r.String())
		}
		clock.Add(10 * time.Second)
	}
	if took == 0 || took > ttl {
		t.Fatalf("the demotion reached chat after %v of the clock, want within rights_ttl %v", took, ttl)
	}
	t.Logf("a demotion on the wiki reached chat after %v (rights_ttl %v)", took, ttl)

	// Blocked: nothing, not even a read; /whoami says why.
	if err := env.Wiki.Block(ctxTest, carol, "testing blocks"); err != nil {
		t.Fatal(err)
	}
	clock.Add(ttl)
	if r := run(t, env, carolChat, `/validatepassword password=Some-long-pass-4242`); r.Code != "blocked" || !strings.Contains(english(r.Text), "testing blocks") {
		t.Errorf("a blocked account's command: %s (%s)", r.String(), r.Code)
	}
	if r := run(t, env, carolChat, "/whoami"); !strings.Contains(r.String(), "testing blocks") {
		t.Errorf("/whoami of a blocked account: %s", r.String())
	}
}

// TestRequireLink: with require_link, a Discord role the access rules map
// to sysop grants nothing until its holder links; then the wiki account's
// rights apply.
func TestRequireLink(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true, RequireLink: true})
	mod := commands.Actor{Platform: "discord", UserID: "D-ROLE-HOLDER", UserName: "dana", Roles: []string{"R-MOD"}, Channel: "C1"}
	title := testwait.Unique("Require Link ")
	r := run(t, env, mod, fmt.Sprintf(`/protect "%s" create=sysop`, title))
	if r.Code != "not-linked" || !strings.Contains(english(r.Text), "/link user=") {
		t.Fatalf("unlinked role holder: %s (%s)", r.String(), r.Code)
	}
	if got := env.Protections(t, title); len(got) != 0 {
		t.Fatalf("the page was protected: %+v", got)
	}
	if r := run(t, env, mod, "/whoami"); !strings.Contains(r.String(), "acts only for linked people") {
		t.Errorf("/whoami unlinked: %s", r.String())
	}
	dana := newSysop(t, env, "Dana")
	linkByMail(t, env, mod, dana)
	if r := run(t, env, mod, fmt.Sprintf(`/protect "%s" create=sysop`, title)); !r.OK() {
		t.Fatalf("linked: %s", r.String())
	}

	// A linked account without the right stays refused, whatever the role.
	plain := testwait.Unique("Plain ")
	if err := env.Wiki.CreateUser(ctxTest, plain, "Plain-user-pass-5151", "plain@example.test", false); err != nil {
		t.Fatal(err)
	}
	other := commands.Actor{Platform: "discord", UserID: "D-ROLE-HOLDER-2", Roles: []string{"R-MOD"}, Channel: "C1"}
	linkByMail(t, env, other, plain)
	if r := run(t, env, other, fmt.Sprintf(`/protect "%s" edit=sysop`, title)); r.Code != "missing-right:protect" {
		t.Errorf("a linked account without protect: %s (%s)", r.String(), r.Code)
	}
}

// requestCounter counts the requests that reach the wiki.
type requestCounter struct{ n atomic.Int64 }

func (c *requestCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestWarmRightsCacheAsksTheWikiNothing: with the rights cache warm, a
// linked person's command makes exactly the wiki requests an access-rule
// person's does.
func TestWarmRightsCacheAsksTheWikiNothing(t *testing.T) {
	count := &requestCounter{}
	env := testenv.New(t, wiki, testenv.Options{Linking: true, Transport: count})
	linked := commands.Actor{Platform: "slack", UserID: "U-LINKED", Channel: "C1"}
	linkByMail(t, env, linked, newSysop(t, env, "Warm"))
	title := testwait.Unique("Warm Cache ")
	requests := func(actor commands.Actor, level string) int64 {
		before := count.n.Load()
		if r := run(t, env, actor, fmt.Sprintf(`/protect "%s" create=%s`, title, level)); !r.OK() {
			t.Fatal(r.String())
		}
		return count.n.Load() - before
	}
	requests(admin, "sysop") // warms the session, its tokens and siteinfo
	byRule := requests(admin, "autoconfirmed")
	byLink := requests(linked, "sysop")
	if byLink != byRule {
		t.Errorf("a linked person's /protect made %d wiki requests, an access-rule person's %d", byLink, byRule)
	}
	t.Logf("/protect with a warm rights cache: %d wiki requests linked, %d by access rule", byLink, byRule)
}

// TestLinkRepliesNeverHoldTheCode: the mailed code is read as people type
// it (any case, with a dash), and is in no reply and no audit record.
func TestLinkRepliesNeverHoldTheCode(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true})
	actor := commands.Actor{Platform: "console", UserID: "coder", Channel: "test"}
	user := newSysop(t, env, "Coder")
	before, _ := env.Wiki.Mail()
	r := run(t, env, actor, "/link user="+commands.QuoteArg(user))
	mail, err := env.Wiki.WaitMail(ctxTest, len(before), "Your wikimod code:")
	if err != nil {
		t.Fatal(err)
	}
	code := mailedCode.FindStringSubmatch(mail)[1]
	// Typed with the forgiving spellings people use.
	typed := strings.ToLower(code[:5]) + "-" + code[5:]
	r2 := run(t, env, actor, "/link code="+typed)
	if r2.Code != "linked" {
		t.Fatalf("code typed in lower case with a dash: %s", r2.String())
	}
	for _, reply := range []commands.Reply{r, r2} {
		if strings.Contains(reply.String(), code) {
			t.Errorf("a reply holds the code: %s", reply.String())
		}
	}
	recs, err := env.DB.Audit(ctxTest, storage.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if strings.Contains(fmt.Sprint(rec.Args), code) || strings.Contains(string(rec.Result), code) {
			t.Errorf("the audit log holds the code: %+v", rec)
		}
	}
	if recs[0].WikiUser != user || recs[0].Args["code"] != "[redacted]" {
		t.Errorf("audit of the finished link = %+v", recs[0])
	}
}

// TestLinkWhenTheBotCannotMail: a bot password without the sendemail grant
// cannot mail a code. The reply says what the operators must do and that
// the page method works, and no attempt is left that a code could finish.
func TestLinkWhenTheBotCannotMail(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true, BotGrants: []string{"basic", "protect"}})
	actor := commands.Actor{Platform: "console", UserID: "nomail", Channel: "test"}
	user := newSysop(t, env, "No Mail")
	r := run(t, env, actor, "/link user="+commands.QuoteArg(user))
	if r.Outcome != commands.OutcomeWikiError || !strings.Contains(english(r.Text), "`sendemail` grant") || !strings.Contains(english(r.Text), "method=page") {
		t.Errorf("reply = %s (%s)", r.String(), r.Code)
	}
	if r := run(t, env, actor, "/link code=ABCDE12345"); r.Code != "no-attempt" {
		t.Errorf("a code after the failed mail: %s (%s)", r.String(), r.Code)
	}
}

// givenCode is the code a /link by page reply gives, on a line of its own.
func givenCode(t *testing.T, r commands.Reply) string {
	t.Helper()
	m := mailedCode.FindStringSubmatch(strings.ReplaceAll(english(r.Text), "`", "\n"))
	if r.Code != "code-given" || m == nil {
		t.Fatalf("no code given: %s (%s)", r.String(), r.Code)
	}
	return m[1]
}

// newUser creates a wiki account without email and returns its name and
// password, to save pages as.
func newUser(t *testing.T, env *testenv.Env, prefix string, sysop bool) (string, string) {
	t.Helper()
	name, password := testwait.Unique(prefix+" "), "Page-editor-pass-"+prefix
	if err := env.Wiki.CreateUser(ctxTest, name, password, "", sysop); err != nil {
		t.Fatal(err)
	}
	return name, password
}

// TestLinkByPageCannotBeHijacked plays issue 17's attack: Mallory starts a
// link by page to Victim's account, a third account saves Mallory's code
// on Victim's page, and Victim later links by page on the same page,
// leaving the other line there. Victim is linked; Mallory's retry is
// refused, names who saved the code, and links nothing.
func TestLinkByPageCannotBeHijacked(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true})
	mallory := commands.Actor{Platform: "discord", UserID: "D-MALLORY", UserName: "mallory", Channel: "C1"}
	victimChat := commands.Actor{Platform: "slack", UserID: "U-VICTIM", UserName: "victim", Channel: "C1"}
	victim, victimPassword := newUser(t, env, "Victim", true)
	third, thirdPassword := newUser(t, env, "Third", false)
	page := "User:" + victim + "/wikimod"
	start := "/link method=page user=" + commands.QuoteArg(victim)

	malloryCode := givenCode(t, run(t, env, mallory, start))
	if err := env.Wiki.EditAs(ctxTest, third, thirdPassword, page, "Your wikimod code: "+malloryCode); err != nil {
		t.Fatal(err)
	}
	victimCode := givenCode(t, run(t, env, victimChat, start))
	if err := env.Wiki.EditAs(ctxTest, victim, victimPassword, page,
		"Your wikimod code: "+malloryCode+"\nYour wikimod code: "+victimCode); err != nil {
		t.Fatal(err)
	}
	if r := run(t, env, victimChat, start); r.Code != "linked" {
		t.Fatalf("Victim's own link: %s (%s)", r.String(), r.Code)
	}

	r := run(t, env, mallory, start)
	if r.Code != "page-not-own" || r.Outcome != commands.OutcomeDenied {
		t.Fatalf("Mallory's retry: %s (%s), want page-not-own", r.String(), r.Code)
	}
	for _, want := range []string{"first saved on `" + page + "` by `" + third + "`", "not by `" + victim + "`", "void",
		"save it on `" + page + "` yourself, logged in as `" + victim + "`"} {
		if !strings.Contains(english(r.Text), want) {
			t.Errorf("the refusal lacks %q: %s", want, r.Text)
		}
	}
	if l, ok, err := env.DB.Link(ctxTest, commands.DefaultWiki, mallory.Platform, mallory.UserID); err != nil || ok {
		t.Fatalf("Mallory is linked: %+v, %v", l, err)
	}
	if env.LastAudit(t).Code != "page-not-own" {
		t.Errorf("audit = %+v", env.LastAudit(t))
	}
	// The spoilt attempt is void: running again starts a new one.
	if r := run(t, env, mallory, start); r.Code != "code-given" {
		t.Errorf("after the refusal: %s (%s), want a new code", r.String(), r.Code)
	}
}

// TestLinkByPageCountsOnlyWhatTheAccountSavedSinceItBegan: a code counts
// only if the account itself saved the version that first held it, after
// the attempt began. Saved by another account and then kept through the
// account's own unrelated edit, or on the page before the attempt began,
// it is refused; saved by the account, it links.
func TestLinkByPageCountsOnlyWhatTheAccountSavedSinceItBegan(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true})
	other, otherPassword := newUser(t, env, "Other Editor", false)

	t.Run("saved by another, then an unrelated edit by the account", func(t *testing.T) {
		chat := commands.Actor{Platform: "console", UserID: "claimant-1", Channel: "test"}
		name, password := newUser(t, env, "Owner One", false)
		page := "User:" + name + "/wikimod"
		start := "/link method=page user=" + commands.QuoteArg(name)
		code := givenCode(t, run(t, env, chat, start))
		if err := env.Wiki.EditAs(ctxTest, other, otherPassword, page, "Your wikimod code: "+code); err != nil {
			t.Fatal(err)
		}
		if err := env.Wiki.EditAs(ctxTest, name, password, page, "Your wikimod code: "+code+"\n\nAn unrelated edit."); err != nil {
			t.Fatal(err)
		}
		r := run(t, env, chat, start)
		if r.Code != "page-not-own" || !strings.Contains(english(r.Text), "by `"+other+"`") || !strings.Contains(english(r.Text), "yourself, logged in as `"+name+"`") {
			t.Errorf("reply = %s (%s), want page-not-own naming %s", r.String(), r.Code, other)
		}
		if _, ok, _ := env.DB.Link(ctxTest, commands.DefaultWiki, chat.Platform, chat.UserID); ok {
			t.Error("linked")
		}
	})

	t.Run("saved by the account before the attempt began", func(t *testing.T) {
		chat := commands.Actor{Platform: "console", UserID: "claimant-2", Channel: "test"}
		name, password := newUser(t, env, "Owner Two", false)
		page := "User:" + name + "/wikimod"
		start := "/link method=page user=" + commands.QuoteArg(name)
		// A page the account saved with a code earlier. A code is new with
		// each attempt, so the test gives the attempt begun after the save
		// that code, as an old page reused would hold it.
		const old = "K7M2P9Q4R8"
		if err := env.Wiki.EditAs(ctxTest, name, password, page, "Your wikimod code: "+old); err != nil {
			t.Fatal(err)
		}
		givenCode(t, run(t, env, chat, start))
		a, ok, err := env.DB.LinkAttempt(ctxTest, commands.DefaultWiki, chat.Platform, chat.UserID)
		if err != nil || !ok || a.BaseRevision == 0 {
			t.Fatalf("attempt = %+v, %v, %v; want one after the page's revision", a, ok, err)
		}
		sum := sha256.Sum256(append(append([]byte(nil), a.Salt...), old...))
		a.CodeHash = sum[:]
		if err := env.DB.SaveLinkAttempt(ctxTest, a); err != nil {
			t.Fatal(err)
		}
		if err := env.Wiki.EditAs(ctxTest, name, password, page, "Your wikimod code: "+old+"\n\nSaved again."); err != nil {
			t.Fatal(err)
		}
		r := run(t, env, chat, start)
		if r.Code != "page-code-before-attempt" || !strings.Contains(english(r.Text), "before this attempt began") || !strings.Contains(english(r.Text), "yourself, logged in as `"+name+"`") {
			t.Errorf("reply = %s (%s), want page-code-before-attempt", r.String(), r.Code)
		}
		if _, ok, _ := env.DB.Link(ctxTest, commands.DefaultWiki, chat.Platform, chat.UserID); ok {
			t.Error("linked")
		}
	})

	t.Run("saved by the account", func(t *testing.T) {
		chat := commands.Actor{Platform: "console", UserID: "claimant-3", Channel: "test"}
		name, password := newUser(t, env, "Owner Three", false)
		page := "User:" + name + "/wikimod"
		start := "/link method=page user=" + commands.QuoteArg(name)
		// The page exists already, with another account's text.
		if err := env.Wiki.EditAs(ctxTest, other, otherPassword, page, "Hello."); err != nil {
			t.Fatal(err)
		}
		code := givenCode(t, run(t, env, chat, start))
		if r := run(t, env, chat, start); r.Code != "page-not-saved" || !strings.Contains(english(r.Text), "has not been saved since") {
			t.Errorf("before saving: %s (%s)", r.String(), r.Code)
		}
		if err := env.Wiki.EditAs(ctxTest, name, password, page, "Hello.\n\nYour wikimod code: "+code); err != nil {
			t.Fatal(err)
		}
		// Someone else's edit after it does not spoil it.
		if err := env.Wiki.EditAs(ctxTest, other, otherPassword, page, "Hello!\n\nYour wikimod code: "+code); err != nil {
			t.Fatal(err)
		}
		if r := run(t, env, chat, start); r.Code != "linked" {
			t.Errorf("reply = %s (%s), want linked", r.String(), r.Code)
		}
	})
}

// mailsTo counts the link mails in mail that went to the wiki account
// name.
func mailsTo(mail, name string) int {
	return strings.Count(mail, "to your wiki account, "+name+".")
}

// TestLinkMailsAreLimited: twenty /link at once from one chat user to one
// account make the wiki send one mail; the others are refused, audited
// with the limit's name, and say when to try again. A restart (a new
// service on the same database) keeps the limits, for another chat user
// too; after the interval one more mail goes, and the daily caps of an
// account and of a chat user hold.
func TestLinkMailsAreLimited(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	env := testenv.New(t, wiki, testenv.Options{Linking: true, Now: clock.Now})
	victim := newSysop(t, env, "Mail Victim")
	flooder := commands.Actor{Platform: "discord", UserID: "D-FLOODER", UserName: "flooder", Channel: "C1"}
	line := "/link user=" + commands.QuoteArg(victim)
	before, err := env.Wiki.Mail()
	if err != nil {
		t.Fatal(err)
	}

	const burst = 20
	first := clock.Now()
	replies := make(chan commands.Reply, burst)
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() { replies <- env.Service.ExecuteLine(ctxTest, flooder, line) })
	}
	wg.Wait()
	close(replies)
	codes := map[string]int{}
	retry := first.Add(commands.LinkMailInterval).UTC().Format("2006-01-02 15:04") + " UTC (in 5 minutes)"
	for r := range replies {
		codes[r.Code]++
		if r.Code != "code-sent" && (r.Outcome != commands.OutcomeDenied || !strings.Contains(english(r.Text), retry) || !strings.Contains(english(r.Text), "at most one link mail every 5 minutes")) {
			t.Errorf("refusal = %s (%s), want one saying to try again after %s", r.String(), r.Code, retry)
		}
	}
	if codes["code-sent"] != 1 || codes["mail-limit:account-interval"] != burst-1 {
		t.Fatalf("replies by code: %v, want 1 code-sent and %d mail-limit:account-interval", codes, burst-1)
	}
	if n := wikiRequests(env, "emailuser"); n != 1 {
		t.Fatalf("%v emailuser requests, want 1", n)
	}
	mail, err := env.Wiki.WaitMail(ctxTest, len(before), "to your wiki account, "+victim+".")
	if err != nil {
		t.Fatal(err)
	}
	if n := mailsTo(mail, victim); n != 1 {
		t.Errorf("%d mails to %s, want 1", n, victim)
	}
	recs, err := env.DB.Audit(ctxTest, storage.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]int{}
	for _, rec := range recs {
		audited[rec.Code]++
	}
	if audited["mail-limit:account-interval"] != burst-1 || audited["code-sent"] != 1 {
		t.Errorf("audit codes: %v", audited)
	}

	// A restart: a new service on the same database file.
	db, err := storage.Open(env.DBPath, storage.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	policy, err := commands.NewPolicy(testenv.DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := commands.New(commands.Config{Wikis: []*commands.Wiki{{Name: commands.DefaultWiki, Client: env.Bot, Reset: env.Anon}},
		Policy: policy, Identity: commands.IdentityConfig{Links: db}, Audit: db, Now: clock.Now, Observe: env.Metrics.ObserveCommand})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(ctxTest) })
	again := func(actor commands.Actor, user, want string) commands.Reply {
		t.Helper()
		r := svc.ExecuteLine(ctxTest, actor, "/link user="+commands.QuoteArg(user))
		if r.Code != want {
			t.Fatalf("/link user=%s by %s at +%v: %s (%s), want %s", user, actor.UserID, clock.Now().Sub(first), r.String(), r.Code, want)
		}
		return r
	}
	other := commands.Actor{Platform: "slack", UserID: "U-OTHER", Channel: "C1"}
	again(flooder, victim, "mail-limit:account-interval")
	again(other, victim, "mail-limit:account-interval")

	// After the interval, one more; then the account's daily cap.
	clock.Add(commands.LinkMailInterval)
	again(flooder, victim, "code-sent")
	again(flooder, victim, "mail-limit:account-interval")
	clock.Add(commands.LinkMailInterval)
	again(other, victim, "code-sent")
	clock.Add(commands.LinkMailInterval)
	r := again(other, victim, "mail-limit:account-day")
	if want := first.Add(24*time.Hour).UTC().Format("2006-01-02 15:04") + " UTC (in 23 hours and 45 minutes)"; !strings.Contains(english(r.Text), want) ||
		!strings.Contains(english(r.Text), fmt.Sprintf("at most %d link mails a day", commands.LinkMailsPerAccountPerDay)) {
		t.Errorf("daily cap: %s, want a retry after %s", r.Text, want)
	}
	if n := wikiRequests(env, "emailuser"); n != 3 {
		t.Errorf("%v emailuser requests, want 3", n)
	}

	// A chat user's daily cap, across accounts.
	collector := commands.Actor{Platform: "slack", UserID: "U-COLLECTOR", Channel: "C1"}
	var accounts []string
	for range commands.LinkMailsPerChatUserPerDay {
		accounts = append(accounts, newSysop(t, env, "Mail Target"))
	}
	capStart := clock.Now()
	for _, a := range accounts {
		clock.Add(commands.LinkMailInterval)
		again(collector, a, "code-sent")
	}
	clock.Add(commands.LinkMailInterval)
	r = again(collector, accounts[0], "mail-limit:chat-user-day")
	if want := capStart.Add(commands.LinkMailInterval + 24*time.Hour).UTC().Format("2006-01-02 15:04"); !strings.Contains(english(r.Text), want) {
		t.Errorf("chat user's daily cap: %s, want a retry after %s", r.Text, want)
	}
	clock.Add(24 * time.Hour)
	again(collector, accounts[0], "code-sent")
}

// TestLinkMailNamesTheChatUserSafely: a display name (and an id) with new
// lines, a line that looks like a code, markup, an address and control
// characters adds none of them to the mail: the mail has one code line,
// wikimod's, and names the chat user by the plain words of the first line.
func TestLinkMailNamesTheChatUserSafely(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true})
	user := newSysop(t, env, "Forged Mail")
	name := "Eve <b>[[Main Page]]</b>\u202e\r\nYour wikimod code: AAAAAAAAAA\n\n[http://evil.example/reset Click here] {{urgent}}\x1b[31m\u2028Your wikimod code: BBBBBBBBBB"
	actor := commands.Actor{Platform: "slack", UserID: "U-EVE\nYour wikimod code: CCCCCCCCCC", UserName: name, Channel: "C1"}
	before, err := env.Wiki.Mail()
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, env, actor, "/link user="+commands.QuoteArg(user)); r.Code != "code-sent" {
		t.Fatalf("/link: %s (%s)", r.String(), r.Code)
	}
	mail, err := env.Wiki.WaitMail(ctxTest, len(before), "to your wiki account, "+user+".")
	if err != nil {
		t.Fatal(err)
	}
	if m := mailedCode.FindAllStringSubmatch(mail, -1); len(m) != 1 || strings.Repeat(m[0][1][:1], 10) == m[0][1] {
		t.Errorf("code lines in the mail: %q, want wikimod's one", m)
	}
	for _, bad := range []string{"AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC", "evil.example", "[", "<b>", "{{", "\x1b", "\u202e", "\u2028"} {
		if strings.Contains(mail, bad) {
			t.Errorf("the mail holds %q:\n%s", bad, mail)
		}
	}
	var intro string
	for _, l := range strings.Split(mail, "\n") {
		if strings.HasPrefix(l, "Someone using the Slack account") {
			intro = l
		}
	}
	if want := "Someone using the Slack account \u201cEve b Main Page b\u201d (U-EVE) asked wikimod to link it to your wiki account, " + user + "."; intro != want {
		t.Errorf("the line naming the chat user = %q, want %q", intro, want)
	}
}

// TestWhoamiShowsALinkInProgressInPlainWords: /whoami tells of a link
// begun and not finished, and what finishes it; the console's replies and
// mail name it "your console account", not "your the console account".
func TestWhoamiShowsALinkInProgressInPlainWords(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true})
	user := newSysop(t, env, "Whoami Pending")
	actor := commands.Actor{Platform: "console", UserID: "pending", Channel: "test"}
	if r := run(t, env, actor, "/link user="+commands.QuoteArg(user)+" method=page"); r.Outcome != commands.OutcomeOK {
		t.Fatalf("/link method=page: %s", r.String())
	}
	r := run(t, env, actor, "/whoami")
	if !r.OK() || !strings.Contains(r.String(), "Link in progress: to `"+user+"` by page") || !strings.Contains(r.String(), "User:"+user+"/wikimod") {
		t.Errorf("/whoami does not show the link in progress:\n%s", r.String())
	}
	before, err := env.Wiki.Mail()
	if err != nil {
		t.Fatal(err)
	}
	mailer := commands.Actor{Platform: "console", UserID: "mailer", Channel: "test"}
	linkByMail(t, env, mailer, newSysop(t, env, "Whoami Mailed"))
	all, err := env.Wiki.Mail()
	if err != nil {
		t.Fatal(err)
	}
	if mail := all[len(before):]; !strings.Contains(mail, "Someone using the console account") || strings.Contains(mail, "the the") {
		t.Errorf("the mail names the console badly:\n%s", mail)
	}
	if rec := env.LastAudit(t); rec.Code != "linked" {
		t.Fatalf("last audit %+v", rec)
	}
	r = run(t, env, mailer, "/whoami")
	if strings.Contains(r.String(), "Link in progress") {
		t.Errorf("a finished link still shows as in progress:\n%s", r.String())
	}
}

// TestWhoamiSaysWhichLanguageAndWhy: /whoami names the language wikimod
// answers the person in and where it came from: their platform's, or,
// with none, the wiki's own.
func TestWhoamiSaysWhichLanguageAndWhy(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true})
	language := func(actor commands.Actor) string {
		t.Helper()
		r := run(t, env, actor, "/whoami")
		for _, f := range r.Fields {
			if english(f.Label) == "Language" {
				return english(f.Value)
			}
		}
		t.Fatalf("/whoami has no Language field:\n%s", r.String())
		return ""
	}
	zh := commands.Actor{Platform: "discord", UserID: "D-ZH", Channel: "C1", Locale: "zh-hans"}
	if got, want := language(zh), "中文（简体） (`zh-hans`), the language Discord gives for you"; !strings.HasPrefix(got, want) {
		t.Errorf("with Discord's locale: %q, want %q", got, want)
	}
	plain := commands.Actor{Platform: "console", UserID: "plain", Channel: "test"}
	if got, want := language(plain), "English (`en`), the wiki's own language"; !strings.HasPrefix(got, want) {
		t.Errorf("with no locale: %q, want %q", got, want)
	}
}

// TestLinkRepliesHaveNoEnglish renders in qqx every reply of /link,
// /unlink and /whoami, and the refusals of who may do what, and fails on
// any word that did not come from the catalogue.
func TestLinkRepliesHaveNoEnglish(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	env := testenv.New(t, wiki, testenv.Options{Linking: true, Now: clock.Now})
	mod := newSysop(t, env, "Qqx Mod")
	paged, pagedPassword := newUser(t, env, "Qqx Paged", false)
	blocked := newSysop(t, env, "Qqx Blocked")
	if err := env.Wiki.Block(ctxTest, blocked, "qqx"); err != nil {
		t.Fatal(err)
	}
	actor := commands.Actor{Platform: "discord", UserID: "D-QQX", UserName: "quinn", Channel: "C1"}
	// What replies show as it is: names and codes the test gave, the
	// platform's name, the language's own name, and the wiki's rights.
	given := append(specWords(env.Service), mod, paged, blocked, "Qqx Nobody", "quinn", "D-QQX", nobody.UserID, "Admin", "qqx", "bogus", "WRONGCODE1",
		"User:"+paged+"/wikimod", "Discord", "discord", i18n.Autonym("en"), "en")
	site, err := env.Bot.SiteInfo(ctxTest)
	if err != nil {
		t.Fatal(err)
	}
	for _, rights := range site.GroupRights {
		given = append(given, rights...)
	}
	check := func(a commands.Actor, line, code string) {
		t.Helper()
		r := run(t, env, a, line)
		if r.Code != code {
			t.Errorf("%s: %s (%s), want %s", line, r.String(), r.Code, code)
		}
		words := given
		if r.Code == "code-given" {
			words = append(slices.Clone(given), givenCode(t, r))
		}
		noEnglish(t, line, r, words...)
	}
	check(actor, "/whoami", "")
	check(nobody, `/protect "Qqx Page" create=sysop`, "unmapped")
	check(helper, `/protect "Qqx Page" create=sysop`, "missing-right:protect")
	check(actor, "/link", "usage")
	check(actor, "/link user=X code=Y", "usage")
	check(actor, "/link user=X method=bogus", "usage")
	check(actor, `/link user="Qqx Nobody"`, "no-such-user")
	check(actor, "/link user="+commands.QuoteArg(blocked), "blocked")
	check(actor, "/link user="+commands.QuoteArg(paged), "no-email")
	check(actor, "/link code=WRONGCODE1", "no-attempt")

	before, err := env.Wiki.Mail()
	if err != nil {
		t.Fatal(err)
	}
	check(actor, "/link user="+commands.QuoteArg(mod), "code-sent")
	mail, err := env.Wiki.WaitMail(ctxTest, len(before), "Your wikimod code:")
	if err != nil {
		t.Fatal(err)
	}
	code := mailedCode.FindStringSubmatch(mail)[1]
	check(actor, "/whoami", "")
	check(actor, "/link user="+commands.QuoteArg(mod), "mail-limit:account-interval")
	check(actor, "/link code=WRONGCODE1", "wrong-code")
	check(actor, "/link code="+code, "linked")
	check(actor, "/whoami", "")
	check(actor, "/link user="+commands.QuoteArg(mod), "already-linked")
	check(actor, "/unlink", "unlinked")
	check(actor, "/unlink", "not-linked")

	start := "/link user=" + commands.QuoteArg(paged) + " method=page"
	check(actor, start, "code-given")
	check(actor, "/whoami", "")
	check(actor, start, "page-missing")
	check(actor, "/link code=WRONGCODE1", "page-method")
	if err := env.Wiki.EditAs(ctxTest, mod, "Linked-sysop-pass-8080", "User:"+paged+"/wikimod", "Your wikimod code: WRONGCODE1"); err != nil {
		t.Fatal(err)
	}
	check(actor, start, "wrong-code")
	if err := env.Wiki.EditAs(ctxTest, paged, pagedPassword, "User:"+paged+"/wikimod", "Something else."); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		check(actor, start, "wrong-code")
	}
	check(actor, start, "too-many-wrong-codes")
	check(actor, start, "code-given")
	clock.Add(16 * time.Minute)
	check(actor, "/link user="+commands.QuoteArg(mod), "code-sent")
	clock.Add(16 * time.Minute)
	check(actor, "/link code=WRONGCODE1", "code-expired")
}
