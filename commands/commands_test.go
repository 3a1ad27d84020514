package commands_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// wiki is the test wiki; wiki2 a second one, for the tests of a farm.
var wiki, wiki2 *devwiki.Wiki

func TestMain(m *testing.M) { os.Exit(devwiki.Main(m, &wiki, &wiki2)) }

var (
	admin   = commands.Actor{Platform: "console", UserID: "admin", UserName: "admin", Channel: "test"}
	helper  = commands.Actor{Platform: "console", UserID: "helper", Channel: "test"}
	nobody  = commands.Actor{Platform: "console", UserID: "mallory", Channel: "test"}
	ctxTest = context.Background()
)

func run(t *testing.T, env *testenv.Env, actor commands.Actor, line string) commands.Reply {
	t.Helper()
	return env.Service.ExecuteLine(ctxTest, actor, line)
}

func wikiRequests(env *testenv.Env, action string) float64 {
	return env.Metrics.Value("wikimod_wiki_requests_total", "action", action)
}

func TestProtectSetsWhatTheWikiReports(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	r := run(t, env, admin, `/protect "Svc Protect One" create=sysop expiry="2 days" reason="spam wave"`)
	if !r.OK() {
		t.Fatalf("reply = %+v", r)
	}
	got := env.Protections(t, "Svc Protect One")
	if got["create"].Level != "sysop" {
		t.Fatalf("wiki protections = %+v", got)
	}
	if r.Protect == nil || len(r.Protect.Protections) != 1 || r.Protect.Protections[0].Expiry != got["create"].Expiry {
		t.Fatalf("reply protections %+v differ from the wiki's %+v", r.Protect, got)
	}
	if !strings.Contains(r.String(), shown(got["create"].Expiry)) || !strings.Contains(r.String(), "spam wave") || !r.Announce {
		t.Errorf("reply does not show the absolute expiry and reason, or is not announced:\n%s", r.String())
	}
	rec := env.LastAudit(t)
	if rec.Outcome != commands.OutcomeOK || rec.Command != "protect" || rec.UserID != "admin" || rec.Platform != "console" {
		t.Errorf("audit = %+v", rec)
	}
	if rec.Args["create"] != "sysop" || rec.Args["_"] != "Svc Protect One" || !strings.Contains(string(rec.Result), got["create"].Expiry) {
		t.Errorf("audit args/result = %v %s", rec.Args, rec.Result)
	}
}

func TestProtectPerActionExpiriesAndCascade(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	r := run(t, env, admin, `/protect Main Page edit=sysop move=autoconfirmed edit_expiry="1 day" move_expiry=infinite cascade`)
	if !r.OK() {
		t.Fatalf("reply = %s", r.String())
	}
	got := env.Protections(t, "Main Page")
	if got["edit"].Level != "sysop" || !got["edit"].Cascade || got["move"].Level != "autoconfirmed" || got["move"].Expiry != "infinity" {
		t.Fatalf("wiki protections = %+v", got)
	}
	exp, err := time.Parse(time.RFC3339, got["edit"].Expiry)
	if err != nil || time.Until(exp) > 25*time.Hour || time.Until(exp) < 23*time.Hour {
		t.Errorf("edit expiry %q is not a day away", got["edit"].Expiry)
	}
	// Lifting: all removes a protection.
	r = run(t, env, admin, `/protect "Main Page" edit=all move=all`)
	if !r.OK() || !strings.Contains(r.String(), "Lifted: Edit (edit) and Move (move).") {
		t.Fatalf("lift reply = %s", r.String())
	}
	if got := env.Protections(t, "Main Page"); len(got) != 0 {
		t.Errorf("protections after lifting = %+v", got)
	}
}

