package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/qqx"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// shown is an expiry as the wiki gives it ("2026-12-10T12:00:00Z") as a
// reply shows it where the platform does not write times itself.
func shown(expiry string) string {
	t, err := time.Parse(time.RFC3339, expiry)
	if err != nil {
		return expiry
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// createPage makes a page exist, so that it can take edit and move
// protection, through the bot's session.
func createPage(t *testing.T, env *testenv.Env, title string) {
	t.Helper()
	var res struct {
		Edit struct {
			Result string `json:"result"`
		} `json:"edit"`
	}
	_, err := env.Bot.Post(context.Background(), "csrf", map[string][]string{
		"action": {"edit"}, "title": {title}, "text": {"A page for wikimod's tests."}, "createonly": {"1"},
	}, &res)
	if err != nil || res.Edit.Result != "Success" {
		t.Fatalf("create %q: %v %+v", title, err, res)
	}
}

// TestProtectKeepsTheTypesNotNamed: naming one type changes that type only;
// the page keeps its others, each with its own expiry, and its cascading.
// TYPE=all lifts one type, and exact sets exactly what is named.
func TestProtectKeepsTheTypesNotNamed(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	title := testwait.Unique("Keep Others ")
	createPage(t, env, title)
	if r := run(t, env, admin, fmt.Sprintf(`/protect "%s" edit=sysop move=sysop move_expiry="3 days" cascade`, title)); !r.OK() {
		t.Fatal(r.String())
	}
	before := env.Protections(t, title)

	r := run(t, env, admin, fmt.Sprintf(`/protect "%s" edit=autoconfirmed`, title))
	after := env.Protections(t, title)
	if !r.OK() || after["edit"].Level != "autoconfirmed" || after["move"] != before["move"] {
		t.Fatalf("reply:\n%s\nwiki before %+v after %+v", r.String(), before, after)
	}
	// Types and levels are named in the wiki's words, with their codes.
	plain := r.String()
	if !strings.Contains(plain, "Edit (edit): Allow only autoconfirmed users (autoconfirmed), indefinitely (changed)") ||
		!strings.Contains(plain, "Move (move): Allow only administrators (sysop), until "+shown(before["move"].Expiry)) || !strings.Contains(plain, "(kept)") {
		t.Errorf("the reply does not say what changed and what was kept:\n%s", plain)
	}
	if strings.Contains(plain, "Lifted") || !strings.Contains(english(r.Title), title) {
		t.Errorf("reply:\n%s", plain)
	}

	// Naming a type with all lifts it alone.
	r = run(t, env, admin, fmt.Sprintf(`/protect "%s" move=all`, title))
	after = env.Protections(t, title)
	if !r.OK() || !strings.Contains(r.String(), "Lifted: Move (move).") || after["edit"].Level != "autoconfirmed" || after["move"].Level != "" {
		t.Fatalf("lift move: %s\nwiki %+v", r.String(), after)
	}

	// exact: the page ends with exactly what is named.
	run(t, env, admin, fmt.Sprintf(`/protect "%s" move=sysop`, title))
	r = run(t, env, admin, fmt.Sprintf(`/protect "%s" edit=sysop exact`, title))
	after = env.Protections(t, title)
	if !r.OK() || after["move"].Level != "" || after["edit"].Level != "sysop" || !strings.Contains(r.String(), "Lifted: Move (move).") {
		t.Fatalf("exact: %s\nwiki %+v", r.String(), after)
	}
}

// TestProtectSameTwiceIsUnchanged: the same command twice changes the page
// once; the second reply says nothing changed and is not announced, as the
// wiki writes no log entry for it.
func TestProtectSameTwiceIsUnchanged(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	title := testwait.Unique("Twice ")
	line := fmt.Sprintf(`/protect "%s" create=sysop expiry=infinite`, title)
	first := run(t, env, admin, line)
	second := run(t, env, admin, line)
	if !first.OK() || !first.Announce || !strings.Contains(english(first.Title), "changed") {
		t.Fatalf("first: %s", first.String())
	}
	if !second.OK() || second.Announce || second.Code != "unchanged" || !strings.Contains(english(second.Title), "unchanged") || !strings.Contains(english(second.Title), title) {
		t.Errorf("second: %+v", second)
	}
	entries := 0
	page, err := env.Bot.LogEvents(ctxTest, mwLogQuery("protect"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range page.Events {
		if ev.Title == title {
			entries++
		}
	}
	if entries != 1 {
		t.Errorf("the wiki logged %d entries", entries)
	}
}

// TestProtectShowsTheReasonTheWikiKept: a reason longer than the wiki keeps
// is shown as the wiki's log has it.
func TestProtectShowsTheReasonTheWikiKept(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	title := testwait.Unique("Long Reason ")
	reason := strings.Repeat("spam wave ", 300) // 3,000 characters
	r := run(t, env, admin, fmt.Sprintf(`/protect "%s" create=sysop reason="%s"`, title, reason))
	if !r.OK() {
		t.Fatal(r.String())
	}
	page, err := env.Bot.LogEvents(ctxTest, mwLogQuery("protect"))
	if err != nil {
		t.Fatal(err)
	}
	var logged string
	for _, ev := range page.Events {
		if ev.Title == title {
			logged = ev.Comment
		}
	}
	if logged == "" || len([]rune(logged)) >= 3000 {
		t.Fatalf("the wiki logged a %d-character reason", len([]rune(logged)))
	}
	if !strings.Contains(english(r.Text), "The wiki's log says: "+logged) {
		t.Errorf("reply differs from the wiki's log %q:\n%s", logged, r.Text)
	}
	if r.Protect.LogComment != logged {
		t.Errorf("recorded comment %q, wiki %q", r.Protect.LogComment, logged)
	}
	// The person's reason was shortened; who asked for it was not.
	if !strings.HasSuffix(logged, "— requested by console user admin via wikimod") || !strings.HasPrefix(logged, "spam wave spam wave") {
		t.Errorf("log comment %q", logged)
	}
	if !strings.HasPrefix(reason, strings.TrimSuffix(r.Protect.Reason, "...")) {
		t.Errorf("person's reason %q", r.Protect.Reason)
	}
	// The reply says it was shortened; a reason that fits is not said to be.
	if !strings.Contains(english(r.Text), "Your reason was shortened to fit") {
		t.Errorf("the reply does not say the reason was shortened:\n%s", r.Text)
	}
	r = run(t, env, admin, fmt.Sprintf(`/protect "%s" create=sysop expiry="1 week" reason="short"`, title))
	if !r.OK() || strings.Contains(english(r.Text), "shortened") {
		t.Errorf("a short reason:\n%s", r.String())
	}
}

// TestWritesAreSignedOnTheWiki: the wiki's own log names the chat user
// behind each write: /protect and /createaccount, with or without a reason.
func TestWritesAreSignedOnTheWiki(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	slackUser := commands.Actor{Platform: "slack", UserID: "U-ADMIN", UserName: "alice", Channel: "C1"}
	title := testwait.Unique("Signed ")
	run(t, env, slackUser, fmt.Sprintf(`/protect "%s" create=sysop reason="spam wave"`, title))
	run(t, env, admin, fmt.Sprintf(`/protect "%s" create=autoconfirmed`, title))
	name := testwait.Unique("Signed")
	if r := run(t, env, admin, fmt.Sprintf(`/createaccount username=%s email=signed@example.test reason="asked in chat"`, name)); !r.OK() {
		t.Fatal(r.String())
	}
	comments := map[string][]string{}
	for _, typ := range []string{"protect", "newusers"} {
		page, err := env.Bot.LogEvents(ctxTest, mwLogQuery(typ))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			comments[ev.Title] = append(comments[ev.Title], ev.Comment)
		}
	}
	want := []string{"Requested by console user admin via wikimod", "spam wave — requested by Slack user alice (U-ADMIN) via wikimod"}
	if got := comments[title]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("protect log comments = %q, want %q", got, want)
	}
	if got := comments["User:"+name]; len(got) != 1 || got[0] != "asked in chat — requested by console user admin via wikimod" {
		t.Errorf("user creation log comments = %q", got)
	}
	if rec := env.LastAudit(t); rec.Args["reason"] != "asked in chat" {
		t.Errorf("the audit log keeps the person's own reason: %+v", rec.Args)
	}
}

// TestProtectQuotesAndTitleInEveryReply: the quotes people type (single,
// curly) delimit the title, and every reply about a page names it.
func TestProtectQuotesAndTitleInEveryReply(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	title := testwait.Unique("Quoted Page ")
	for _, line := range []string{
		fmt.Sprintf(`/protect '%s' create=sysop`, title),
		fmt.Sprintf("/protect \u201c%s\u201d create=autoconfirmed", title),
	} {
		r := run(t, env, admin, line)
		if !r.OK() || !strings.Contains(english(r.Title), title) || strings.ContainsAny(english(r.Title), "'\u201c\u201d") {
			t.Errorf("%s: %s", line, r.String())
		}
	}
	if got := env.Protections(t, title)["create"].Level; got != "autoconfirmed" {
		t.Errorf("wiki: %q", got)
	}
	missing := testwait.Unique("Not There ")
	r := run(t, env, admin, fmt.Sprintf(`/protect '%s' edit=sysop`, missing))
	if r.Code != "missingtitle-createonly" || !strings.Contains(r.String(), missing) {
		t.Errorf("missing page: %+v", r)
	}
}

// TestPlanProtect checks the plan against the page's protections without a
// wiki: what is sent, kept, lifted, and what becomes of cascading.
func TestPlanProtect(t *testing.T) {
	cur := []mw.PageProtection{
		{Type: "edit", Level: "sysop", Expiry: "infinity", Cascade: true},
		{Type: "move", Level: "sysop", Expiry: "2030-01-01T00:00:00Z", Cascade: true},
	}
	cascading := []string{"sysop"}
	p := commands.PlanProtect(cur, []commands.ProtectChange{{Type: "edit", Level: "autoconfirmed", Expiry: "1 week"}}, false, nil, cascading)
	if got := fmt.Sprint(p.Protections, p.Expiry, p.Cascade); got != "[{move sysop} {edit autoconfirmed}] [2030-01-01T00:00:00Z 1 week] true" {
		t.Errorf("keep: %s", got)
	}
	p = commands.PlanProtect(cur, []commands.ProtectChange{{Type: "move", Level: "all", Expiry: "infinite"}}, false, nil, cascading)
	if fmt.Sprint(p.Lifted) != "[move]" || !p.Cascade || len(p.Kept) != 1 {
		t.Errorf("lift: %+v", p)
	}
	p = commands.PlanProtect(cur, []commands.ProtectChange{{Type: "edit", Level: "autoconfirmed", Expiry: "1 day"}}, true, nil, cascading)
	if fmt.Sprint(p.Lifted) != "[move]" || p.Cascade || len(p.Protections) != 1 {
		t.Errorf("exact: %+v", p)
	}
	off := false
	p = commands.PlanProtect(cur, []commands.ProtectChange{{Type: "edit", Level: "sysop", Expiry: "infinite"}}, false, &off, cascading)
	if p.Cascade || p.CascadeEnds {
		t.Errorf("cascade=no: %+v", p)
	}
	p = commands.PlanProtect(cur, []commands.ProtectChange{{Type: "edit", Level: "autoconfirmed", Expiry: "1 day"}, {Type: "move", Level: "autoconfirmed", Expiry: "1 day"}}, false, nil, cascading)
	if p.Cascade || !p.CascadeEnds {
		t.Errorf("nothing left that cascades: %+v", p)
	}
}

// TestQuotedWordsAreTitlesAndBareFlagsAreFlags: a quoted "Exact" or
// "Cascade" is the page's title, not the flag; a bare cascade after the
// title is the flag, and the audit log keeps the title without it.
func TestQuotedWordsAreTitlesAndBareFlagsAreFlags(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	for _, title := range []string{"Exact", "Cascade"} {
		r := run(t, env, admin, fmt.Sprintf(`/protect %q create=sysop expiry=infinite`, title))
		if !r.OK() || !strings.Contains(english(r.Title), "of "+title+" ") {
			t.Errorf("/protect %q: %s", title, r.String())
		}
		if got := env.Protections(t, title)["create"].Level; got != "sysop" {
			t.Errorf("%s: create=%q on the wiki", title, got)
		}
		if rec := env.LastAudit(t); rec.Args["_"] != title || len(rec.Args) != 3 {
			t.Errorf("audited as %v", rec.Args)
		}
	}
	title := testwait.Unique("Flag After Title ")
	createPage(t, env, title)
	r := run(t, env, admin, fmt.Sprintf(`/protect "%s" edit=sysop cascade`, title))
	if !r.OK() || !env.Protections(t, title)["edit"].Cascade {
		t.Fatalf("%s", r.String())
	}
	if rec := env.LastAudit(t); rec.Args["_"] != title || rec.Args["cascade"] != "" {
		t.Errorf("audited as %v, want the title %q and the flag apart", rec.Args, title)
	}
	if _, has := env.LastAudit(t).Args["cascade"]; !has {
		t.Error("the audit log lost the cascade flag")
	}
	if r := run(t, env, admin, fmt.Sprintf(`/protect "%s" edit=sysop cascade cascade=no`, title)); r.Code != "usage" {
		t.Errorf("cascade given twice: %s/%s", r.Outcome, r.Code)
	}
}

// TestOverlongTitleIsRefusedHere: a 200,000-character title is no page on
// any wiki; it is refused before anything is sent, and not blamed on the
// wiki.
func TestOverlongTitleIsRefusedHere(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	line := `/protect "` + strings.Repeat("x", 200000) + `" edit=sysop`
	run(t, env, admin, line) // logs in and reads the site's information
	before := wikiRequests(env, "query")
	r := run(t, env, admin, line)
	if r.Outcome != commands.OutcomeInvalid || r.Code != "title-too-long" || !strings.Contains(english(r.Text), "200000 characters") || strings.Contains(english(r.Title), "wiki refused") {
		t.Errorf("reply %s/%s: %s", r.Outcome, r.Code, r.String()[:min(300, len(r.String()))])
	}
	if n := wikiRequests(env, "protect") + wikiRequests(env, "query") - before; n != 0 {
		t.Errorf("%v requests reached the wiki", n)
	}
}

// TestProtectTitleAloneShowsAndChangesNothing: /protect TITLE alone shows
// what the page has now, who set it and why, and its history from the
// wiki's protect log; it sends no write.
func TestProtectTitleAloneShowsAndChangesNothing(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	title := testwait.Unique("Show Only ")
	createPage(t, env, title)
	if r := run(t, env, admin, fmt.Sprintf(`/protect %q edit=autoconfirmed expiry="1 day" reason="first wave"`, title)); !r.OK() {
		t.Fatal(r.String())
	}
	if r := run(t, env, admin, fmt.Sprintf(`/protect %q edit=sysop move=sysop expiry="1 week" reason="edit war"`, title)); !r.OK() {
		t.Fatal(r.String())
	}
	before := env.Protections(t, title)
	writes := wikiRequests(env, "protect")
	r := run(t, env, admin, fmt.Sprintf(`/protect %q`, title))
	plain := r.String()
	if !r.OK() || r.Code != "protection-shown" || r.Announce {
		t.Fatalf("reply %s/%s:\n%s", r.Outcome, r.Code, plain)
	}
	for _, want := range []string{
		"Edit (edit): Allow only administrators (sysop), until " + shown(before["edit"].Expiry) + " (in ",
		"Move (move): Allow only administrators (sysop)",
		"Set by Admin ",
		": edit war — requested by console user admin via wikimod",
		"2 protections in the last 90 days; the last: Edit (edit): Allow only administrators (sysop) for 1 week and Move (move): Allow only administrators (sysop) for 1 week, by Admin ",
		"Edit (edit): Allow only autoconfirmed users (autoconfirmed) for 1 day",
		"Nothing was changed.",
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("the reply lacks %q:\n%s", want, plain)
		}
	}
	if wikiRequests(env, "protect") != writes || fmt.Sprint(env.Protections(t, title)) != fmt.Sprint(before) {
		t.Error("showing the protection changed the page")
	}

	bare := testwait.Unique("Never Protected ")
	r = run(t, env, admin, fmt.Sprintf(`/protect %q`, bare))
	if !r.OK() || !strings.Contains(english(r.Title), "is not protected") || !strings.Contains(english(r.Text), "no entry") {
		t.Errorf("an unprotected page:\n%s", r.String())
	}
}

// TestProtectRepliesSpeakNoEnglish: every /protect reply, rendered in the
// qqx pseudo-language, is catalogue keys, the wiki's own messages and what
// the test or the wiki gave (titles, names, log comments, codes): no
// sentence was written in code, so a reader of any language reads none in
// English. Refusals are checked by their explanation (the reply's Text),
// which /protect writes; the title above it is the service's.
func TestProtectRepliesSpeakNoEnglish(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Rules: semiRules()})
	inQqx := i18n.Localizer{Lang: "qqx"}
	title := testwait.Unique("Qqx Page ")
	createPage(t, env, title)
	never := testwait.Unique("Qqx Never ")
	held := testwait.Unique("Qqx Held ")
	spec, _ := env.Service.Spec("protect")
	check := func(what string, text string, given ...string) {
		t.Helper()
		// The wiki's log comments: the test's reasons and the bot's
		// signature, written in the wiki's language.
		given = append(given, title, never, held, spec.Usage, "Admin", "first qqx wave", "Requested by console user admin via wikimod", "requested by console user admin via wikimod")
		if left := qqx.English(text, given...); len(left) > 0 {
			t.Errorf("%s: English %q left in:\n%s", what, left, text)
		}
		if !strings.Contains(text, "(wikimod-") {
			t.Errorf("%s: no catalogue message in:\n%s", what, text)
		}
	}
	reply := func(line string) commands.Reply {
		t.Helper()
		r := run(t, env, admin, line)
		if !r.OK() {
			t.Fatalf("%s: %s", line, r.String())
		}
		comment := ""
		if r.Protect != nil {
			comment = r.Protect.LogComment
		}
		check(line, r.Plain(inQqx), comment)
		return r
	}
	reply(fmt.Sprintf(`/protect %q edit=sysop move=sysop move_expiry="3 days" cascade reason="first qqx wave"`, title))
	reply(fmt.Sprintf(`/protect %q edit=autoconfirmed`, title))
	reply(fmt.Sprintf(`/protect %q edit=autoconfirmed`, title)) // unchanged
	reply(fmt.Sprintf(`/protect %q move=all`, title))           // lifted; cascading ends
	view := reply(fmt.Sprintf(`/protect %q`, title))
	if text := view.Plain(inQqx); !strings.Contains(text, "(restriction-edit)") || !strings.Contains(text, "(protect-level-autoconfirmed)") {
		t.Errorf("the protection is not named in the wiki's words:\n%s", text)
	}
	reply(fmt.Sprintf(`/protect %q`, never))

	// The semiprotector may not lower what an administrator set.
	createPage(t, env, held)
	reply(fmt.Sprintf(`/protect %q edit=sysop`, held))
	r := run(t, env, semi, fmt.Sprintf(`/protect %q edit=autoconfirmed`, held))
	ours, _, _ := strings.Cut(r.Text.String(), "(wikimod-word-separator)")
	if r.Code != "missing-right:editprotected" || !strings.HasPrefix(ours, "(wikimod-protect-") {
		t.Errorf("a semiprotector lowering sysop: %s/%s %s", r.Outcome, r.Code, r.Text)
	}
	check("denied", ours)

	for _, line := range []string{
		fmt.Sprintf(`/protect %q edit=nolevel`, title),
		fmt.Sprintf(`/protect %q nosuchparam=1`, title),
		fmt.Sprintf(`/protect %q title=%q edit=sysop`, title, title),
		`/protect "` + strings.Repeat("x", 400) + `" edit=sysop`,
		`/protect pageid=zero edit=sysop`,
		fmt.Sprintf(`/protect %q pageid=5 edit=sysop`, title),
		`/protect edit=sysop`,
		fmt.Sprintf(`/protect %q edit=sysop expiry=""`, title),
		fmt.Sprintf(`/protect %q edit_expiry="1 day"`, title),
		fmt.Sprintf(`/protect %q edit=sysop edit_expiry=""`, title),
		fmt.Sprintf(`/protect %q reason=why`, title),
		fmt.Sprintf(`/protect %q edit=sysop watchlist=never`, title),
		fmt.Sprintf(`/protect %q edit=autoconfirmed cascade`, title),
		`/protect pageid=2000000000 edit=sysop`,
		`/protect "Qqx [bad] title" edit=sysop`,
	} {
		r := run(t, env, admin, line)
		if r.OK() {
			t.Errorf("%s: %s", line, r.String())
			continue
		}
		check(line, r.Text.String(), strings.Repeat("x", 400), "nolevel", "nosuchparam", "zero", "never", "Qqx [bad] title")
	}

	// Lost answers, read back: the request applied, or the page already
	// was so, or the request did not reach the wiki.
	for _, tc := range []struct {
		forward bool
		line    string
		code    string
	}{
		{true, fmt.Sprintf(`/protect %q create=sysop expiry=infinite reason="lost qqx"`, never), "read-back"},
		{true, fmt.Sprintf(`/protect %q create=sysop expiry=infinite reason="lost qqx"`, never), "unchanged"},
		{false, fmt.Sprintf(`/protect %q create=autoconfirmed`, never), "outcome-unknown"},
	} {
		gw := &gateway502{action: "protect", forward: tc.forward}
		lost := testenv.New(t, wiki, testenv.Options{Transport: gw})
		gw.on.Store(true)
		r := run(t, lost, admin, tc.line)
		if r.Code != tc.code {
			t.Errorf("%s: %s, want %s:\n%s", tc.line, r.Code, tc.code, r.String())
		}
		check(tc.line, r.Plain(inQqx), "lost qqx — requested by console user admin via wikimod")
	}
}
