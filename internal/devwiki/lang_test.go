package devwiki_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
)

// TestLang: a wiki installed in another language says so, speaks it, and
// the harness's helpers and bot password work on it as on an English one.
func TestLang(t *testing.T) {
	en := devwiki.Need(t, wiki)
	zh := devwiki.Need(t, zhWiki)
	if en.Lang != "en" || en.MainPage != "Main Page" {
		t.Errorf("default wiki: Lang %q, MainPage %q; want en, Main Page", en.Lang, en.MainPage)
	}
	if zh.Lang != "zh-hans" || zh.MainPage != "首页" {
		t.Errorf("zh-hans wiki: Lang %q, MainPage %q; want zh-hans, 首页", zh.Lang, zh.MainPage)
	}
	var si struct {
		Query struct {
			General struct {
				Lang     string `json:"lang"`
				MainPage string `json:"mainpage"`
			} `json:"general"`
			AllMessages []struct {
				Content string `json:"content"`
			} `json:"allmessages"`
		} `json:"query"`
	}
	getJSON(t, zh.APIURL+"?action=query&meta=siteinfo|allmessages&ammessages=protect-level-sysop&format=json&formatversion=2", &si)
	if si.Query.General.Lang != "zh-hans" || len(si.Query.AllMessages) != 1 || si.Query.AllMessages[0].Content != "仅允许管理员" {
		t.Errorf("the zh-hans wiki reports %+v", si.Query)
	}

	// The helpers, on the Chinese wiki.
	ctx := context.Background()
	user := "Lang User " + testwait.Unique("")
	const pass = "Lang-user-pass-123"
	if err := zh.CreateUser(ctx, user, pass, "lang@example.test", false); err != nil {
		t.Fatal(err)
	}
	if err := zh.SetGroups(ctx, user, []string{"sysop"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := zh.EditAs(ctx, user, pass, zh.MainPage, "欢迎 "+user); err != nil {
		t.Fatal(err)
	}
	if err := zh.ProtectAs(ctx, user, pass, zh.MainPage, "edit=sysop", "1 day", false); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, zh)
	s.login(zh.BotUser, zh.BotPassword)
	if got := s.userName(); got != "Admin" {
		t.Errorf("the bot password logs in as %q, want Admin", got)
	}
	var prot struct {
		Query struct {
			Pages []struct {
				Protection []struct{ Type, Level string } `json:"protection"`
			} `json:"pages"`
		} `json:"query"`
	}
	s.call(http.MethodGet, url.Values{"action": {"query"}, "prop": {"info"}, "inprop": {"protection"},
		"titles": {zh.MainPage}, "formatversion": {"2"}}, &prot)
	if len(prot.Query.Pages) != 1 || len(prot.Query.Pages[0].Protection) != 1 || prot.Query.Pages[0].Protection[0].Level != "sysop" {
		t.Errorf("protection of %s = %+v", zh.MainPage, prot.Query.Pages)
	}
}

// TestSetPreference: an account's language preference, set by the helper,
// is the one the wiki answers that account in.
func TestSetPreference(t *testing.T) {
	zh := devwiki.Need(t, zhWiki)
	ctx := context.Background()
	user := "Pref User " + testwait.Unique("")
	const pass = "Pref-user-pass-123"
	if err := zh.CreateUser(ctx, user, pass, "", false); err != nil {
		t.Fatal(err)
	}
	if err := zh.SetPreference(ctx, user, pass, "language", "tr"); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, zh)
	s.login(user, pass)
	var res struct {
		Query struct {
			UserInfo struct {
				Options map[string]any `json:"options"`
			} `json:"userinfo"`
			AllMessages []struct {
				Content string `json:"content"`
			} `json:"allmessages"`
		} `json:"query"`
	}
	s.call(http.MethodGet, url.Values{"action": {"query"}, "meta": {"userinfo|allmessages"}, "uiprop": {"options"},
		"ammessages": {"protect-level-sysop"}, "formatversion": {"2"}}, &res)
	if got := res.Query.UserInfo.Options["language"]; got != "tr" {
		t.Errorf("language preference %v, want tr", got)
	}
	if len(res.Query.AllMessages) != 1 || res.Query.AllMessages[0].Content != "Yalnızca hizmetlilere izin verilir" {
		t.Errorf("the wiki answers the account in %+v, want Turkish", res.Query.AllMessages)
	}
}

// TestBadLang: a language that is not written as a language code is refused
// before anything is installed.
func TestBadLang(t *testing.T) {
	devwiki.Need(t, wiki)
	dir := t.TempDir()
	for _, lang := range []string{"zh hans", "--help", "ZH", "tr;", "-"} {
		w, err := devwiki.Start(context.Background(), devwiki.Options{Dir: dir, Lang: lang})
		if err == nil {
			w.Close()
			t.Fatalf("Start with Lang %q succeeded", lang)
		}
		if !strings.Contains(err.Error(), "not a MediaWiki language code") {
			t.Errorf("Lang %q: error %v", lang, err)
		}
	}
}