func TestProtectRejectsBadInputAndChangesNothing(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	if r := run(t, env, admin, `/protect "Svc Bad Input" create=autoconfirmed expiry="3 days"`); !r.OK() {
		t.Fatal(r.String())
	}
	before := env.Protections(t, "Svc Bad Input")
	cases := []struct {
		line, outcome, code, says string
		reachesWiki               bool
	}{
		{`/protect "Svc Bad Input" create=bogus`, "invalid", "protect-invalidlevel", "Its levels are autoconfirmed (autoconfirmed) and sysop (sysop)", false},
		{`/protect "Svc Bad Input" delete=sysop`, "invalid", "usage", "`edit=LEVEL`", false},
		{`/protect "Svc Bad Input" expiry="1 week"`, "invalid", "usage", "Say which protection", false},
		{`/protect edit=sysop`, "invalid", "usage", "Which page?", false},
		{`/protect "Svc Bad Input" create=sysop expiry=`, "invalid", "usage", "expiry=", false},
		{`/protect "Svc Bad Input" create=sysop cascade=perhaps`, "invalid", "usage", "yes or no", false},
		{`/protect "Svc Bad Input" create=autoconfirmed cascade`, "invalid", "usage", "cascading", false},
		{`/protect "Svc Bad Input" create=sysop expiry="2001-01-01T00:00:00Z"`, "wiki_error", "pastexpiry", "in the past", true},
		{`/protect "Svc Bad Input" create=sysop expiry="when pigs fly"`, "wiki_error", "invalidexpiry", "duration", true},
		{`/protect "Svc Bad Input" edit=sysop`, "wiki_error", "missingtitle-createonly", "only `create`", true},
		{`/protect "Main Page" create=sysop`, "wiki_error", "create-titleexists", "exists", true},
		// The read of the page's current protection finds the title invalid.
		{`/protect "Bad[Title]" edit=sysop`, "wiki_error", "invalidtitle", "not a valid page title", false},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			n := wikiRequests(env, "protect")
			r := run(t, env, admin, tc.line)
			if string(r.Outcome) != tc.outcome || r.Code != tc.code || !strings.Contains(english(r.Text), tc.says) {
				t.Errorf("reply = %s/%s %q, want %s/%s saying %q", r.Outcome, r.Code, r.Text, tc.outcome, tc.code, tc.says)
			}
			if sent := wikiRequests(env, "protect") - n; (sent > 0) != tc.reachesWiki {
				t.Errorf("sent %v protect requests; reaching the wiki expected: %v", sent, tc.reachesWiki)
			}
			if rec := env.LastAudit(t); string(rec.Outcome) != tc.outcome || rec.Code != tc.code {
				t.Errorf("audit = %s/%s", rec.Outcome, rec.Code)
			}
		})
	}
	if after := env.Protections(t, "Svc Bad Input"); after["create"] != before["create"] || len(after) != len(before) {
		t.Errorf("protections changed from %+v to %+v", before, after)
	}
}

func TestDenials(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	cases := []struct {
		actor commands.Actor
		line  string
		code  string
	}{
		{nobody, x(t, `/protect "Svc Denied SFX" create=sysop`), "unmapped"},
		{nobody, `/validatepassword password=whatever-long-1`, "unmapped"},
		{helper, x(t, `/protect "Svc Denied SFX" create=sysop`), "missing-right:protect"},
		{commands.Actor{Platform: "discord", UserID: "admin"}, x(t, `/protect "Svc Denied SFX" create=sysop`), "unmapped"},
	}
	for _, tc := range cases {
		n := wikiRequests(env, "protect")
		r := run(t, env, tc.actor, tc.line)
		if r.Outcome != commands.OutcomeDenied || r.Code != tc.code {
			t.Errorf("%v %s: reply %s/%s, want denied/%s", tc.actor, tc.line, r.Outcome, r.Code, tc.code)
		}
		if tc.code == "missing-right:protect" && !strings.Contains(english(r.Text), "`protect`") {
			t.Errorf("denial %q does not name the missing right", r.Text)
		}
		if wikiRequests(env, "protect") != n {
			t.Errorf("a denied command reached the wiki")
		}
		if rec := env.LastAudit(t); rec.Outcome != commands.OutcomeDenied || rec.UserID != tc.actor.UserID {
			t.Errorf("denial not audited: %+v", rec)
		}
	}
	if got := env.Protections(t, x(t, "Svc Denied SFX")); len(got) != 0 {
		t.Errorf("denied protect changed the wiki: %+v", got)
	}
	// A sysop level needs editprotected on top of protect: a right override
	// shows the level check is separate from the command's own right.
	env2 := testenv.New(t, wiki, testenv.Options{Rights: map[string]string{"protect": "editsemiprotected"}})
	if r := run(t, env2, helper, x(t, `/protect "Svc Denied SFX" create=autoconfirmed expiry="1 hour"`)); !r.OK() {
		t.Errorf("helper with the overridden right: %s", r.String())
	}
	if r := run(t, env2, helper, x(t, `/protect "Svc Denied SFX" create=sysop`)); r.Code != "missing-right:editprotected" {
		t.Errorf("sysop level without editprotected: %s/%s", r.Outcome, r.Code)
	}
}

