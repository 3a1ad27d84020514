package mw_test

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

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// The Turkish and Chinese words MediaWiki ships for the sysop protection
// level (languages/i18n/tr.json, zh-hans.json), and the English.
const (
	sysopEN = "Allow only administrators"
	sysopTR = "Yalnızca hizmetlilere izin verilir"
	sysopZH = "仅允许管理员"
)

// counted counts the requests a client sends, as its metrics see them.
type counted struct{ n atomic.Int64 }

func (c *counted) observe(mw.RequestInfo) { c.n.Add(1) }
func (c *counted) count() int             { return int(c.n.Load()) }

// newBotOn is newBot for the wiki w.
func newBotOn(t *testing.T, w *devwiki.Wiki, rt http.RoundTripper, mod func(*mw.Config)) *mw.Client {
	t.Helper()
	w = devwiki.Need(t, w)
	cfg := mw.Config{APIURL: w.APIURL, User: w.BotUser, Password: w.BotPassword, UserAgent: "wikimod-test/0 (test@example.test)"}
	if rt != nil {
		cfg.HTTPClient = &http.Client{Transport: rt}
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

// TestMessagesAgainstRealWiki: the wiki's words in the language asked for,
// none for a message it lacks, and a warm call sends no request until the
// cache's time is up.
func TestMessagesAgainstRealWiki(t *testing.T) {
	var reqs counted
	clock := testwait.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	c := newBotOn(t, wiki, nil, func(cfg *mw.Config) {
		cfg.Observe = reqs.observe
		cfg.Now = clock.Now
	})
	ctx := context.Background()
	missing := "wikimod-no-such-message-" + testwait.Unique("")
	ask := func(lang string, keys ...string) map[string]string {
		t.Helper()
		got, err := c.Messages(ctx, lang, keys...)
		if err != nil {
			t.Fatalf("Messages(%q): %v", lang, err)
		}
		return got
	}

	for _, tc := range []struct{ lang, want string }{
		{"tr", sysopTR},
		{"zh-hans", sysopZH},
		{"", sysopEN}, // the wiki's content language
		{"en", sysopEN},
		{"qqx", "(protect-level-sysop)"},
		{"TR", sysopTR}, // codes are MediaWiki's, in lower case
	} {
		got := ask(tc.lang, "protect-level-sysop", "restriction-edit", missing)
		if got["protect-level-sysop"] != tc.want {
			t.Errorf("%q: protect-level-sysop = %q, want %q", tc.lang, got["protect-level-sysop"], tc.want)
		}
		if got["restriction-edit"] == "" {
			t.Errorf("%q: no restriction-edit in %v", tc.lang, got)
		}
		if tc.lang == "qqx" {
			// As uselang=qqx does on the wiki, every key shows as
			// itself, whether the wiki has it or not.
			if got[missing] != "("+missing+")" {
				t.Errorf("qqx: %s = %q", missing, got[missing])
			}
			continue
		}
		if text, ok := got[missing]; ok {
			t.Errorf("%q: a message the wiki lacks came back as %q", tc.lang, text)
		}
		if len(got) != 2 {
			t.Errorf("%q: got %d messages, want 2: %v", tc.lang, len(got), got)
		}
	}

	// Warm: every language asked above, any subset, keys given twice, and
	// the missing message too, without a request.
	before := reqs.count()
	for _, lang := range []string{"tr", "zh-hans", ""} {
		if got := ask(lang, "restriction-edit", missing, "protect-level-sysop", "restriction-edit"); len(got) != 2 {
			t.Errorf("warm %q: %v", lang, got)
		}
	}
	if got := ask("tr", "protect-level-sysop"); got["protect-level-sysop"] != sysopTR {
		t.Errorf("warm tr: %v", got)
	}
	if got := ask("qqx", missing, "protect-level-sysop"); len(got) != 2 {
		t.Errorf("warm qqx: %v", got)
	}
	if n := reqs.count() - before; n != 0 {
		t.Errorf("warm calls sent %d requests, want none", n)
	}

	// A message not yet asked for costs one request; the time-to-live
	// (24 hours by default) ends the cache.
	before = reqs.count()
	ask("tr", "protect-level-sysop", "protect-level-autoconfirmed")
	if n := reqs.count() - before; n != 1 {
		t.Errorf("one new message sent %d requests, want 1", n)
	}
	clock.Add(23 * time.Hour)
	before = reqs.count()
	ask("tr", "protect-level-sysop", "protect-level-autoconfirmed")
	if n := reqs.count() - before; n != 0 {
		t.Errorf("after 23 hours, %d requests, want none", n)
	}
	clock.Add(2 * time.Hour)
	before = reqs.count()
	ask("tr", "protect-level-sysop", "protect-level-autoconfirmed")
	if n := reqs.count() - before; n != 1 {
		t.Errorf("after the time-to-live, %d requests, want 1", n)
	}

	// No keys, or none a message can have: nothing to ask.
	before = reqs.count()
	if got := ask("tr", "", "*", "a|b"); len(got) != 0 {
		t.Errorf("keys no message can have gave %v", got)
	}
	if _, err := c.Messages(ctx, "zh hans", "protect-level-sysop"); err == nil {
		t.Error("a language that is no language code was accepted")
	}
	if n := reqs.count() - before; n != 0 {
		t.Errorf("%d requests for nothing to ask", n)
	}
}

// TestMessagesKeysAsGiven: a key comes back under the spelling it was asked
// by, also where the wiki normalizes it, and messages that exist only on the
// wiki (in its MediaWiki: namespace) are found.
func TestMessagesKeysAsGiven(t *testing.T) {
	w := devwiki.Need(t, wiki)
	ctx := context.Background()
	local := "Wikimod-local-" + testwait.Unique("")
	if err := w.EditAs(ctx, "Admin", devwiki.AdminPassword, "MediaWiki:"+local, "A level of our own"); err != nil {
		t.Fatal(err)
	}
	c := newBot(t, nil, nil)
	got, err := c.Messages(ctx, "", "Protect-level-sysop", local, strings.ToLower(local[:1])+local[1:])
	if err != nil {
		t.Fatal(err)
	}
	if got["Protect-level-sysop"] != sysopEN {
		t.Errorf("Protect-level-sysop = %q", got["Protect-level-sysop"])
	}
	if got[local] != "A level of our own" {
		t.Errorf("the wiki's own message %s = %q, all: %v", local, got[local], got)
	}
}

// TestMessagesInBatches: more messages than one request may ask for take
// several, and a list too long for a URL goes in a POST.
func TestMessagesInBatches(t *testing.T) {
	rec := &recorder{}
	c := newBot(t, rec, nil)
	ctx := context.Background()
	keys := []string{"protect-level-sysop"}
	for i := range 119 {
		keys = append(keys, fmt.Sprintf("wikimod-missing-%03d", i))
	}
	keys = append(keys, "protect-level-autoconfirmed")
	got, err := c.Messages(ctx, "tr", keys...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["protect-level-sysop"] != sysopTR || got["protect-level-autoconfirmed"] == "" {
		t.Errorf("got %v", got)
	}
	asked := 0
	for _, r := range rec.reqs {
		if r.params.Get("meta") != "allmessages" {
			continue
		}
		asked++
		if n := len(strings.Split(r.params.Get("ammessages"), "|")); n > 50 || r.params.Get("amlang") != "tr" || r.method != http.MethodGet {
			t.Errorf("%s asked for %d messages in %q", r.method, n, r.params.Get("amlang"))
		}
	}
	if asked != 3 {
		t.Errorf("%d requests for 121 messages, want 3", asked)
	}

	long := make([]string, 40)
	for i := range long {
		long[i] = fmt.Sprintf("wikimod-a-rather-long-message-key-that-no-wiki-has-%02d", i)
	}
	long = append(long, "protect-level-sysop")
	got, err = c.Messages(ctx, "zh-hans", long...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["protect-level-sysop"] != sysopZH {
		t.Errorf("long list: %v", got)
	}
	last := rec.reqs[len(rec.reqs)-1]
	if last.method != http.MethodPost || last.params.Get("meta") != "allmessages" {
		t.Errorf("a list of %d bytes went as a %s", len(strings.Join(long, "|")), last.method)
	}
}

// gate holds the requests for messages until it is opened, and counts
// them.
type gate struct {
	arrived chan struct{} // one value per request for messages
	open    chan struct{}
	asked   atomic.Int64
}

func newGate() *gate {
	return &gate{arrived: make(chan struct{}, 100), open: make(chan struct{})}
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.RawQuery, "meta=allmessages") {
		g.asked.Add(1)
		g.arrived <- struct{}{}
		select {
		case <-g.open:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestMessagesShareOneRequest: callers asking at once for messages not yet
// cached wait for the one request the first of them sent, and take its
// answer.
func TestMessagesShareOneRequest(t *testing.T) {
	g := newGate()
	c := newBotOn(t, wiki, g, nil)
	ctx := context.Background()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	results := make(chan map[string]string, 5)
	errs := make(chan error, 5)
	ask := func(keys ...string) {
		got, err := c.Messages(ctx, "tr", keys...)
		results <- got
		errs <- err
	}
	go ask("protect-level-sysop", "restriction-edit")
	<-g.arrived
	for range 4 {
		go ask("restriction-edit", "protect-level-sysop")
	}
	testwait.For(t, "four callers to wait for the first one's request", func() bool { return c.MessageWaitersForTest() == 4 })
	close(g.open)
	for range 5 {
		got, err := <-results, <-errs
		if err != nil {
			t.Fatal(err)
		}
		if got["protect-level-sysop"] != sysopTR || got["restriction-edit"] == "" || len(got) != 2 {
			t.Errorf("got %v", got)
		}
	}
	if n := g.asked.Load(); n != 1 {
		t.Errorf("%d requests for messages, want 1", n)
	}
}

// TestMessagesFetcherGivesUp: when the caller whose request the others wait
// for gives up, they are not handed its failure: one of them asks again.
func TestMessagesFetcherGivesUp(t *testing.T) {
	g := newGate()
	c := newBotOn(t, wiki, g, nil)
	ctx := context.Background()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	first, cancel := context.WithCancel(ctx)
	firstErr := make(chan error, 1)
	go func() {
		_, err := c.Messages(first, "zh-hans", "protect-level-sysop")
		firstErr <- err
	}()
	<-g.arrived
	var wg sync.WaitGroup
	got := make([]map[string]string, 3)
	errs := make([]error, 3)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = c.Messages(ctx, "zh-hans", "protect-level-sysop") })
	}
	testwait.For(t, "three callers to wait for the first one's request", func() bool { return c.MessageWaitersForTest() == 3 })
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that gave up got %v", err)
	}
	close(g.open)
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i]["protect-level-sysop"] != sysopZH {
			t.Errorf("waiter %d: %v, %v", i, got[i], errs[i])
		}
	}
	if n := g.asked.Load(); n != 2 {
		t.Errorf("%d requests for messages, want 2 (the one given up and one again)", n)
	}
}

