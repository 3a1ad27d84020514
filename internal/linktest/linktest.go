// Package linktest is one scenario of linking a chat identity to a wiki
// account, run on every platform: the console, Discord and Slack each
// drive it through their own adapter, against the real test wiki and its
// real mail file.
package linktest

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

// Platform runs commands as one chat user, the way that platform's people
// do, and returns each reply as the person sees it (its whole text).
type Platform interface {
	// Command runs /name with the given arguments.
	Command(t testing.TB, name string, args map[string]string) string
	// GiveCode gives back the code the wiki mailed, the way the platform
	// asks for it: typed on the console, a private form on Discord and
	// Slack.
	GiveCode(t testing.TB, code string) string
}

// Env is what the scenario looks into besides the replies.
type Env struct {
	Core *testenv.Env
	// Clock is the command service's clock.
	Clock *testenv.Clock
	// Logs returns everything logged so far; Sent everything the adapter
	// sent to the platform's servers (nil on the console).
	Logs func() string
	Sent func() string
}

var codeInMail = regexp.MustCompile(`(?m)^Your wikimod code: ([0-9A-Z]{10})$`)

// codeIn finds the code on a line of its own in text.
func codeIn(t testing.TB, text string) string {
	t.Helper()
	m := codeInMail.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no line %q in:\n%s", "Your wikimod code: CODE", text)
	}
	return m[1]
}