func TestValidatePassword(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	long := strings.Repeat("x", 5000)
	cases := []struct {
		line, title, field string
		outcome            commands.Outcome
	}{
		{`/validatepassword password="correct horse battery staple 42" user="Svc New One"`, "accepts this password for the new account Svc New One.", "", "ok"},
		// Any rule broken blocks a new account, though the wiki would only
		// ask an existing one to change it at login.
		{`/validatepassword password=password user="Svc New One"`, "would refuse to create the account Svc New One", "passwordincommonlist", "ok"},
		{`/validatepassword password=Zedekiah1 user=Zedekiah1x`, "would refuse to create the account Zedekiah1x", "", "ok"},
		{`/validatepassword password=password`, "would ask for it to be changed at login", "passwordincommonlist", "ok"},
		{`/validatepassword password=` + long, "rejects this password", "passwordtoolong", "ok"},
		{`/validatepassword password=whatever-long-1 user=Admin`, "", "", "wiki_error"},
		{`/validatepassword user=Someone`, "", "", "invalid"},
		{`/validatepassword hunter2-typed-bare`, "", "", "invalid"},
	}
	for _, tc := range cases {
		r := run(t, env, admin, tc.line)
		if r.Outcome != tc.outcome {
			t.Errorf("%.60s: outcome %s (%s), want %s", tc.line, r.Outcome, r.String(), tc.outcome)
			continue
		}
		if tc.title != "" && !strings.Contains(english(r.Title), strings.Replace(tc.title, "asked for it", "would ask for it", 1)) && !strings.Contains(english(r.Title), tc.title) {
			t.Errorf("%.60s: title %q, want %q", tc.line, r.Title, tc.title)
		}
		if tc.field != "" && !slices.ContainsFunc(r.Fields, func(f commands.Field) bool {
			return english(f.Label) == tc.field
		}) {
			t.Errorf("%.60s: fields %+v, want %s", tc.line, r.Fields, tc.field)
		}
		if strings.Contains(r.String(), "hunter2-typed-bare") || strings.Contains(r.String(), "correct horse") || strings.Contains(r.String(), "Zedekiah1 ") {
			t.Errorf("reply echoes the password: %s", r.String())
		}
		if strings.Contains(r.String(), "[redacted]") {
			t.Errorf("the wiki's text was rewritten: %s", r.String())
		}
	}
	// What /validatepassword promised holds for /createaccount.
	if r := run(t, env, admin, `/createaccount username=Zedekiah1x password=Zedekiah1`); r.OK() || r.Code == "" {
		t.Errorf("createaccount after the check refused it: %s", r.String())
	}
	if r := run(t, env, admin, `/validatepassword password=whatever-long-1 user=Admin`); r.Code != "userexists" || !strings.Contains(english(r.Text), "`user=` must be a name nobody has yet") {
		t.Errorf("existing user: %s/%s %q", r.Outcome, r.Code, r.Text)
	}

	// In any language: the replies' own words from the catalogue, the rules
	// in the wiki's words (its texts, as the wiki wrote them), and a
	// refusal with the advice /validatepassword carries.
	reader := admin
	reader.Locale = "qqx"
	for _, line := range []string{
		`/validatepassword password="correct horse battery staple 42" user="Svc New One"`,
		`/validatepassword password=password user="Svc New One"`,
		`/validatepassword password=password`,
		`/validatepassword password=Zedekiah1-long`,
		`/validatepassword user=Someone`,
	} {
		r := run(t, env, reader, line)
		given := append(usageLines(env.Service), "Svc New One")
		for _, f := range r.Fields {
			given = append(given, english(f.Label), english(f.Value))
		}
		noEnglish(t, line, r, given...)
	}
	if r := run(t, env, reader, `/validatepassword password=whatever-long-1 user=Admin`); !strings.Contains(r.String(), "(wikimod-error-userexists-validatepassword)") {
		t.Errorf("existing user, in qqx: %s", r.String())
	}
}