// TestChineseWiki: a wiki whose content language is Chinese answers in
// Chinese when no language is asked for, and its site information gives its
// language, fallbacks and time zone.
func TestChineseWiki(t *testing.T) {
	var reqs counted
	c := newBotOn(t, zhWiki, nil, func(cfg *mw.Config) { cfg.Observe = reqs.observe })
	ctx := context.Background()
	si, err := c.SiteInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if si.Lang != "zh-hans" || !contains(si.Fallback, "zh") || !contains(si.Fallback, "en") {
		t.Errorf("lang %q, fallback %v", si.Lang, si.Fallback)
	}
	if si.TimeZone != "Asia/Shanghai" || si.TimeOffset != 8*60 {
		t.Errorf("time zone %q, offset %d minutes", si.TimeZone, si.TimeOffset)
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).In(si.Location())
	if at.Hour() != 8 {
		t.Errorf("midnight UTC in the wiki's zone is %v", at)
	}
	for _, lang := range []string{"", "zh-hans", si.Lang} {
		got, err := c.Messages(ctx, lang, "protect-level-sysop")
		if err != nil {
			t.Fatal(err)
		}
		if got["protect-level-sysop"] != sysopZH {
			t.Errorf("Messages(%q) = %v, want %s", lang, got, sysopZH)
		}
	}
	got, err := c.Messages(ctx, "tr", "protect-level-sysop")
	if err != nil || got["protect-level-sysop"] != sysopTR {
		t.Errorf("Messages(tr) on a Chinese wiki = %v, %v", got, err)
	}

	// The English wiki's answers, for comparison.
	en, err := newBot(t, nil, nil).SiteInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if en.Lang != "en" || len(en.Fallback) != 0 || en.TimeZone != "UTC" || en.TimeOffset != 0 {
		t.Errorf("English wiki: lang %q, fallback %v, zone %q %d", en.Lang, en.Fallback, en.TimeZone, en.TimeOffset)
	}
	if en.Location().String() != "UTC" {
		t.Errorf("English wiki's location %v", en.Location())
	}
}

