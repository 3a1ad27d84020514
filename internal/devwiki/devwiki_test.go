package devwiki_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
)

// wiki is a wiki of the defaults; zhWiki one whose content language is
// Simplified Chinese (see lang_test.go).
var wiki, zhWiki *devwiki.Wiki

func TestMain(m *testing.M) {
	os.Exit(devwiki.MainWith(m, devwiki.Want{Into: &wiki},
		devwiki.Want{Into: &zhWiki, Options: devwiki.Options{Lang: "zh-hans"}}))
}

// TestVersion: the wiki says which MediaWiki it runs, and it is the release
// series the run selected, so a test run cannot silently use another.
func TestVersion(t *testing.T) {
	w := devwiki.Need(t, wiki)
	series, err := devwiki.SelectedVersion()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.Version(), series+".") {
		t.Errorf("Version() = %q, selected series %s", w.Version(), series)
	}
	if !w.AtLeast(series) || w.AtLeast(series+".9999") || !w.AtLeast("1.39") {
		t.Errorf("AtLeast disagrees with Version() = %q", w.Version())
	}
	var si struct {
		Query struct {
			General struct{ Generator string } `json:"general"`
		} `json:"query"`
	}
	getJSON(t, w.APIURL+"?action=query&meta=siteinfo&format=json", &si)
	if si.Query.General.Generator != "MediaWiki "+w.Version() {
		t.Errorf("generator %q, Version() %q", si.Query.General.Generator, w.Version())
	}
}

