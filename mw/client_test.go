package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/mw"
)

// wiki is a wiki of the defaults. zhWiki is one whose content language is
// Simplified Chinese, in a time zone other than UTC, for the tests of the
// wiki's own words (messages_test.go).
var wiki, zhWiki *devwiki.Wiki

func TestMain(m *testing.M) {
	os.Exit(devwiki.MainWith(m, devwiki.Want{Into: &wiki}, devwiki.Want{Into: &zhWiki, Options: devwiki.Options{
		Lang:          "zh-hans",
		ExtraSettings: `$wgLocaltimezone = 'Asia/Shanghai';`,
	}}))
}

// recorder counts and keeps the requests a client sends.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method string
	params url.Values
	ua     string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	params := req.URL.Query()
	if req.Body != nil && req.Method == http.MethodPost {
		// Read the form without consuming it for the real transport.
		clone := req.Clone(req.Context())
		body, _ := req.GetBody()
		clone.Body = body
		if err := clone.ParseForm(); err == nil {
			params = clone.PostForm
		}
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, params, req.Header.Get("User-Agent")})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.reqs {
		a := q.params.Get("action")
		if a == "query" {
			a += ":" + q.params.Get("meta") + q.params.Get("prop")
		}
		out = append(out, a)
	}
	return out
}