// TestMessagesOfTheContentLanguage: no language means the wiki's content
// language, also where the bot's account prefers another one (an English
// speaker running the bot on a Chinese wiki).
func TestMessagesOfTheContentLanguage(t *testing.T) {
	w := devwiki.Need(t, zhWiki)
	ctx := context.Background()
	user := "Turkish Operator " + testwait.Unique("")
	const pass = "Turkish-operator-pass-1"
	if err := w.CreateUser(ctx, user, pass, "", false); err != nil {
		t.Fatal(err)
	}
	if err := w.SetPreference(ctx, user, pass, "language", "tr"); err != nil {
		t.Fatal(err)
	}
	botUser, botPass, err := w.CreateBotPassword(ctx, user, "wikimod", "basic")
	if err != nil {
		t.Fatal(err)
	}
	c := newBotOn(t, w, nil, func(cfg *mw.Config) { cfg.User, cfg.Password = botUser, botPass })
	got, err := c.Messages(ctx, "", "protect-level-sysop")
	if err != nil || got["protect-level-sysop"] != sysopZH {
		t.Errorf("Messages(\"\") = %v, %v; want the content language's %s", got, err, sysopZH)
	}
	got, err = c.Messages(ctx, "tr", "protect-level-sysop")
	if err != nil || got["protect-level-sysop"] != sysopTR {
		t.Errorf("Messages(tr) = %v, %v", got, err)
	}
}

