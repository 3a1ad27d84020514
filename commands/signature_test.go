package commands_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

// TestChineseWikiReadsWhatWikimodWritesInChinese: on a wiki whose content
// language is Simplified Chinese, the signature wikimod adds to a reason in
// the wiki's log is Chinese, so that the wiki's other administrators can
// read it; a long reason is shortened by what the Chinese signature leaves
// room for. The /link mail is in the wiki's language, and in the
// requester's too when they read another.
func TestChineseWikiReadsWhatWikimodWritesInChinese(t *testing.T) {
	zh := startWiki(t, devwiki.Options{Lang: "zh-hans"})
	env := testenv.New(t, zh, testenv.Options{Linking: true})
	alice := commands.Actor{Platform: "slack", UserID: "U-ADMIN", UserName: "alice", Channel: "C1"}
	const aliceSig = "由 Slack 用户 alice (U-ADMIN) 通过 wikimod 请求"

	t.Run("signature", func(t *testing.T) {
		title := testwait.Unique("署名 ")
		r := run(t, env, alice, fmt.Sprintf(`/protect "%s" create=sysop reason="spam wave"`, title))
		if !r.OK() || r.Protect.Reason != "spam wave" {
			t.Fatalf("reply = %s, person's reason %+v", r.String(), r.Protect)
		}
		// Nothing else names a language for alice: the reply is in the
		// wiki's content language, in the wiki's words and wikimod's.
		if r.Localizer.Lang != "zh-hans" || !strings.Contains(r.String(), "仅允许管理员 (sysop)") || !strings.Contains(r.String(), "保护") {
			t.Errorf("reply in %q: %s; want it in Chinese", r.Localizer.Lang, r.String())
		}
		if r := run(t, env, admin, fmt.Sprintf(`/protect "%s" create=autoconfirmed`, title)); !r.OK() || r.Protect.Reason != "" {
			t.Fatalf("reply = %s, person's reason %+v", r.String(), r.Protect)
		}
		want := []string{"由 控制台 用户 admin 通过 wikimod 请求", "spam wave——" + aliceSig}
		if got := protectComments(t, env, title); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("protect log comments = %q, want %q", got, want)
		}
		if got := env.Service.Signature(ctxTest, env.Wikis[commands.DefaultWiki], alice); got != aliceSig {
			t.Errorf("Signature = %q, want %q", got, aliceSig)
		}
	})

	t.Run("long reason", func(t *testing.T) {
		title := testwait.Unique("长理由 ")
		reason := strings.Repeat("spam wave ", 300)
		r := run(t, env, alice, fmt.Sprintf(`/protect "%s" create=sysop reason="%s"`, title, reason))
		if !r.OK() {
			t.Fatal(r.String())
		}
		got := protectComments(t, env, title)
		if len(got) != 1 {
			t.Fatalf("protect log comments = %q", got)
		}
		// Cut to 500 characters with the Chinese signature counted: the
		// reason takes what it leaves (less the trimmed space).
		logged := got[0]
		if n := len([]rune(logged)); n > 500 || n < 498 || !strings.HasSuffix(logged, "...——"+aliceSig) {
			t.Errorf("logged %d characters: %q", n, logged)
		}
		if !strings.HasPrefix(reason, strings.TrimSuffix(r.Protect.Reason, "...")) || !strings.Contains(english(r.Text), "Your reason was shortened to fit") {
			t.Errorf("person's reason %q, reply %s", r.Protect.Reason, english(r.Text))
		}
	})

	t.Run("link mail", func(t *testing.T) {
		mail := func(actor commands.Actor, user string) string {
			t.Helper()
			before, err := zh.Mail()
			if err != nil {
				t.Fatal(err)
			}
			if r := run(t, env, actor, "/link user="+commands.QuoteArg(user)); r.Code != "code-sent" {
				t.Fatalf("/link: %s (%s)", r.String(), r.Code)
			}
			m, err := zh.WaitMail(ctxTest, len(before), "wikimod 验证码：")
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		// A requester whose platform says they read English.
		erin := commands.Actor{Platform: "slack", UserID: "U-EN", UserName: "erin", Channel: "C1", Locale: "en"}
		user := newSysop(t, env, "Mail Zh")
		m := mail(erin, user)
		zhIntro := "有人使用 Slack 账号 “erin” (U-EN) 请求 wikimod 将其关联到你的 wiki 账号 " + user + "。"
		enIntro := "Someone using the Slack account “erin” (U-EN) asked wikimod to link it to your wiki account, " + user + "."
		zhAt, enAt := strings.Index(m, zhIntro), strings.Index(m, enIntro)
		if zhAt < 0 || enAt < zhAt {
			t.Errorf("want the Chinese text, then the English one; the mail:\n%s", m)
		}
		codes := mailedCode.FindAllStringSubmatch(m, -1)
		if len(codes) != 1 || !strings.Contains(m, "你的 wikimod 验证码："+codes[0][1]+"\n") {
			t.Fatalf("want the same code in both languages, got %q in:\n%s", codes, m)
		}
		if r := run(t, env, erin, "/link code="+codes[0][1]); r.Code != "linked" {
			t.Errorf("/link code=…: %s (%s)", r.String(), r.Code)
		}

		// A requester with no language of their own reads the wiki's.
		plain := commands.Actor{Platform: "slack", UserID: "U-PLAIN", Channel: "C1"}
		m = mail(plain, newSysop(t, env, "Mail Zh Only"))
		if !strings.Contains(m, "有人使用 Slack 账号 U-PLAIN 请求") || strings.Contains(m, "Someone using") {
			t.Errorf("want the Chinese text alone; the mail:\n%s", m)
		}
	})
}

// protectComments are the reasons of the wiki's protect log entries for
// title, newest first.
func protectComments(t *testing.T, env *testenv.Env, title string) []string {
	t.Helper()
	page, err := env.Bot.LogEvents(ctxTest, mwLogQuery("protect"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range page.Events {
		if ev.Title == title {
			out = append(out, ev.Comment)
		}
	}
	return out
}
