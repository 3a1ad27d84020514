package mw_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// TestErrorsInTheReadersLanguage: under a context with a language the wiki
// explains its errors in that language, with the same codes as in English,
// for every code wikimod decides by. Each case runs in English (no
// language), Turkish and Chinese, against the real wiki.
func TestErrorsInTheReadersLanguage(t *testing.T) {
	w := devwiki.Need(t, wiki)
	bot := newBot(t, nil, nil)
	// An anonymous session: with a login, the login's requests would meet
	// the lag first, and those go out in the wiki's default language.
	lagged, err := mw.New(mw.Config{
		APIURL:        w.APIURL,
		MaxLag:        -2, // this wiki reports lag -1, so every request is lagged
		MaxLagRetries: 1,
		Sleep:         func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	protect := func(p mw.ProtectParams) func(ctx context.Context) (string, string, error) {
		return func(ctx context.Context) (string, string, error) {
			_, err := bot.Protect(ctx, p)
			return "", "", err
		}
	}
	level := func(l string) []mw.Protection { return []mw.Protection{{Action: "edit", Level: l}} }
	missingPage := "Missing " + testwait.Unique("")
	newUser := "Lang Newbie " + testwait.Unique("")

	// Each case returns an error, or a code and a text the wiki put in
	// its answer.
	cases := []struct {
		name string
		code string
		run  func(ctx context.Context) (code, text string, err error)
	}{
		{"protect of a missing page", "missingtitle-createonly", protect(mw.ProtectParams{Title: missingPage, Protections: level("sysop")})},
		{"invalid expiry", "invalidexpiry", protect(mw.ProtectParams{Title: "Main Page", Protections: level("sysop"), Expiry: []string{"not a time at all"}})},
		{"past expiry", "pastexpiry", protect(mw.ProtectParams{Title: "Main Page", Protections: level("sysop"), Expiry: []string{"2001-01-01T00:00:00Z"}})},
		{"bad level", "protect-invalidlevel", protect(mw.ProtectParams{Title: "Main Page", Protections: level("bogus")})},
		{"bad type", "protect-invalidaction", protect(mw.ProtectParams{Title: "Main Page", Protections: []mw.Protection{{Action: "bogus", Level: "sysop"}}})},
		{"create protection of an existing page", "create-titleexists", protect(mw.ProtectParams{Title: "Main Page", Protections: []mw.Protection{{Action: "create", Level: "sysop"}}})},
		{"expiries and types that do not match", "toofewexpiries", protect(mw.ProtectParams{Title: "Main Page",
			Protections: []mw.Protection{{Action: "edit", Level: "sysop"}, {Action: "move", Level: "sysop"}}, Expiry: []string{"1 day", "2 days", "3 days"}})},
		{"invalid title", "invalidtitle", protect(mw.ProtectParams{Title: "A|B", Protections: level("sysop")})},
		{"no such page id", "nosuchpageid", protect(mw.ProtectParams{PageID: 987654321, Protections: level("sysop")})},
		{"validatepassword for an existing user", "userexists", func(ctx context.Context) (string, string, error) {
			_, err := bot.ValidatePassword(ctx, mw.ValidatePasswordParams{Password: "a long enough password 42", User: "Admin"})
			return "", "", err
		}},
		{"reset from the bot session", "badaccess", func(ctx context.Context) (string, string, error) {
			_, err := bot.ResetPassword(ctx, mw.ResetPasswordParams{User: "Admin"})
			return "", "", err
		}},
		{"maxlag", "maxlag", func(ctx context.Context) (string, string, error) {
			_, err := lagged.Get(ctx, url.Values{"action": {"query"}, "meta": {"siteinfo"}}, nil)
			return "", "", err
		}},
		{"password policy", "passwordincommonlist", func(ctx context.Context) (string, string, error) {
			v, err := bot.ValidatePassword(ctx, mw.ValidatePasswordParams{Password: "password", User: newUser})
			if err != nil || len(v.Messages) == 0 {
				return "", "", err
			}
			m := v.Messages[len(v.Messages)-1]
			return m.Code, m.Text, nil
		}},
		{"createaccount of an existing name", "userexists", func(ctx context.Context) (string, string, error) {
			res, err := bot.CreateAccount(ctx, mw.CreateAccountParams{Username: "Admin", Password: "a long enough password 42"})
			if err != nil {
				return "", "", err
			}
			return res.MessageCode, res.Message, nil
		}},
		{"login with a wrong bot password", "login-Failed", func(ctx context.Context) (string, string, error) {
			c, err := mw.New(mw.Config{APIURL: w.APIURL, User: w.BotUser, Password: "not-the-password-at-all-xx"})
			if err != nil {
				return "", "", err
			}
			return "", "", c.Login(ctx)
		}},
		{"login with a main password", "login-MainAccount", func(ctx context.Context) (string, string, error) {
			c, err := mw.New(mw.Config{APIURL: w.APIURL, User: "Admin", Password: devwiki.AdminPassword})
			if err != nil {
				return "", "", err
			}
			_, err = c.Get(ctx, url.Values{"action": {"query"}, "meta": {"userinfo"}}, nil)
			return "", "", err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			texts := map[string]string{}
			for _, lang := range []string{"", "tr", "zh-hans"} {
				ctx := context.Background()
				if lang != "" {
					ctx = mw.WithLang(ctx, lang)
				}
				code, text, err := tc.run(ctx)
				if err != nil {
					code = mw.ErrorCode(err)
					if apiErr, ok := errors.AsType[*mw.APIError](err); ok {
						text = apiErr.Text
					}
				}
				if code != tc.code {
					t.Fatalf("in %q: code %q (%v), want %q", lang, code, err, tc.code)
				}
				texts[lang] = text
			}
			if texts[""] == "" {
				return // a code without the wiki's text (a login result)
			}
			for _, lang := range []string{"tr", "zh-hans"} {
				if texts[lang] == "" || texts[lang] == texts[""] {
					t.Errorf("in %q the wiki said %q; in English %q", lang, texts[lang], texts[""])
				}
			}
			if !hasHan(texts["zh-hans"]) {
				t.Errorf("the Chinese text %q has no Chinese in it", texts["zh-hans"])
			}
		})
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// TestMainPasswordRefusedOnChineseWiki: the wiki's warning that a login
// used an account's main password is known by its code, not its text, so a
// wiki that speaks another language than English cannot slip one through.
func TestMainPasswordRefusedOnChineseWiki(t *testing.T) {
	w := devwiki.Need(t, zhWiki)
	for _, lang := range []string{"", "tr"} {
		c, err := mw.New(mw.Config{APIURL: w.APIURL, User: "Admin", Password: devwiki.AdminPassword})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Login(mw.WithLang(context.Background(), lang))
		if le, ok := errors.AsType[*mw.LoginError](err); !ok || le.Result != "MainAccount" {
			t.Errorf("in %q: login with a main password: %v, want it refused", lang, err)
		}
		if c.LoggedIn() {
			t.Errorf("in %q: the client holds a main-password session", lang)
		}
	}
}

// TestRecoveryInTheReadersLanguage: a stale token and a lost session are
// recovered from under a context with a language, as in English: the client
// knows them by their codes.
func TestRecoveryInTheReadersLanguage(t *testing.T) {
	for _, lang := range []string{"tr", "zh-hans"} {
		t.Run(lang, func(t *testing.T) {
			rec := &recorder{}
			c := newBot(t, rec, nil)
			ctx := mw.WithLang(context.Background(), lang)
			if err := c.Login(ctx); err != nil {
				t.Fatal(err)
			}
			create := func(title string) {
				t.Helper()
				if _, err := c.Protect(ctx, mw.ProtectParams{Title: title, Protections: []mw.Protection{{Action: "create", Level: "sysop"}}}); err != nil {
					t.Fatalf("protect %q: %v", title, err)
				}
			}

			c.SetTokenForTest("csrf", "0123456789abcdef+\\")
			before := rec.count()
			create("Stale Token " + testwait.Unique(""))
			if got := strings.Join(rec.actions()[before:], ","); got != "protect,query:tokens,protect" {
				t.Errorf("after a stale token: requests %s, want a failed protect, a token fetch and one retry", got)
			}

			if _, err := c.Post(ctx, "csrf", url.Values{"action": {"logout"}}, nil); err != nil {
				t.Fatal(err)
			}
			before = rec.count()
			create("Lost Session " + testwait.Unique(""))
			if got := strings.Join(rec.actions()[before:], ","); got != "protect,query:tokens,login,query:tokens,protect" {
				t.Errorf("after a lost session: requests %s, want a failed protect, a login and one retry", got)
			}
		})
	}
}

// recordedAnswer is an answer of the real wiki, to replay.
type recordedAnswer struct {
	header http.Header
	body   string
}

// askRaw sends params to the wiki as a client that does not know
// errorformat would, and records the answer.
func askRaw(t *testing.T, w *devwiki.Wiki, post bool, params url.Values) recordedAnswer {
	t.Helper()
	params.Set("format", "json")
	var resp *http.Response
	var err error
	if post {
		resp, err = http.PostForm(w.APIURL, params)
	} else {
		resp, err = http.Get(w.APIURL + "?" + params.Encode())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return recordedAnswer{header: resp.Header, body: string(body)}
}

// replaying returns a client whose requests are answered with the recorded
// answer for their action.
func replaying(t *testing.T, user string, answers map[string]recordedAnswer) *mw.Client {
	t.Helper()
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		action := req.URL.Query().Get("action")
		if req.Method == http.MethodPost {
			b, _ := io.ReadAll(req.Body)
			form, _ := url.ParseQuery(string(b))
			action = form.Get("action")
		}
		a, ok := answers[action]
		if !ok {
			t.Errorf("no recorded answer for action=%s", action)
		}
		return &http.Response{StatusCode: http.StatusOK, Header: a.header, Body: io.NopCloser(strings.NewReader(a.body)), Request: req}, nil
	})
	cfg := mw.Config{APIURL: "http://wiki.test/api.php", HTTPClient: &http.Client{Transport: rt}}
	if user != "" {
		cfg.User, cfg.Password = user, "secret"
	}
	c, err := mw.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOlderErrorShape: answers in the shape a wiki gives a client that does
// not ask for errorformat (one "error" with "info", warnings keyed by
// module), as wikis before MediaWiki 1.29 always answer, are read as well
// as the newer shape: recorded from the real wiki, in both format versions.
func TestOlderErrorShape(t *testing.T) {
	w := devwiki.Need(t, wiki)
	for _, fv := range []string{"1", "2"} {
		t.Run("formatversion="+fv, func(t *testing.T) {
			ask := func(post bool, params url.Values) recordedAnswer {
				params.Set("formatversion", fv)
				return askRaw(t, w, post, params)
			}
			// An error, with the wiki's text in info.
			exists := ask(true, url.Values{"action": {"validatepassword"}, "password": {"a long enough password 42"}, "user": {"Admin"}})
			if !strings.Contains(exists.body, `"info"`) || strings.Contains(exists.body, `"errors"`) {
				t.Fatalf("not the older shape: %s", exists.body)
			}
			_, err := replaying(t, "", map[string]recordedAnswer{"validatepassword": exists}).
				ValidatePassword(context.Background(), mw.ValidatePasswordParams{Password: "p", User: "Admin"})
			apiErr, ok := errors.AsType[*mw.APIError](err)
			if !ok || apiErr.Code != "userexists" || !strings.Contains(apiErr.Text, "Username entered already in use") {
				t.Errorf("err = %#v", err)
			}

			// maxlag, and how long to wait.
			lag := ask(false, url.Values{"action": {"query"}, "meta": {"siteinfo"}, "maxlag": {"-2"}})
			var waited []time.Duration
			c, err := mw.New(mw.Config{APIURL: "http://wiki.test/api.php", MaxLagRetries: 1,
				Sleep: func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil },
				HTTPClient: &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
					return &http.Response{StatusCode: http.StatusOK, Header: lag.header, Body: io.NopCloser(strings.NewReader(lag.body)), Request: req}, nil
				})}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Get(context.Background(), url.Values{"action": {"query"}}, nil)
			if apiErr, ok := errors.AsType[*mw.APIError](err); !ok || apiErr.Code != "maxlag" || apiErr.RetryAfter <= 0 || !strings.Contains(apiErr.Text, "lagged") {
				t.Errorf("err = %#v", err)
			}
			if len(waited) != 1 || waited[0] <= 0 {
				t.Errorf("waited %v", waited)
			}

			// Warnings, by module.
			warned := ask(false, url.Values{"action": {"query"}, "meta": {"siteinfo"}, "bogus": {"1"}})
			warnings, err := replaying(t, "", map[string]recordedAnswer{"query": warned}).
				Get(context.Background(), url.Values{"action": {"query"}}, nil)
			if err != nil || len(warnings) != 1 || warnings[0].Module != "main" || !strings.Contains(warnings[0].Text, "bogus") {
				t.Errorf("warnings = %+v, %v", warnings, err)
			}

			// A login with a main password is still refused.
			token := ask(false, url.Values{"action": {"query"}, "meta": {"tokens"}, "type": {"login"}})
			var tok struct {
				Query struct {
					Tokens struct {
						LoginToken string `json:"logintoken"`
					} `json:"tokens"`
				} `json:"query"`
			}
			if err := json.Unmarshal([]byte(token.body), &tok); err != nil {
				t.Fatal(err)
			}
			// The login token belongs to the session its answer's cookie
			// names: log in within it.
			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar}
			u, _ := url.Parse(w.APIURL)
			jar.SetCookies(u, (&http.Response{Header: token.header}).Cookies())
			resp, err := hc.PostForm(w.APIURL, url.Values{"action": {"login"}, "format": {"json"}, "formatversion": {fv},
				"lgname": {"Admin"}, "lgpassword": {devwiki.AdminPassword}, "lgtoken": {tok.Query.Tokens.LoginToken}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), `"Success"`) || !strings.Contains(string(body), "Main-account login") {
				t.Fatalf("main-password login: %s", body)
			}
			err = replaying(t, "Admin", map[string]recordedAnswer{"query": token, "login": {header: resp.Header, body: string(body)}, "logout": {body: `{}`}}).
				Login(context.Background())
			if le, ok := errors.AsType[*mw.LoginError](err); !ok || le.Result != "MainAccount" {
				t.Errorf("login with a main password: %v", err)
			}
		})
	}
}
