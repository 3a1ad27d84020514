package slack_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

// langSpy is the real command service, recording the language of the
// replies it delivers, by command line.
type langSpy struct {
	*commands.Service
	mu    sync.Mutex
	langs map[string]string
}

func (s *langSpy) Submit(ctx context.Context, job commands.Job) (commands.Reply, bool) {
	deliver, key := job.Deliver, job.Line+job.Args.Named["title"]
	for _, w := range job.Args.Positional {
		key += w
	}
	job.Deliver = func(ctx context.Context, r commands.Reply) {
		s.mu.Lock()
		s.langs[key] = r.Localizer.Lang
		s.mu.Unlock()
		deliver(ctx, r)
	}
	return s.Service.Submit(ctx, job)
}

func (s *langSpy) lang(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.langs[key]
}

// spyingHarness is a harness whose adapter reaches the service through a
// langSpy.
func spyingHarness(t *testing.T, opts testenv.Options, mod func(*wikislack.Config)) (*harness, *langSpy) {
	spy := &langSpy{langs: map[string]string{}}
	h := newHarness(t, opts, func(c *wikislack.Config) {
		spy.Service = c.Service.(*commands.Service)
		c.Service = spy
		if mod != nil {
			mod(c)
		}
	})
	return h, spy
}

// in renders m as a reader of lang sees it: the catalogue's words in lang
// and the wiki's.
func (h *harness) in(t testing.TB, lang string, m i18n.Message) string {
	t.Helper()
	wiki, _ := h.env.Service.Wiki(commands.DefaultWiki)
	return h.env.Service.Localizer(context.Background(), wiki, lang).Text(m)
}

// TestReplyInTheUsersSlackLanguage: Slack sends no language with a
// command; wikimod asks users.info for the person's locale once (not on
// the acknowledgement's path), answers in it, with the wiki's words in it,
// and asks again only once the answer is an hour old. The notice channel
// keeps its own language.
func TestReplyInTheUsersSlackLanguage(t *testing.T) {
	h, spy := spyingHarness(t, testenv.Options{Languages: commands.LanguageConfig{
		Channels: map[string]string{commands.RouteKey(wikislack.PlatformName, noticeChannel): "tr"},
	}}, nil)
	h.slack.mu.Lock()
	h.slack.locales = map[string]string{"U-ADMIN": "zh-CN"}
	h.slack.mu.Unlock()

	title := testwait.Unique("Slack Locale ")
	res := h.run(t, "U-ADMIN", "/protect", `"`+title+`" create=sysop expiry="1 day"`)
	if got := spy.lang(title); got != "zh-hans" {
		t.Errorf("reply in %q, want zh-hans", got)
	}
	want := h.in(t, "zh-hans", commands.TypeName("create")) + ": " + h.in(t, "zh-hans", commands.LevelName("sysop"))
	if !strings.Contains(res.text(), want) || !strings.Contains(want, "仅允许管理员") {
		t.Errorf("reply = %q, want the wiki's Chinese %q", res.text(), want)
	}
	if n := h.slack.count("users.info"); n != 1 {
		t.Errorf("users.info called %d times, want 1", n)
	}
	call := h.slack.waitCall(t, "users.info", 1)
	if call.Form.Get("user") != "U-ADMIN" || call.Form.Get("include_locale") != "true" {
		t.Errorf("users.info asked %v", call.Form)
	}
	announce := h.slack.waitCall(t, "chat.postMessage", 1)
	if got := announce.Form.Get("text"); !strings.Contains(got, h.in(t, "tr", commands.LevelName("sysop"))) || !strings.Contains(got, "Yalnızca hizmetlilere izin verilir") {
		t.Errorf("the notice channel's announcement = %q, want the wiki's Turkish", got)
	}

	// Known now: the next command is acknowledged and answered in it
	// without asking Slack again.
	second := testwait.Unique("Slack Locale Again ")
	h.run(t, "U-ADMIN", "/protect", `"`+second+`" create=sysop expiry="1 day"`)
	if got := spy.lang(second); got != "zh-hans" {
		t.Errorf("second reply in %q, want zh-hans", got)
	}
	if n := h.slack.count("users.info"); n != 1 {
		t.Errorf("users.info called %d times for two commands, want 1", n)
	}

	// An hour on, the person may have changed it: Slack is asked again.
	h.slack.mu.Lock()
	h.slack.locales["U-ADMIN"] = "tr-TR"
	h.slack.mu.Unlock()
	h.clock.Add(time.Hour)
	third := testwait.Unique("Slack Locale Later ")
	h.run(t, "U-ADMIN", "/protect", `"`+third+`" create=sysop expiry="1 day"`)
	if got := spy.lang(third); got != "tr" {
		t.Errorf("reply an hour later in %q, want tr", got)
	}
	if n := h.slack.count("users.info"); n != 2 {
		t.Errorf("users.info called %d times after an hour, want 2", n)
	}
}

// TestSlackLocaleUnavailable: when users.info fails (here the app lacks
// the users:read scope), the command runs all the same and is answered in
// the channel's language; Slack is not asked again for every command.
func TestSlackLocaleUnavailable(t *testing.T) {
	h, spy := spyingHarness(t, testenv.Options{}, nil)
	h.slack.mu.Lock()
	h.slack.localeErr = "missing_scope"
	h.slack.mu.Unlock()
	for i := range 2 {
		title := testwait.Unique("Slack No Locale ")
		res := h.run(t, "U-ADMIN", "/protect", `"`+title+`" create=sysop expiry="1 day"`)
		if !strings.Contains(res.text(), "Protection of "+title+" changed.") || spy.lang(title) != "en" {
			t.Errorf("command %d: reply in %q: %q", i+1, spy.lang(title), res.text())
		}
	}
	if n := h.slack.count("users.info"); n != 1 {
		t.Errorf("users.info called %d times, want 1", n)
	}
}