func newBot(t *testing.T, rec *recorder, mod func(*mw.Config)) *mw.Client {
	t.Helper()
	w := devwiki.Need(t, wiki)
	cfg := mw.Config{
		APIURL:    w.APIURL,
		User:      w.BotUser,
		Password:  w.BotPassword,
		UserAgent: "wikimod-test/0 (test@example.test)",
	}
	if rec != nil {
		cfg.HTTPClient = &http.Client{Transport: rec}
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := mw.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []mw.Config{
		{APIURL: ""},
		{APIURL: "wiki.example.org/api.php"},
		{APIURL: "ftp://wiki.example.org/api.php"},
		{APIURL: "http://wiki.example.org/api.php", User: "Admin@x"},
	} {
		if _, err := mw.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

func TestProtectAgainstRealWiki(t *testing.T) {
	c := newBot(t, nil, nil)
	ctx := context.Background()
	res, err := c.Protect(ctx, mw.ProtectParams{
		Title:       "Protect Test Page",
		Protections: []mw.Protection{{Action: "create", Level: "sysop"}},
		Expiry:      []string{"1 week"},
		Reason:      "testing mw",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Protections) != 1 || res.Protections[0].Action != "create" || res.Protections[0].Level != "sysop" {
		t.Fatalf("protections = %+v", res.Protections)
	}
	exp, err := time.Parse(time.RFC3339, res.Protections[0].Expiry)
	if err != nil {
		t.Fatalf("expiry %q is not absolute: %v", res.Protections[0].Expiry, err)
	}
	if d := time.Until(exp); d < 6*24*time.Hour || d > 8*24*time.Hour {
		t.Errorf("expiry %v is not about a week away", exp)
	}
	got, err := c.PageProtections(ctx, "Protect Test Page")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Type != "create" || got[0].Level != "sysop" || got[0].Expiry != res.Protections[0].Expiry {
		t.Errorf("wiki reports %+v, want create=sysop until %s", got, res.Protections[0].Expiry)
	}
}

func TestWarmWriteCostsOneRequest(t *testing.T) {
	rec := &recorder{}
	c := newBot(t, rec, nil)
	ctx := context.Background()
	protect := func(level string) {
		t.Helper()
		if _, err := c.Protect(ctx, mw.ProtectParams{
			Title:       "Main Page",
			Protections: []mw.Protection{{Action: "edit", Level: level}},
			Expiry:      []string{"1 day"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	protect("sysop")
	// Cold: login token, login, tokens, protect.
	if got := rec.actions(); strings.Join(got, ",") != "query:tokens,login,query:tokens,protect" {
		t.Errorf("cold requests = %v", got)
	}
	before := rec.count()
	protect("autoconfirmed")
	if n := rec.count() - before; n != 1 {
		t.Errorf("warm protect sent %d requests, want 1: %v", n, rec.actions()[before:])
	}
	for _, r := range rec.reqs {
		if r.ua != "wikimod-test/0 (test@example.test)" {
			t.Errorf("User-Agent = %q", r.ua)
		}
		if r.params.Get("maxlag") != "5" || r.params.Get("formatversion") != "2" || r.params.Get("errorformat") != "plaintext" {
			t.Errorf("request %v lacks maxlag/formatversion/errorformat", r.params)
		}
	}
	last := rec.reqs[len(rec.reqs)-1]
	if last.method != http.MethodPost || last.params.Get("assert") != "user" {
		t.Errorf("write sent as %s with assert=%q, want POST with assert=user", last.method, last.params.Get("assert"))
	}
}

func TestStaleTokenRecovers(t *testing.T) {
	rec := &recorder{}
	c := newBot(t, rec, nil)
	ctx := context.Background()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	c.SetTokenForTest("csrf", "0123456789abcdef+\\")
	before := rec.count()
	if _, err := c.Protect(ctx, mw.ProtectParams{Title: "Stale Token Page", Protections: []mw.Protection{{Action: "create", Level: "sysop"}}}); err != nil {
		t.Fatalf("protect with a stale token: %v", err)
	}
	if got := strings.Join(rec.actions()[before:], ","); got != "protect,query:tokens,protect" {
		t.Errorf("requests = %s, want a failed protect, a token fetch and one retry", got)
	}
}

func TestLostSessionRecovers(t *testing.T) {
	rec := &recorder{}
	c := newBot(t, rec, nil)
	ctx := context.Background()
	// Log the session out on the wiki's side; the client still believes it
	// is logged in and holds its old token.
	if _, err := c.Post(ctx, "csrf", url.Values{"action": {"logout"}}, nil); err != nil {
		t.Fatal(err)
	}
	before := rec.count()
	res, err := c.Protect(ctx, mw.ProtectParams{Title: "Lost Session Page", Protections: []mw.Protection{{Action: "create", Level: "sysop"}}})
	if err != nil {
		t.Fatalf("protect after the session was lost: %v", err)
	}
	if len(res.Protections) != 1 {
		t.Errorf("protections = %+v", res.Protections)
	}
	acts := rec.actions()[before:]
	if !contains(acts, "login") {
		t.Errorf("requests = %v, want a new login", acts)
	}
	if !c.LoggedIn() {
		t.Error("client does not consider itself logged in after recovering")
	}
}

func TestConcurrentLostSessionLogsInOnce(t *testing.T) {
	rec := &recorder{}
	c := newBot(t, rec, nil)
	ctx := context.Background()
	if _, err := c.Post(ctx, "csrf", url.Values{"action": {"logout"}}, nil); err != nil {
		t.Fatal(err)
	}
	before := rec.count()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.ValidatePassword(ctx, mw.ValidatePasswordParams{Password: "Some long pass " + string(rune('a'+i))}); err != nil {
				failed.Add(1)
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	logins := 0
	for _, a := range rec.actions()[before:] {
		if a == "login" {
			logins++
		}
	}
	if logins != 1 {
		t.Errorf("%d logins for one lost session, want 1", logins)
	}
}

func TestLoginErrors(t *testing.T) {
	w := devwiki.Need(t, wiki)
	ctx := context.Background()
	cases := []struct {
		name, user, pass, result string
	}{
		{"main password", "Admin", devwiki.AdminPassword, "MainAccount"},
		{"wrong bot password", w.BotUser, "not-the-password-at-all-xx", "Failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := mw.New(mw.Config{APIURL: w.APIURL, User: tc.user, Password: tc.pass})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Login(ctx)
			var le *mw.LoginError
			if !errors.As(err, &le) || le.Result != tc.result {
				t.Fatalf("login error = %v, want result %s", err, tc.result)
			}
			if strings.Contains(err.Error(), tc.pass) {
				t.Error("login error reveals the password")
			}
			if tc.result == "MainAccount" && !strings.Contains(err.Error(), "Special:BotPasswords") {
				t.Errorf("Aborted error %q does not point to Special:BotPasswords", err)
			}
		})
	}
}

func TestAPIErrorCarriesCodeAndText(t *testing.T) {
	c := newBot(t, nil, nil)
	_, err := c.Protect(context.Background(), mw.ProtectParams{Title: "Main Page", Protections: []mw.Protection{{Action: "edit", Level: "bogus"}}})
	var apiErr *mw.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an APIError", err)
	}
	if apiErr.Code != "protect-invalidlevel" || !strings.Contains(apiErr.Text, "bogus") || apiErr.Temporary() {
		t.Errorf("APIError = %+v", apiErr)
	}
	if mw.ErrorCode(err) != "protect-invalidlevel" || mw.Retryable(err) {
		t.Errorf("ErrorCode/Retryable = %q/%v", mw.ErrorCode(err), mw.Retryable(err))
	}
}

func TestMaxlagBacksOffThenFails(t *testing.T) {
	var waits []time.Duration
	c := newBot(t, nil, func(cfg *mw.Config) {
		cfg.MaxLag = -2 // this wiki reports lag -1, so every request is "lagged"
		cfg.MaxLagRetries = 2
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		}
	})
	_, err := c.SiteInfo(context.Background())
	var apiErr *mw.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "maxlag" {
		t.Fatalf("err = %v, want maxlag", err)
	}
	if !mw.Retryable(err) {
		t.Error("maxlag should be retryable")
	}
	// The login token request is the first to meet the lag: it is retried twice.
	if len(waits) != 2 {
		t.Fatalf("waited %v, want two bounded waits", waits)
	}
	for _, d := range waits {
		if d <= 0 || d > 30*time.Second {
			t.Errorf("wait %v out of bounds", d)
		}
	}
}

func TestUnreachableWiki(t *testing.T) {
	c, err := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php", User: "Admin@x", Password: "secret-bot-password-123"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Login(context.Background())
	var un *mw.UnavailableError
	if !errors.As(err, &un) || !mw.Retryable(err) || mw.ErrorCode(err) != "unavailable" {
		t.Fatalf("err = %v, want UnavailableError", err)
	}
	if strings.Contains(err.Error(), "secret-bot-password-123") {
		t.Error("error reveals the password")
	}
}

func TestSiteInfoIsCached(t *testing.T) {
	rec := &recorder{}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newBot(t, rec, func(cfg *mw.Config) {
		cfg.Now = func() time.Time { return now }
		cfg.SiteInfoTTL = time.Minute
	})
	ctx := context.Background()
	si, err := c.SiteInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if si.Name != "TestWiki" || !strings.HasPrefix(si.Generator, "MediaWiki ") {
		t.Errorf("site = %q %q", si.Name, si.Generator)
	}
	if !contains(si.Restrictions.Levels, "sysop") || !contains(si.Restrictions.Types, "edit") {
		t.Errorf("restrictions = %+v", si.Restrictions)
	}
	if !contains(si.GroupRights["sysop"], "protect") {
		t.Errorf("sysop rights = %v", si.GroupRights["sysop"])
	}
	if got := si.PageURL("Main Page"); got != wiki.URL+"/index.php/Main_Page" {
		t.Errorf("PageURL = %q", got)
	}
	n := rec.count()
	if _, err := c.SiteInfo(ctx); err != nil {
		t.Fatal(err)
	}
	if rec.count() != n {
		t.Error("second SiteInfo within the TTL sent a request")
	}
	now = now.Add(2 * time.Minute)
	if _, err := c.SiteInfo(ctx); err != nil {
		t.Fatal(err)
	}
	if rec.count() != n+1 {
		t.Errorf("SiteInfo after the TTL sent %d requests, want 1", rec.count()-n)
	}
}

func TestAccountLifecycle(t *testing.T) {
	w := devwiki.Need(t, wiki)
	bot := newBot(t, nil, nil)
	ctx := context.Background()
	// Names unique to this run, so the test can run again on the same wiki.
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e9)
	lifecycle, resetTarget := "Lifecycle User "+suffix, "Reset Target "+suffix

	v, err := bot.ValidatePassword(ctx, mw.ValidatePasswordParams{Password: "password", User: lifecycle})
	if err != nil {
		t.Fatal(err)
	}
	if v.Validity == "Good" || len(v.Messages) == 0 || v.Messages[0].Code != "passwordincommonlist" {
		t.Errorf("validity of a common password = %+v", v)
	}
	v, err = bot.ValidatePassword(ctx, mw.ValidatePasswordParams{Password: "correct horse battery staple 42", User: lifecycle})
	if err != nil || v.Validity != "Good" {
		t.Fatalf("validity of a good password = %+v, %v", v, err)
	}

	mailBefore, _ := w.Mail()
	res, err := bot.CreateAccount(ctx, mw.CreateAccountParams{Username: lifecycle, Email: "lifecycle@example.test", MailPassword: true, Reason: "test"})
	if err != nil || res.Status != "PASS" {
		t.Fatalf("createaccount = %+v, %v", res, err)
	}
	if _, err := w.WaitMail(ctx, len(mailBefore), lifecycle); err != nil {
		t.Errorf("temporary-password mail: %v", err)
	}
	res, err = bot.CreateAccount(ctx, mw.CreateAccountParams{Username: resetTarget, Email: "reset@example.test", Password: "correct horse battery staple 42"})
	if err != nil || res.Status != "PASS" {
		t.Fatalf("createaccount with a password = %+v, %v", res, err)
	}
	res, err = bot.CreateAccount(ctx, mw.CreateAccountParams{Username: lifecycle, Password: "correct horse battery staple 42"})
	if err != nil || res.Status != "FAIL" || res.MessageCode != "userexists" {
		t.Fatalf("second createaccount = %+v, %v", res, err)
	}
	_, err = bot.ValidatePassword(ctx, mw.ValidatePasswordParams{Password: "whatever long one", User: lifecycle})
	if mw.ErrorCode(err) != "userexists" {
		t.Errorf("validatepassword for an existing user: %v", err)
	}

	// A reset from the bot session fails: no grant carries editmyprivateinfo.
	_, err = bot.ResetPassword(ctx, mw.ResetPasswordParams{User: resetTarget})
	if mw.ErrorCode(err) != "badaccess" {
		t.Errorf("reset from the bot session: %v, want badaccess", err)
	}
	anon, err := mw.New(mw.Config{APIURL: w.APIURL})
	if err != nil {
		t.Fatal(err)
	}
	mailBefore, _ = w.Mail()
	if _, err := anon.ResetPassword(ctx, mw.ResetPasswordParams{User: resetTarget}); err != nil {
		t.Fatalf("reset from an anonymous session: %v", err)
	}
	if _, err := w.WaitMail(ctx, len(mailBefore), resetTarget); err != nil {
		t.Errorf("reset mail: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