// TestMinPasswordLength: the minimum the wiki reports is the one it
// enforces, whatever the release: a password one shorter is refused as too
// short, one of that length is not.
func TestMinPasswordLength(t *testing.T) {
	w := devwiki.Need(t, wiki)
	n, err := w.MinPasswordLength(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Fatalf("minimum password length %d", n)
	}
	validate := func(password string) string {
		resp, err := http.PostForm(w.APIURL, url.Values{"action": {"validatepassword"}, "password": {password}, "format": {"json"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			ValidatePassword struct {
				ValidityMessages []struct{ Code string } `json:"validitymessages"`
			} `json:"validatepassword"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, m := range out.ValidatePassword.ValidityMessages {
			codes = append(codes, m.Code)
		}
		return strings.Join(codes, ",")
	}
	// A random-looking password keeps off the common-passwords list.
	// MediaWiki counts bytes, so it is ASCII.
	long := strings.Repeat("Zq8#Vw3!Lm5$Rt9&", n/16+1)[:n]
	if got := validate(long); strings.Contains(got, "passwordtooshort") {
		t.Errorf("a password of %d characters: %s", n, got)
	}
	if n > 1 {
		if got := validate(long[:n-1]); !strings.Contains(got, "passwordtooshort") {
			t.Errorf("a password of %d characters: %q, want passwordtooshort", n-1, got)
		}
	}
}

// TestFilesOutside: the wiki's database, settings and mail are in Dir on
// this machine, also where PHP runs in a root of its own, and a user the
// harness creates gets mail there.
func TestFilesOutside(t *testing.T) {
	w := devwiki.Need(t, wiki)
	for _, f := range []string{"data/w.sqlite", "conf/LocalSettings.php"} {
		if _, err := os.Stat(filepath.Join(w.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	ctx := context.Background()
	if err := w.CreateUser(ctx, "Harness Mail", "Harness-mail-pass-7", "harness@example.test", false); err != nil {
		t.Fatal(err)
	}
	before, err := w.Mail()
	if err != nil {
		t.Fatal(err)
	}
	tok := struct {
		Query struct {
			Tokens struct{ CSRFToken string } `json:"tokens"`
		} `json:"query"`
	}{}
	getJSON(t, w.APIURL+"?action=query&meta=tokens&format=json", &tok)
	resp, err := http.PostForm(w.APIURL, url.Values{"action": {"resetpassword"}, "user": {"Harness Mail"},
		"token": {tok.Query.Tokens.CSRFToken}, "format": {"json"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := w.WaitMail(ctx, len(before), "Harness Mail"); err != nil {
		t.Error(err)
	}
}

// TestFreeze: a frozen wiki accepts connections but answers none until it
// is thawed, then answers the request that waited.
func TestFreeze(t *testing.T) {
	w := devwiki.Need(t, wiki)
	if err := w.Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Thaw() })
	answered := make(chan error, 1)
	go func() {
		resp, err := http.Get(w.APIURL + "?action=query&meta=siteinfo&format=json")
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	select {
	case err := <-answered:
		t.Fatalf("a frozen wiki answered (err %v)", err)
	case <-time.After(time.Second):
	}
	if err := w.Thaw(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-answered:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the thawed wiki did not answer the request that waited")
	}
}

// TestInvalidateSessions: a bot session the wiki invalidates is logged out.
func TestInvalidateSessions(t *testing.T) {
	w := devwiki.Need(t, wiki)
	ctx := context.Background()
	// An app id of this run: the test may run again on the same wiki.
	user, pass, err := w.CreateBotPassword(ctx, "Admin", testwait.Unique("harness"), "basic")
	if err != nil {
		t.Fatal(err)
	}
	c := newSession(t, w)
	c.login(user, pass)
	if got := c.userName(); got != "Admin" {
		t.Fatalf("logged in as %q", got)
	}
	if err := w.InvalidateSessions(ctx, "Admin"); err != nil {
		t.Fatal(err)
	}
	if got := c.userName(); got == "Admin" {
		t.Error("the session survived InvalidateSessions")
	}
}

// TestConcurrentWikis: wikis started at once each get their own folder,
// port and data, as go test's parallel test binaries need.
func TestConcurrentWikis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three more wikis")
	}
	devwiki.Need(t, wiki)
	const n = 3
	wikis := make([]*devwiki.Wiki, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			w, err := devwiki.Start(context.Background(), devwiki.Options{Dir: t.TempDir(),
				ExtraSettings: fmt.Sprintf("$wgSitename = 'Wiki%d';", i)})
			wikis[i] = w
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	ports := map[string]bool{}
	for i, w := range wikis {
		if w == nil {
			continue
		}
		defer w.Close()
		ports[w.URL] = true
		var si struct {
			Query struct {
				General struct{ Sitename string } `json:"general"`
			} `json:"query"`
		}
		getJSON(t, w.APIURL+"?action=query&meta=siteinfo&format=json", &si)
		if want := "Wiki" + strconv.Itoa(i); si.Query.General.Sitename != want {
			t.Errorf("wiki %d at %s is %q", i, w.URL, si.Query.General.Sitename)
		}
	}
	if len(ports) != n {
		t.Errorf("%d wikis on %d addresses", n, len(ports))
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// session is a minimal Action API client with its own cookies, enough to
// watch a login live and die.
type session struct {
	t      *testing.T
	api    string
	client *http.Client
}

func newSession(t *testing.T, w *devwiki.Wiki) *session {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &session{t: t, api: w.APIURL, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (s *session) call(method string, params url.Values, v any) {
	s.t.Helper()
	params.Set("format", "json")
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = s.client.PostForm(s.api, params)
	} else {
		resp, err = s.client.Get(s.api + "?" + params.Encode())
	}
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		s.t.Fatal(err)
	}
}

func (s *session) login(user, pass string) {
	s.t.Helper()
	var tok struct {
		Query struct {
			Tokens struct{ LoginToken string } `json:"tokens"`
		} `json:"query"`
	}
	s.call(http.MethodGet, url.Values{"action": {"query"}, "meta": {"tokens"}, "type": {"login"}}, &tok)
	var res struct {
		Login struct{ Result, Reason string } `json:"login"`
	}
	s.call(http.MethodPost, url.Values{"action": {"login"}, "lgname": {user}, "lgpassword": {pass},
		"lgtoken": {tok.Query.Tokens.LoginToken}}, &res)
	if res.Login.Result != "Success" {
		s.t.Fatalf("login as %s: %s %s", user, res.Login.Result, res.Login.Reason)
	}
}

// userName returns the name the wiki gives the session's user; an
// anonymous session's is its IP address.
func (s *session) userName() string {
	s.t.Helper()
	var ui struct {
		Query struct {
			UserInfo struct{ Name string } `json:"userinfo"`
		} `json:"query"`
	}
	s.call(http.MethodGet, url.Values{"action": {"query"}, "meta": {"userinfo"}}, &ui)
	return ui.Query.UserInfo.Name
}

// TestPortTaken: a wiki asked to serve on a port another server holds fails
// to start, rather than handing out the other wiki's address.
func TestPortTaken(t *testing.T) {
	w := devwiki.Need(t, wiki)
	u, err := url.Parse(w.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	other, err := devwiki.Start(context.Background(), devwiki.Options{Dir: t.TempDir(), Port: port})
	if err == nil {
		other.Close()
		t.Fatal("a second wiki started on a taken port")
	}
	if !strings.Contains(err.Error(), "another server answers") {
		t.Errorf("error = %v", err)
	}
}

// BenchmarkStart measures what every test binary pays before its first
// test: installing a wiki, creating its bot password and serving it.
//
//	WIKIMOD_MEDIAWIKI=1.43 go test ./internal/devwiki -run '^$' -bench Start -benchtime 5x
func BenchmarkStart(b *testing.B) {
	devwiki.Need(b, wiki)
	for b.Loop() {
		w, err := devwiki.Start(context.Background(), devwiki.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		w.Close()
	}
}