// Run links, unlinks and fails to link one chat user in every way the
// issue lists: by mail and by page, a wrong code, five wrong codes, an
// expired code, a mail asked for too soon after another, a code on the
// page saved by another account, a blocked, a missing and an email-less
// account, and /whoami. It then checks that no code is in the database file or the
// logs, and that a mailed code is in no reply.
func Run(t *testing.T, env Env, p Platform) {
	ctx := context.Background()
	w := env.Core.Wiki
	var replies []string
	cmd := func(name string, args map[string]string) string {
		t.Helper()
		r := p.Command(t, name, args)
		replies = append(replies, r)
		return r
	}
	give := func(code string) string {
		t.Helper()
		r := p.GiveCode(t, code)
		replies = append(replies, r)
		return r
	}
	expect := func(step, reply string, want ...string) {
		t.Helper()
		for _, s := range want {
			if !strings.Contains(reply, s) {
				t.Errorf("%s: reply lacks %q:\n%s", step, s, reply)
			}
		}
	}
	// mailCode starts a link by mail and returns the code the mail carried.
	mailCode := func(user string) string {
		t.Helper()
		before, err := w.Mail()
		if err != nil {
			t.Fatal(err)
		}
		r := cmd("link", map[string]string{"user": user})
		expect("link by mail", r, "mailed a code", user)
		mail, err := w.WaitMail(ctx, len(before), "Your wikimod code:")
		if err != nil {
			t.Fatal(err)
		}
		return codeIn(t, mail)
	}

	mod := testwait.Unique("Link Mod ")
	if err := w.CreateUser(ctx, mod, "Link-mod-pass-5150", "linkmod@example.test", true); err != nil {
		t.Fatal(err)
	}
	paged := testwait.Unique("Link Paged ")
	const pagedPassword = "Link-paged-pass-6061"
	if err := w.CreateUser(ctx, paged, pagedPassword, "", false); err != nil {
		t.Fatal(err)
	}
	blocked := testwait.Unique("Link Blocked ")
	if err := w.CreateUser(ctx, blocked, "Link-blocked-pass-7", "blocked@example.test", false); err != nil {
		t.Fatal(err)
	}
	if err := w.Block(ctx, blocked, "testing links"); err != nil {
		t.Fatal(err)
	}

	expect("whoami unlinked", cmd("whoami", nil), "none. `/link user=WIKINAME` links one")
	expect("missing account", cmd("link", map[string]string{"user": testwait.Unique("Nobody Here ")}), "no account named")
	expect("blocked account", cmd("link", map[string]string{"user": blocked}), "is blocked", "testing links")
	expect("email-less account", cmd("link", map[string]string{"user": paged}), "cannot mail", "method=page")
	expect("code without attempt", give("ABCDE12345"), "no link in progress")

	// By mail, with one wrong code first.
	var codes []string
	code := mailCode(mod)
	codes = append(codes, code)
	expect("wrong code", give(wrongOf(code)), "not the one mailed", "4 more wrong codes")
	expect("right code", give(code), "now linked", mod)
	expect("whoami linked", cmd("whoami", nil), mod, "sysop", "`/protect` (levels: ")
	expect("relink", cmd("link", map[string]string{"user": mod}), "already linked")
	expect("unlink", cmd("unlink", nil), "no longer linked", mod)
	expect("whoami after unlink", cmd("whoami", nil), "none. `/link user=WIKINAME` links one")

	// Five wrong codes void the attempt; the right one no longer works. A
	// new mail to the same account waits for the mail limit's interval.
	expect("mail too soon", cmd("link", map[string]string{"user": mod}), "No code was mailed", "Try again after", "method=page")
	env.Clock.Add(commands.LinkMailInterval)
	code = mailCode(mod)
	codes = append(codes, code)
	for i := 1; i <= 4; i++ {
		expect("wrong code "+strconv.Itoa(i), give(wrongOf(code)), "not the one mailed")
	}
	expect("fifth wrong code", give(wrongOf(code)), "void", "Start again")
	expect("code after void", give(code), "no link in progress")

	// An expired code.
	env.Clock.Add(commands.LinkMailInterval)
	code = mailCode(mod)
	codes = append(codes, code)
	env.Clock.Add(15*time.Minute + time.Second)
	expect("expired code", give(code), "expired")
	expect("expired code, again", give(code), "no link in progress")

	// By page: the code is given privately, saved by the account, checked.
	page := "User:" + paged + "/wikimod"
	pageCode := func() string {
		t.Helper()
		r := cmd("link", map[string]string{"user": paged, "method": "page"})
		expect("link by page", r, page)
		return codeIn(t, strings.ReplaceAll(r, "`", "\n"))
	}
	pageCodes := []string{pageCode()}
	expect("page missing", cmd("link", map[string]string{"user": paged, "method": "page"}), "does not exist yet")
	if err := w.EditAs(ctx, mod, "Link-mod-pass-5150", page, "Your wikimod code: "+pageCodes[0]); err != nil {
		t.Fatal(err)
	}
	// Saved by another account, the code is spoilt, whoever saves the
	// page after: the attempt is void.
	expect("page saved by another", cmd("link", map[string]string{"user": paged, "method": "page"}),
		"first saved on `"+page+"` by `"+mod+"`", "not by `"+paged+"`", "void", "yourself, logged in as `"+paged+"`")
	if err := w.EditAs(ctx, paged, pagedPassword, page, "This is me.\n\nYour wikimod code: "+pageCodes[0]); err != nil {
		t.Fatal(err)
	}
	pageCodes = append(pageCodes, pageCode())
	expect("page not saved since", cmd("link", map[string]string{"user": paged, "method": "page"}), "has not been saved since")
	// Saved by the account itself, under the other account's old line.
	if err := w.EditAs(ctx, paged, pagedPassword, page, "This is me.\n\nYour wikimod code: "+pageCodes[0]+"\nYour wikimod code: "+pageCodes[1]); err != nil {
		t.Fatal(err)
	}
	expect("page saved by the account", cmd("link", map[string]string{"user": paged, "method": "page"}), "now linked", paged)
	expect("whoami by page", cmd("whoami", nil), paged, "Commands you may run")

	// No code in the database file or the logs; a mailed code in no reply,
	// the page's code in the one reply that gave it.
	db, err := os.ReadFile(env.Core.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(env.Core.DBPath + "-wal")
	logs := env.Logs()
	sent := ""
	if env.Sent != nil {
		sent = env.Sent()
	}
	for _, c := range append(codes, pageCodes...) {
		if strings.Contains(string(db), c) || strings.Contains(string(wal), c) {
			t.Errorf("a code is in the database file")
		}
		if strings.Contains(logs, c) {
			t.Errorf("a code is in the log")
		}
	}
	for _, c := range codes {
		for _, r := range replies {
			if strings.Contains(r, c) {
				t.Errorf("a mailed code is in a reply: %s", r)
			}
		}
		if strings.Contains(sent, c) {
			t.Errorf("a mailed code was sent to the platform")
		}
	}
	for _, c := range pageCodes {
		n := 0
		for _, r := range replies {
			if strings.Contains(r, c) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("a page method's code is in %d replies, want only the one that gave it", n)
		}
	}

	// Every step is audited, none with a code.
	recs, err := env.Core.DB.Audit(ctx, storage.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(replies) {
		t.Errorf("%d audit records for %d commands", len(recs), len(replies))
	}
	for _, rec := range recs {
		if v, ok := rec.Args["code"]; ok && v != "[redacted]" {
			t.Errorf("audit keeps a code: %+v", rec)
		}
	}
	if last := recs[0]; last.Command != "whoami" || last.WikiUser != paged {
		t.Errorf("last audit record = %+v, want /whoami by the linked %s", last, paged)
	}
}

// wrongOf is a code of the right shape that is not code.
func wrongOf(code string) string {
	if code[0] == '2' {
		return "3" + code[1:]
	}
	return "2" + code[1:]
}