// TestSiteInfoLocationWithoutZoneData: a zone this machine does not know
// is taken at the offset the wiki gave.
func TestSiteInfoLocationWithoutZoneData(t *testing.T) {
	si := &mw.SiteInfo{TimeZone: "Nowhere/Imaginary", TimeOffset: 330}
	if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).In(si.Location()).Zone(); off != 330*60 {
		t.Errorf("offset %d seconds, want 330 minutes", off)
	}
}

// TestLangParameters: under a context with a language every request of the
// caller's asks for the wiki's texts in it; the login and the token fetch,
// which serve every caller, do not; and without a language requests are as
// they were.
func TestLangParameters(t *testing.T) {
	for _, lang := range []string{"", "tr"} {
		rec := &recorder{}
		c := newBot(t, rec, nil)
		ctx := context.Background()
		if lang != "" {
			ctx = mw.WithLang(ctx, lang)
		}
		if _, err := c.Protect(ctx, mw.ProtectParams{Title: "Lang Parameters " + testwait.Unique(""),
			Protections: []mw.Protection{{Action: "create", Level: "sysop"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SiteInfo(ctx); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(rec.actions(), ","); got != "query:tokens,login,query:tokens,protect,query:siteinfo" {
			t.Fatalf("requests %s", got)
		}
		for i, r := range rec.reqs {
			want := lang
			if i < 3 {
				want = "" // login token, login, tokens
			}
			if r.params.Get("errorlang") != want || r.params.Get("uselang") != want || r.params.Get("errorformat") != "plaintext" {
				t.Errorf("lang %q: request %d (%s) carries errorlang=%q uselang=%q errorformat=%q",
					lang, i, r.params.Get("action"), r.params.Get("errorlang"), r.params.Get("uselang"), r.params.Get("errorformat"))
			}
			if _, ok := r.params["errorlang"]; ok && want == "" {
				t.Errorf("lang %q: request %d carries errorlang", lang, i)
			}
		}
	}
	if got := mw.LangFrom(mw.WithLang(context.Background(), "ZH-Hans")); got != "zh-hans" {
		t.Errorf("LangFrom(WithLang(ZH-Hans)) = %q", got)
	}
	if got := mw.LangFrom(mw.WithLang(context.Background(), "tr&uselang=en")); got != "" {
		t.Errorf("LangFrom(WithLang(a bad code)) = %q", got)
	}
	if got := mw.LangFrom(mw.WithLang(mw.WithLang(context.Background(), "tr"), "")); got != "" {
		t.Errorf("WithLang(ctx, \"\") left %q", got)
	}
}
