package commands_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

func mwLogQuery(typ string) mw.LogEventsQuery {
	return mw.LogEventsQuery{Type: typ, Limit: 500}
}

// dropAnswers forwards every request to the wiki, and for write requests of
// the given action reads the wiki's whole answer and then fails as a
// dropped connection would: the wiki did the work, the bot never hears.
type dropAnswers struct{ action string }

func (d dropAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	form, _ := url.ParseQuery(string(body))
	if r.Method == http.MethodPost && form.Get("action") == d.action {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errDropped
	}
	return resp, nil
}

// TestProtectAnswerLostIsReadBack: the wiki applies a protection but its
// answer is lost; the reply says what the wiki holds now, read back.
func TestProtectAnswerLostIsReadBack(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Transport: dropAnswers{action: "protect"}})
	title := testwait.Unique("Lost answer ")
	r := run(t, env, admin, fmt.Sprintf(`/protect "%s" create=sysop expiry="1 week"`, title))
	if !r.OK() || r.Code != "read-back" || !strings.Contains(r.String(), "as you asked") || !strings.Contains(english(r.Title), title) {
		t.Fatalf("reply = %+v", r)
	}
	if got := env.Protections(t, title)["create"]; got.Level != "sysop" || !strings.Contains(r.String(), shown(got.Expiry)) {
		t.Errorf("wiki = %+v, reply:\n%s", got, r.String())
	}
	if rec := env.LastAudit(t); rec.Outcome != commands.OutcomeOK || rec.Code != "read-back" {
		t.Errorf("audit = %+v", rec)
	}
}

// TestCreateAccountAnswerLostIsReadBack: the account is created, the answer
// lost; the reply says the account exists now.
func TestCreateAccountAnswerLostIsReadBack(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Transport: dropAnswers{action: "createaccount"}})
	name := testwait.Unique("Lost")
	r := run(t, env, admin, fmt.Sprintf(`/createaccount username=%s password="Very-long-and-unusual-9"`, name))
	if !r.OK() || r.Code != "read-back" || !strings.Contains(english(r.Title), name) || strings.Contains(r.String(), "Very-long") {
		t.Fatalf("reply = %+v", r)
	}
}

// freezeOnWrite freezes the wiki as a write of the given action leaves
// for it: the write is sent, and the wiki then answers nothing.
type freezeOnWrite struct {
	action string
	wiki   *devwiki.Wiki
	frozen chan struct{}
}