func TestCreateAccount(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	ctx := context.Background()

	r := run(t, env, admin, x(t, `/createaccount username="Svc Created SFX" password="Svc-created-password-42" realname="Svc Person" reason="joined via chat"`))
	if !r.OK() || !strings.Contains(english(r.Title), x(t, "Svc Created SFX")) {
		t.Fatalf("create: %s", r.String())
	}
	if groups, err := env.Bot.UserGroups(ctx, x(t, "Svc Created SFX")); err != nil || groups[x(t, "Svc Created SFX")] == nil {
		t.Fatalf("account not on the wiki: %v %v", groups, err)
	}
	// The wiki accepts the password: log in with it through a client of our own.
	if rec := env.LastAudit(t); rec.Args["password"] != "[redacted]" || rec.Outcome != commands.OutcomeOK {
		t.Errorf("audit args = %v", rec.Args)
	}

	mailBefore, _ := env.Wiki.Mail()
	r = run(t, env, admin, x(t, `/createaccount username="Svc Mailed SFX" email=svc.mailed.SFX@example.test`))
	if !r.OK() || !strings.Contains(english(r.Text), x(t, "svc.mailed.SFX@example.test")) {
		t.Fatalf("create with mailpassword: %s", r.String())
	}
	if _, err := env.Wiki.WaitMail(ctx, len(mailBefore), x(t, `"Svc Mailed SFX"`)); err != nil {
		t.Errorf("temporary-password mail: %v", err)
	}

	cases := []struct {
		line, outcome, code, says string
	}{
		{x(t, `/createaccount username="Svc Created SFX" password="Another-password-99"`), "wiki_error", "userexists", "already taken"},
		{x(t, `/createaccount username="Svc Weak SFX" password=password`), "wiki_error", "passwordincommonlist", "list of very commonly used passwords"},
		{x(t, `/createaccount username="Svc NoMail SFX"`), "invalid", "usage", "email="},
		{`/createaccount email=a@example.test`, "invalid", "usage", "Which user name"},
		{`/createaccount username=X nickname=Y email=a@example.test`, "invalid", "usage", "has no `nickname=`"},
		{x(t, `/createaccount username="Svc Bad Mail SFX" email=not-an-address`), "wiki_error", "", ""},
	}
	for _, tc := range cases {
		r := run(t, env, admin, tc.line)
		if string(r.Outcome) != tc.outcome || (tc.code != "" && r.Code != tc.code) || !strings.Contains(english(r.Text), tc.says) {
			t.Errorf("%s: %s/%s %q, want %s/%s saying %q", tc.line, r.Outcome, r.Code, r.Text, tc.outcome, tc.code, tc.says)
		}
		if strings.Contains(r.String(), "Another-password-99") {
			t.Errorf("reply echoes the password")
		}
	}
	if groups, _ := env.Bot.UserGroups(ctx, x(t, "Svc Weak SFX"), x(t, "Svc NoMail SFX")); len(groups) != 0 {
		t.Errorf("failed creations left accounts: %v", groups)
	}

	// In any language: the replies' own words from the catalogue, and
	// refusals with the advice /createaccount carries.
	reader := admin
	reader.Locale = "qqx"
	given := append(usageLines(env.Service), x(t, "Svc Qqx SFX"), x(t, "Svc Qqx Mailed SFX"), x(t, "svc.qqx.SFX@example.test"))
	for _, line := range []string{
		x(t, `/createaccount username="Svc Qqx SFX" password="Svc-qqx-password-42"`),
		x(t, `/createaccount username="Svc Qqx Mailed SFX" email=svc.qqx.SFX@example.test`),
		x(t, `/createaccount username="Svc NoMail SFX"`),
		`/createaccount email=a@example.test`,
	} {
		r := run(t, env, reader, line)
		noEnglish(t, line, r, given...)
	}
	r = run(t, env, reader, x(t, `/createaccount username="Svc Created SFX" password="Another-password-99"`))
	if r.Code != "userexists" || !strings.Contains(r.String(), "(wikimod-error-userexists-createaccount)") {
		t.Errorf("existing user, in qqx: %s", r.String())
	}
	r = run(t, env, reader, x(t, `/createaccount username="Svc Weak SFX" password=password`))
	if !strings.Contains(r.String(), "(wikimod-createaccount-policy-refused)") || !strings.Contains(r.String(), "(wikimod-error-passwordincommonlist)") {
		t.Errorf("weak password, in qqx: %s", r.String())
	}
}

