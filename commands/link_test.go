package commands_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
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
		t.Fatalf("/link user=%s: %s", user, r.Plain())
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
		t.Fatalf("/link code=…: %s", r.Plain())
	}
}

// newSysop creates a wiki account in the sysop group, with an email address.
func newSysop(t *testing.T, env *testenv.Env, prefix string) string {
	t.Helper()
	name := uniq(prefix)
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
	carolChat := commands.Actor{Platform: commands.PlatformDiscord, UserID: "D-ADMIN", UserName: "carol", Channel: "C1"}
	carol := newSysop(t, env, "Carol")
	linkByMail(t, env, carolChat, carol)

	title := uniq("Linked Protect")
	if r := run(t, env, carolChat, fmt.Sprintf(`/protect "%s" create=sysop reason="spam wave"`, title)); !r.OK() {
		t.Fatal(r.Plain())
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
			if !strings.Contains(r.Text, carol) {
				t.Errorf("the refusal does not name the wiki account: %s", r.Text)
			}
			break
		}
		if r.Code != "unchanged" {
			t.Fatalf("step %d: %s", step, r.Plain())
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
	if r := run(t, env, carolChat, `/validatepassword password=Some-long-pass-4242`); r.Code != "blocked" || !strings.Contains(r.Text, "testing blocks") {
		t.Errorf("a blocked account's command: %s (%s)", r.Plain(), r.Code)
	}
	if r := run(t, env, carolChat, "/whoami"); !strings.Contains(r.Plain(), "testing blocks") {
		t.Errorf("/whoami of a blocked account: %s", r.Plain())
	}
}

// TestRequireLink: with require_link, a Discord role the access rules map
// to sysop grants nothing until its holder links; then the wiki account's
// rights apply.
func TestRequireLink(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true, RequireLink: true})
	mod := commands.Actor{Platform: commands.PlatformDiscord, UserID: "D-ROLE-HOLDER", UserName: "dana", Roles: []string{"R-MOD"}, Channel: "C1"}
	title := uniq("Require Link")
	r := run(t, env, mod, fmt.Sprintf(`/protect "%s" create=sysop`, title))
	if r.Code != "not-linked" || !strings.Contains(r.Text, "/link user=") {
		t.Fatalf("unlinked role holder: %s (%s)", r.Plain(), r.Code)
	}
	if got := env.Protections(t, title); len(got) != 0 {
		t.Fatalf("the page was protected: %+v", got)
	}
	if r := run(t, env, mod, "/whoami"); !strings.Contains(r.Plain(), "acts only for linked people") {
		t.Errorf("/whoami unlinked: %s", r.Plain())
	}
	dana := newSysop(t, env, "Dana")
	linkByMail(t, env, mod, dana)
	if r := run(t, env, mod, fmt.Sprintf(`/protect "%s" create=sysop`, title)); !r.OK() {
		t.Fatalf("linked: %s", r.Plain())
	}

	// A linked account without the right stays refused, whatever the role.
	plain := uniq("Plain")
	if err := env.Wiki.CreateUser(ctxTest, plain, "Plain-user-pass-5151", "plain@example.test", false); err != nil {
		t.Fatal(err)
	}
	other := commands.Actor{Platform: commands.PlatformDiscord, UserID: "D-ROLE-HOLDER-2", Roles: []string{"R-MOD"}, Channel: "C1"}
	linkByMail(t, env, other, plain)
	if r := run(t, env, other, fmt.Sprintf(`/protect "%s" edit=sysop`, title)); r.Code != "missing-right:protect" {
		t.Errorf("a linked account without protect: %s (%s)", r.Plain(), r.Code)
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
	linked := commands.Actor{Platform: commands.PlatformSlack, UserID: "U-LINKED", Channel: "C1"}
	linkByMail(t, env, linked, newSysop(t, env, "Warm"))
	title := uniq("Warm Cache")
	requests := func(actor commands.Actor, level string) int64 {
		before := count.n.Load()
		if r := run(t, env, actor, fmt.Sprintf(`/protect "%s" create=%s`, title, level)); !r.OK() {
			t.Fatal(r.Plain())
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
	actor := commands.Actor{Platform: commands.PlatformConsole, UserID: "coder", Channel: "test"}
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
		t.Fatalf("code typed in lower case with a dash: %s", r2.Plain())
	}
	for _, reply := range []commands.Reply{r, r2} {
		if strings.Contains(reply.Plain(), code) {
			t.Errorf("a reply holds the code: %s", reply.Plain())
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
	actor := commands.Actor{Platform: commands.PlatformConsole, UserID: "nomail", Channel: "test"}
	user := newSysop(t, env, "No Mail")
	r := run(t, env, actor, "/link user="+commands.QuoteArg(user))
	if r.Outcome != commands.OutcomeWikiError || !strings.Contains(r.Text, "`sendemail` grant") || !strings.Contains(r.Text, "method=page") {
		t.Errorf("reply = %s (%s)", r.Plain(), r.Code)
	}
	if r := run(t, env, actor, "/link code=ABCDE12345"); r.Code != "no-attempt" {
		t.Errorf("a code after the failed mail: %s (%s)", r.Plain(), r.Code)
	}
}