func (f *freezeOnWrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.Body != nil {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		if form, _ := url.ParseQuery(string(body)); form.Get("action") == f.action {
			f.wiki.Freeze()
			close(f.frozen)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestTimeoutAfterWriteIsUnknownNotFailed: the wiki freezes as the write
// is sent, so the write times out and the read-back cannot be made either.
// The reply must not say nothing was done; the audit row says unknown; and
// once the wiki resumes, the page is in fact protected, which is why.
func TestTimeoutAfterWriteIsUnknownNotFailed(t *testing.T) {
	devwiki.Need(t, wiki)
	fw := &freezeOnWrite{action: "protect", wiki: wiki, frozen: make(chan struct{})}
	t.Cleanup(func() { wiki.Thaw() })
	env := testenv.New(t, wiki, testenv.Options{Timeout: 2 * time.Second, Transport: fw})
	title := testwait.Unique("Timeout ")
	r := run(t, env, admin, fmt.Sprintf(`/protect "%s" create=sysop`, title))
	<-fw.frozen
	wiki.Thaw()
	if r.Outcome != commands.OutcomeUnknown || strings.Contains(strings.ToLower(r.String()), "nothing was done") || !strings.Contains(r.String(), title) {
		t.Fatalf("reply = %+v", r)
	}
	if rec := env.LastAudit(t); rec.Outcome != commands.OutcomeUnknown {
		t.Errorf("audit = %+v", rec)
	}
	testwait.For(t, "the wiki to show the protection", func() bool { return env.Protections(t, title)["create"].Level == "sysop" })
}

// TestProtectOnWikiWithoutLevels: a wiki whose $wgRestrictionLevels lists no
// level gets a clear answer, not a crash.
func TestProtectOnWikiWithoutLevels(t *testing.T) {
	devwiki.Need(t, wiki)
	w, err := devwiki.Start(context.Background(), devwiki.Options{Dir: t.TempDir(), ExtraSettings: `$wgRestrictionLevels = [ '' ];`})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	env := testenv.New(t, w, testenv.Options{})
	for _, line := range []string{`/protect "X" reason=why`, `/protect "X" edit=sysop`} {
		r := run(t, env, admin, line)
		if r.Code != "protect-nolevels" || !strings.Contains(english(r.Text), "no protection levels") {
			t.Errorf("%s: reply = %+v", line, r)
		}
	}
}

// TestSettleFinishesWhatACrashLeft: audit rows a kill left queued or pending
// are settled against the wiki's logs at start-up.
func TestSettleFinishesWhatACrashLeft(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	ctx := ctxTest
	applied := testwait.Unique("Settle applied ")
	notApplied := testwait.Unique("Settle not applied ")
	account := testwait.Unique("Settle")
	begin := func(outcome commands.Outcome, command string, args map[string]string) int64 {
		rec := &commands.AuditRecord{Time: time.Now(), Wiki: commands.DefaultWiki, Platform: "slack", UserID: "U-ADMIN", Command: command, Args: args, Outcome: outcome}
		if err := env.DB.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	ids := map[string]int64{
		"applied":     begin(commands.OutcomePending, "protect", map[string]string{"_": strings.ToLower(applied[:1]) + applied[1:], "create": "sysop"}),
		"not-applied": begin(commands.OutcomePending, "protect", map[string]string{"_": notApplied, "create": "sysop"}),
		"queued":      begin(commands.OutcomeQueued, "protect", map[string]string{"_": testwait.Unique("Settle queued "), "create": "sysop"}),
		"account":     begin(commands.OutcomePending, "createaccount", map[string]string{"username": account}),
		"reset":       begin(commands.OutcomePending, "resetpassword", map[string]string{"user": "Admin"}),
		"validate":    begin(commands.OutcomePending, "validatepassword", map[string]string{"password": "[redacted]"}),
	}
	// What the killed process had sent before it died.
	if _, err := env.Bot.Protect(ctx, mw.ProtectParams{Title: applied, Protections: []mw.Protection{{Action: "create", Level: "sysop"}}}); err != nil {
		t.Fatal(err)
	}
	if res, err := env.Bot.CreateAccount(ctx, mw.CreateAccountParams{Username: account, Password: "Another-long-pass-1"}); err != nil || res.Status != "PASS" {
		t.Fatal(res, err)
	}
	rep, err := env.Service.Settle(ctx, env.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"applied": "ok/settled-from-log", "not-applied": "interrupted/not-in-log", "queued": "interrupted/not-run",
		"account": "ok/settled-from-log", "reset": "interrupted/may-have-run", "validate": "interrupted/no-change"}
	recs := auditRows(t, env, 50)
	for key, id := range ids {
		for _, rec := range recs {
			if rec.ID == id && string(rec.Outcome)+"/"+rec.Code != want[key] {
				t.Errorf("%s: settled as %s/%s, want %s", key, rec.Outcome, rec.Code, want[key])
			}
		}
	}
	if rep.Applied < 2 || rep.Interrupted < 4 {
		t.Errorf("report = %+v", rep)
	}
	if left, err := env.DB.Unsettled(ctx, 10); err != nil || len(left) != 0 {
		t.Errorf("still unsettled: %v %v", left, err)
	}
}

// TestNamesTheWikiRefuses: user names with "=" or starting with "~" are
// refused by MediaWiki 1.43 and later (and created by older wikis); either
// way the reply says what happened, and why when refused.
func TestNamesTheWikiRefuses(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	for _, name := range []string{testwait.Unique("Eq=Name"), testwait.Unique("~Tilde")} {
		r := run(t, env, admin, fmt.Sprintf(`/createaccount username="%s" email=names@example.test`, name))
		switch {
		case wiki.AtLeast("1.43"):
			if r.Outcome != commands.OutcomeWikiError || r.Code != "invaliduser" || !strings.Contains(english(r.Text), "`username=`") {
				t.Errorf("%s: %+v", name, r)
			}
		case !r.OK():
			t.Errorf("%s on %s: %s", name, wiki.Version(), r.String())
		}
	}
}

// gateway502 stands for a proxy in front of the wiki that answers 502 to
// write requests of one action while on: forward says whether the request
// reaches the wiki first (the answer is lost) or not at all.
type gateway502 struct {
	action  string
	on      atomic.Bool
	forward bool
}

func (g *gateway502) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	form, _ := url.ParseQuery(string(body))
	if !g.on.Load() || r.Method != http.MethodPost || form.Get("action") != g.action {
		return http.DefaultTransport.RoundTrip(r)
	}
	if g.forward {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusBadGateway, Status: "502 Bad Gateway", Header: http.Header{}, Body: io.NopCloser(strings.NewReader("bad gateway")), Request: r}, nil
}

// TestReadBackComparesExpiriesAndCascading: after a lost answer, "as you
// asked" needs the levels, the expiries and the cascading the request
// asked for, and the wiki's log entry for it; otherwise the reply says what
// the page has. Each case starts from a page protected for real, then
// sends a /protect through a gateway that answers 502.
func TestReadBackComparesExpiriesAndCascading(t *testing.T) {
	cases := []struct {
		name    string
		setup   string // the page's protection before
		line    string
		forward bool
		outcome commands.Outcome
		code    string
		says    string
	}{
		// The case: the wiki still expires in an hour.
		{"expiry differs, not sent", `edit=sysop expiry="1 hour"`, `edit=sysop expiry=infinite`, false, commands.OutcomeUnknown, "outcome-unknown", "no entry for your request"},
		{"expiry changed, answer lost", `edit=sysop expiry="1 hour"`, `edit=sysop expiry=infinite`, true, commands.OutcomeOK, "read-back", "as you asked"},
		{"relative expiry, not sent", `edit=sysop expiry="1 week"`, `edit=sysop expiry="1 week"`, false, commands.OutcomeUnknown, "outcome-unknown", "no entry for your request"},
		{"relative expiry, answer lost", `edit=sysop expiry="1 day"`, `edit=sysop expiry="1 week"`, true, commands.OutcomeOK, "read-back", "as you asked"},
		{"cascading differs, not sent", `edit=sysop cascade`, `edit=sysop cascade=no`, false, commands.OutcomeUnknown, "outcome-unknown", "no entry for your request"},
		{"cascading ended, answer lost", `edit=sysop cascade`, `edit=sysop cascade=no`, true, commands.OutcomeOK, "read-back", "as you asked"},
		{"already so, not sent", `edit=sysop expiry=infinite`, `edit=sysop expiry=infinite`, false, commands.OutcomeOK, "unchanged", "already was as asked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gw := &gateway502{action: "protect", forward: tc.forward}
			env := testenv.New(t, wiki, testenv.Options{Transport: gw})
			title := testwait.Unique("Read back ")
			createPage(t, env, title)
			if r := run(t, env, admin, fmt.Sprintf(`/protect %q %s`, title, tc.setup)); !r.OK() {
				t.Fatal(r.String())
			}
			before := env.Protections(t, title)
			gw.on.Store(true)
			r := run(t, env, admin, fmt.Sprintf(`/protect %q %s`, title, tc.line))
			gw.on.Store(false)
			after := env.Protections(t, title)
			if r.Outcome != tc.outcome || r.Code != tc.code || !strings.Contains(r.String(), tc.says) {
				t.Fatalf("reply %s/%s, want %s/%s saying %q:\n%s\nwiki before %+v after %+v", r.Outcome, r.Code, tc.outcome, tc.code, tc.says, r.String(), before, after)
			}
			// The reply shows each protection as the wiki has it now.
			if e := after["edit"].Expiry; e != "infinity" && !strings.Contains(r.String(), shown(e)) {
				t.Errorf("the reply does not show the wiki's expiry %s:\n%s", e, r.String())
			}
			if rec := env.LastAudit(t); rec.Outcome != tc.outcome || rec.Code != tc.code {
				t.Errorf("audit = %s/%s", rec.Outcome, rec.Code)
			}
		})
	}
}