// usageLines are the usage lines of the service's commands, which a reply
// may show as they are: they are typed, not read. (Unlike specWords, no
// parameter name alone, which would take the same word out of a key.)
func usageLines(svc *commands.Service) []string {
	var out []string
	for _, sp := range svc.Specs() {
		out = append(out, sp.Usage)
	}
	return out
}

func TestResetPassword(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	ctx := context.Background()
	if err := env.Wiki.CreateUser(ctx, x(t, "Svc Reset One SFX"), "Svc-reset-one-pass-1", x(t, "reset.one.SFX@example.test"), false); err != nil {
		t.Fatal(err)
	}
	if err := env.Wiki.CreateUser(ctx, x(t, "Svc Reset Two SFX"), "Svc-reset-two-pass-1", x(t, "reset.two.SFX@example.test"), false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, who string }{
		{x(t, `/resetpassword user="Svc Reset One SFX"`), x(t, "Svc Reset One SFX")},
		{x(t, `/resetpassword email=reset.two.SFX@example.test`), x(t, "Svc Reset Two SFX")},
	} {
		before, _ := env.Wiki.Mail()
		r := run(t, env, admin, tc.line)
		if !r.OK() {
			t.Fatalf("%s: %s", tc.line, r.String())
		}
		if _, err := env.Wiki.WaitMail(ctx, len(before), tc.who); err != nil {
			t.Errorf("%s: reset mail: %v", tc.line, err)
		}
	}
	for _, line := range []string{
		`/resetpassword`,
		`/resetpassword user=A email=a@example.test`,
		`/resetpassword email=nope`,
		`/resetpassword Alice user=Alice`,
		`/resetpassword Alice colour=blue`,
	} {
		if r := run(t, env, admin, line); r.Outcome != commands.OutcomeInvalid {
			t.Errorf("%s: %s/%s", line, r.Outcome, r.Code)
		}
	}
	// An unmapped actor cannot reset, even though the wiki lets anyone.
	if r := run(t, env, nobody, x(t, `/resetpassword user="Svc Reset One SFX"`)); r.Outcome != commands.OutcomeDenied {
		t.Errorf("unmapped reset: %s", r.Outcome)
	}

	// In any language, every word of the replies from the catalogue.
	reader := admin
	reader.Locale = "qqx"
	given := append(usageLines(env.Service), x(t, "Svc Reset One SFX"), x(t, "reset.two.SFX@example.test"), "nope")
	for _, line := range []string{
		x(t, `/resetpassword user="Svc Reset One SFX"`),
		x(t, `/resetpassword email=reset.two.SFX@example.test`),
		`/resetpassword`,
		`/resetpassword user=A email=a@example.test`,
		`/resetpassword email=nope`,
	} {
		r := run(t, env, reader, line)
		noEnglish(t, line, r, given...)
	}
}

