package commands_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/qqx"
	"github.com/wikimod/wikimod/internal/testenv"
)

// noEnglish fails the test when r, rendered in qqx (every message as its
// key), still has English words: words that no catalogue wrote. given are
// the titles, names and codes the test itself typed, which replies may
// show as they are.
func noEnglish(t *testing.T, what string, r commands.Reply, given ...string) {
	t.Helper()
	text := r.Plain(i18n.Localizer{Lang: "qqx"})
	// The keys go first, so that a given word ("help", "link") is not
	// taken out of the middle of one.
	if left := qqx.English(qqxKey.ReplaceAllString(text, " "), given...); len(left) > 0 {
		t.Errorf("%s: English outside the catalogue %q in:\n%s", what, left, text)
	}
}

// qqxKey is a message shown as its key in qqx: "(key)" or "(key: ".
var qqxKey = regexp.MustCompile(`\((?:[a-z][a-z0-9]*)(?:[-_][a-z0-9]+)*(?:\)|: ?)`)

// specWords are what a test may see of the service's command specs in a
// reply: command names, parameter names, usage lines and rights, which
// are typed, not read.
func specWords(svc *commands.Service) []string {
	var out []string
	for _, sp := range svc.Specs() {
		out = append(out, sp.Name, sp.Usage, sp.Right)
		for _, p := range sp.Params {
			out = append(out, p.Name)
		}
	}
	return out
}

// TestServiceRepliesHaveNoEnglish renders in qqx the replies the service
// itself writes (help, unknown commands, lines it cannot read, arguments
// it refuses, internal failures, a stopping queue) and fails on any word
// that did not come from the catalogue.
func TestServiceRepliesHaveNoEnglish(t *testing.T) {
	fail := commands.Command{Spec: commands.Spec{Name: "fail", Usage: "/fail"},
		Run: func(context.Context, *commands.Request) (commands.Reply, error) {
			return commands.Reply{}, errors.New("a bug inside wikimod")
		}}
	boom := commands.Command{Spec: commands.Spec{Name: "boom", Usage: "/boom"},
		Run: func(context.Context, *commands.Request) (commands.Reply, error) { panic("a bug inside wikimod") }}
	env := testenv.New(t, wiki, testenv.Options{Linking: true, Extra: []commands.Command{fail, boom}})
	given := append(specWords(env.Service), "Qqx Name", "Qqx Other", "bogus", "nosuch", "block", "maybe", "xx")
	for _, tc := range []struct{ line, code string }{
		{`/help`, ""},
		{`/help protect`, ""},
		{`/help link`, ""},
		{`/help nosuch`, "usage"},
		{`/block Qqx Name`, "unknown-command"},
		{``, "usage"},
		{`/protect "Qqx Name`, "usage"},
		{`/protect "Qqx Name" reason=a reason=b`, "usage"},
		{`/protect "Qqx Name" cascade cascade`, "usage"},
		{`/protect "Qqx Name" cascade=maybe`, "usage"},
		{`/createaccount "Qqx Name" username="Qqx Other"`, "usage"},
		{`/createaccount "Qqx Name" bogus=1`, "usage"},
		{`/validatepassword two words`, "usage"},
		{`/help wiki=`, "usage"},
		{`/help wiki=xx`, "unknown-wiki"},
		{`/fail`, "internal"},
		{`/boom`, "internal"},
	} {
		r := run(t, env, admin, tc.line)
		if r.Code != tc.code {
			t.Errorf("%s: code %q, want %q: %s", tc.line, r.Code, tc.code, r.String())
		}
		noEnglish(t, tc.line, r, given...)
	}

	policy, err := commands.NewPolicy(testenv.DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := commands.New(commands.Config{Wiki: env.Bot, Policy: policy, Audit: env.DB})
	if err != nil {
		t.Fatal(err)
	}
	svc.Close(ctxTest)
	r, ok := svc.Submit(ctxTest, commands.Job{Actor: admin, Line: `/help`, Deliver: func(context.Context, commands.Reply) {}})
	if ok || r.Code != "stopping" || !strings.Contains(english(r.Text), "stopping") {
		t.Errorf("a command for a stopped service: %v %s", ok, r.String())
	}
	noEnglish(t, "stopping", r)
}

// TestSpecWordsFitDiscord: every command's summary and every parameter's
// description is a message, and in English within the 100 characters
// Discord allows a description (longer ones are cut there, and in Slack's
// manifest).
func TestSpecWordsFitDiscord(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Linking: true})
	for _, sp := range env.Service.Specs() {
		if s := english(sp.Summary); s == "" || len(s) > 100 || strings.Contains(s, "⧼") {
			t.Errorf("/%s: summary %q (%d characters)", sp.Name, s, len(s))
		}
		for _, p := range sp.Params {
			if s := english(p.Description); s == "" || len(s) > 100 || strings.Contains(s, "⧼") {
				t.Errorf("/%s %s: description %q (%d characters)", sp.Name, p.Name, s, len(s))
			}
		}
	}
}