// countingTransport counts requests to the wiki.
func TestWarmCommandsCostOneRequest(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	total := func() float64 {
		var n float64
		for _, a := range []string{"query", "login", "protect", "validatepassword", "createaccount", "resetpassword"} {
			n += wikiRequests(env, a)
		}
		return n
	}
	if err := env.Wiki.CreateUser(ctxTest, x(t, "Svc Count Reset SFX"), "Svc-count-pass-1", x(t, "count.SFX@example.test"), false); err != nil {
		t.Fatal(err)
	}
	// Warm both sessions.
	run(t, env, admin, x(t, `/protect "Svc Count SFX" create=sysop expiry="1 hour"`))
	run(t, env, admin, `/resetpassword user=Nobody-At-All`)
	run(t, env, admin, x(t, `/createaccount username="Svc Count Warm SFX" email=w.SFX@example.test`))
	cases := []struct {
		line string
		want float64
	}{
		// The page's protections are read first, so that the others are
		// kept and the reply can say what changed: two.
		{x(t, `/protect "Svc Count SFX" create=autoconfirmed expiry="2 hours"`), 2},
		{`/validatepassword password="a fine long password 7"`, 1},
		{x(t, `/resetpassword user="Svc Count Reset SFX"`), 1},
		{x(t, `/createaccount username="Svc Count One SFX" email=c1.SFX@example.test`), 1},
		// With a password the command checks it first, as designed: two.
		{x(t, `/createaccount username="Svc Count Two SFX" password="Count-two-password-9"`), 2},
	}
	for _, tc := range cases {
		n := total()
		if r := run(t, env, admin, tc.line); !r.OK() {
			t.Fatalf("%s: %s", tc.line, r.String())
		}
		if got := total() - n; got != tc.want {
			t.Errorf("%s: %v requests, want %v", tc.line, got, tc.want)
		}
	}
}

func TestUnknownCommandAndHelp(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	r := run(t, env, admin, `/block Vandal`)
	if r.Outcome != commands.OutcomeInvalid || r.Code != "unknown-command" || !strings.Contains(english(r.Text), "/protect") {
		t.Errorf("unknown command: %s", r.String())
	}
	if rec := env.LastAudit(t); rec.Command != "block" || rec.Outcome != commands.OutcomeInvalid {
		t.Errorf("unknown command not audited: %+v", rec)
	}
	r = run(t, env, nobody, `/help`)
	if !r.OK() || len(r.Fields) != 6 { // the four, /batch (its buttons) and /help
		t.Errorf("help: %s", r.String())
	}
	r = run(t, env, admin, `/help protect`)
	if !r.OK() || !strings.Contains(r.String(), "levels: autoconfirmed, sysop and all") || !strings.Contains(english(r.Text), "lifted") {
		t.Errorf("help protect: %s", r.String())
	}
	if r := run(t, env, admin, `/protect "unclosed`); r.Outcome != commands.OutcomeInvalid {
		t.Errorf("unparseable line: %s", r.String())
	} else if rec := env.LastAudit(t); rec.Outcome != commands.OutcomeInvalid {
		t.Errorf("unparseable line not audited: %+v", rec)
	}
}

func TestWikiDown(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	down, err := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php", User: "Admin@x", Password: "secret-bot-pass-xyz"})
	if err != nil {
		t.Fatal(err)
	}
	policy, _ := commands.NewPolicy(testenv.DefaultRules)
	svc, err := commands.New(commands.Config{Wiki: down, Policy: policy, Audit: env.DB})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(ctxTest) })
	r := svc.ExecuteLine(ctxTest, admin, `/protect "Main Page" edit=sysop`)
	if r.Outcome != commands.OutcomeFailed || r.Code != "wiki-unavailable" || !strings.Contains(english(r.Text), "nothing was done") {
		t.Errorf("reply = %s/%s %q", r.Outcome, r.Code, r.Text)
	}
	if strings.Contains(r.String(), "secret-bot-pass-xyz") || strings.Contains(r.String(), "127.0.0.1:1") {
		t.Errorf("reply leaks internals: %s", r.String())
	}
	if rec := env.LastAudit(t); rec.Outcome != commands.OutcomeFailed || rec.Code != "wiki-unavailable" {
		t.Errorf("audit = %+v", rec)
	}
}

type failingAudit struct{}

func (failingAudit) Begin(context.Context, *commands.AuditRecord) error {
	return errors.New("disk full")
}
func (failingAudit) Start(context.Context, int64) error                  { return errors.New("disk full") }
func (failingAudit) Finish(context.Context, *commands.AuditRecord) error { return nil }

func TestNoAuditNoAction(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	policy, _ := commands.NewPolicy(testenv.DefaultRules)
	svc, err := commands.New(commands.Config{Wiki: env.Bot, Policy: policy, Audit: failingAudit{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(ctxTest) })
	r := svc.ExecuteLine(ctxTest, admin, `/protect "Svc Unaudited" create=sysop`)
	if r.Outcome != commands.OutcomeFailed || r.Code != "audit-unavailable" {
		t.Errorf("reply = %s/%s", r.Outcome, r.Code)
	}
	if got := env.Protections(t, "Svc Unaudited"); len(got) != 0 {
		t.Errorf("an unaudited command changed the wiki: %+v", got)
	}
}

func TestSecretsNeverStored(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	secrets := []string{"Sekrit-Pass-One-111", "Sekrit-Pass-Two-222"}
	run(t, env, admin, `/validatepassword password=`+secrets[0]+` user="Svc Secret"`)
	run(t, env, admin, `/createaccount username="Svc Secret" password=`+secrets[1])
	run(t, env, admin, `/validatepassword `+secrets[0])
	run(t, env, nobody, `/createaccount username="Svc Secret 2" password=`+secrets[1])
	if err := env.DB.Close(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(env.DB.Path())
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s contains a password", filepath.Base(f))
			}
		}
	}
}

var (
	suffixMu sync.Mutex
	suffixes = map[*testing.T]string{}
)

// x gives the names in s (marked SFX) this test's own suffix, the same in
// every call, so that the test can run again (go test -count=2) on the
// same wiki, where the names of the first run are taken.
func x(t *testing.T, s string) string {
	suffixMu.Lock()
	defer suffixMu.Unlock()
	sfx, ok := suffixes[t]
	if !ok {
		sfx = testwait.Unique("")
		suffixes[t] = sfx
	}
	return strings.ReplaceAll(s, "SFX", sfx)
}

// TestSecretMayBeEmpty: the rule every platform's form follows. Only
// /createaccount's password may be left empty, and only with an email
// address to mail a temporary one to; /validatepassword's password and
// /link's code must be given.
func TestSecretMayBeEmpty(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true})
	for _, c := range []struct {
		command string
		args    commands.Args
		want    bool
	}{
		{"createaccount", commands.Args{Named: map[string]string{"username": "New", "email": "new@example.test"}}, true},
		{"createaccount", commands.Args{Named: map[string]string{"username": "New"}}, false},
		{"createaccount", commands.Args{Named: map[string]string{"username": "New", "email": ""}}, false},
		{"validatepassword", commands.Args{Named: map[string]string{"email": "new@example.test"}}, false},
		{"link", commands.Args{}, false},
		{"protect", commands.Args{Named: map[string]string{"email": "new@example.test"}}, false},
	} {
		spec, ok := env.Service.Spec(c.command)
		if !ok {
			t.Fatalf("no spec for %s", c.command)
		}
		if got := spec.SecretMayBeEmpty(c.args); got != c.want {
			t.Errorf("/%s %v: SecretMayBeEmpty = %v, want %v", c.command, c.args.Named, got, c.want)
		}
	}
}
