package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/qqx"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// protectOnWiki protects a page through the bot's session directly, as an
// administrator would on the wiki: the bot's service takes no part.
func protectOnWiki(t *testing.T, env *testenv.Env, title, protections, expiry string) {
	t.Helper()
	p := mw.ProtectParams{Title: title, Expiry: []string{expiry}, Reason: "on the wiki"}
	for _, pr := range strings.Split(protections, "|") {
		action, level, _ := strings.Cut(pr, "=")
		p.Protections = append(p.Protections, mw.Protection{Action: action, Level: level})
	}
	if _, err := env.Bot.Protect(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// TestProtectReplyCarriesTheHistoryLine: every /protect reply says the
// page's protection history in a line, read with the page in the request
// /protect makes anyway. A protection just made is counted in (the log
// read before the write cannot hold it) and the one before it is named; a
// reply that changed nothing, or lifted every protection, gives the log as
// it is.
func TestProtectReplyCarriesTheHistoryLine(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	title := testwait.Unique("History Line ")
	createPage(t, env, title)
	protectOnWiki(t, env, title, "edit=autoconfirmed", "1 day")
	protectOnWiki(t, env, title, "edit=sysop", "1 week")
	protectOnWiki(t, env, title, "edit=sysop|move=sysop", "1 week")
	// Warm: the session, its tokens and the site's information.
	run(t, env, admin, fmt.Sprintf(`/protect %q create=sysop`, testwait.Unique("History Warm ")))

	queries, writes := wikiRequests(env, "query"), wikiRequests(env, "protect")
	r := run(t, env, admin, fmt.Sprintf(`/protect %q edit=autoconfirmed`, title))
	if !r.OK() || r.Code == "unchanged" {
		t.Fatal(r.String())
	}
	want := "4 protections in the last 90 days, this one included; the one before: Edit (edit): Allow only administrators (sysop) for 1 week and Move (move): Allow only administrators (sysop) for 1 week, by Admin "
	if !strings.Contains(r.String(), want) {
		t.Errorf("the reply lacks %q:\n%s", want, r.String())
	}
	// No request more than before: the page and its log in one read, then
	// the write.
	if q, w := wikiRequests(env, "query")-queries, wikiRequests(env, "protect")-writes; q != 1 || w != 1 {
		t.Errorf("/protect sent %v reads and %v writes, want 1 and 1", q, w)
	}

	// Nothing changed: the log as it is, its last entry the one just made.
	r = run(t, env, admin, fmt.Sprintf(`/protect %q edit=autoconfirmed`, title))
	want = "4 protections in the last 90 days; the last: Move (move): Allow only administrators (sysop) for 1 week and Edit (edit): Allow only autoconfirmed users (autoconfirmed) indefinitely, by Admin "
	if r.Code != "unchanged" || !strings.Contains(r.String(), want) {
		t.Errorf("unchanged: the reply lacks %q:\n%s", want, r.String())
	}

	// By page id, the log is read once the page's title is known.
	id := pageIDOf(t, env, title)
	queries = wikiRequests(env, "query")
	r = run(t, env, admin, fmt.Sprintf(`/protect pageid=%d edit=sysop`, id))
	want = "5 protections in the last 90 days, this one included; the one before: Move (move): Allow only administrators (sysop) for 1 week and Edit (edit): Allow only autoconfirmed users (autoconfirmed) indefinitely, by Admin "
	if !r.OK() || !strings.Contains(r.String(), want) {
		t.Errorf("by page id: the reply lacks %q:\n%s", want, r.String())
	}
	if q := wikiRequests(env, "query") - queries; q != 2 {
		t.Errorf("by page id: %v reads, want 2 (the page, then its log)", q)
	}

	// Every protection lifted: the wiki logs an unprotect, no protection;
	// the last protection is the one just lifted.
	r = run(t, env, admin, fmt.Sprintf(`/protect %q edit=all move=all`, title))
	want = "5 protections in the last 90 days; the last: Move (move): Allow only administrators (sysop) for 1 week and Edit (edit): Allow only administrators (sysop) indefinitely, by Admin "
	if !r.OK() || r.Code == "unchanged" || !strings.Contains(r.String(), want) {
		t.Errorf("lifted: the reply lacks %q:\n%s", want, r.String())
	}

	// /protect TITLE alone reads the page and its log, comments and all,
	// in one request too.
	queries = wikiRequests(env, "query")
	r = run(t, env, admin, fmt.Sprintf(`/protect %q`, title))
	if q := wikiRequests(env, "query") - queries; !r.OK() || q != 1 || !strings.Contains(r.String(), "5 protections in the last 90 days; the last: ") || !strings.Contains(r.String(), "(on the wiki)") {
		t.Errorf("the view sent %v reads:\n%s", q, r.String())
	}
}

// TestProtectReplyOnAPageNeverProtected: a page whose log holds no
// protection gets its first; a reply that changes nothing on one says the
// log has none.
func TestProtectReplyOnAPageNeverProtected(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	title := testwait.Unique("History First ")
	r := run(t, env, admin, fmt.Sprintf(`/protect %q create=sysop expiry=infinite`, title))
	if want := "This is the first protection of this page in the wiki's log."; !r.OK() || !strings.Contains(r.String(), want) {
		t.Errorf("the reply lacks %q:\n%s", want, r.String())
	}
	r = run(t, env, admin, fmt.Sprintf(`/protect %q create=sysop expiry=infinite`, title))
	if want := "1 protection in the last 90 days; the last: Create (create): Allow only administrators (sysop) indefinitely, by Admin "; r.Code != "unchanged" || !strings.Contains(r.String(), want) {
		t.Errorf("the reply lacks %q:\n%s", want, r.String())
	}

	never := testwait.Unique("History Never ")
	r = run(t, env, admin, fmt.Sprintf(`/protect %q create=all`, never))
	if want := "The wiki's log has no protection of this page."; r.Code != "unchanged" || !strings.Contains(r.String(), want) {
		t.Errorf("the reply lacks %q:\n%s", want, r.String())
	}
}

// TestProtectHistoryCountsNinetyDays: protections older than 90 days (by
// the service's clock) are not counted, but the one before is still named.
func TestProtectHistoryCountsNinetyDays(t *testing.T) {
	later := func() time.Time { return time.Now().Add(91 * 24 * time.Hour) }
	env := testenv.New(t, wiki, testenv.Options{Now: later})
	title := testwait.Unique("History Window ")
	protectOnWiki(t, env, title, "create=sysop", "infinite")
	protectOnWiki(t, env, title, "create=autoconfirmed", "infinite")
	r := run(t, env, admin, fmt.Sprintf(`/protect %q create=sysop`, title))
	want := "1 protection in the last 90 days, this one included; the one before: Create (create): Allow only autoconfirmed users (autoconfirmed) indefinitely, by Admin "
	if !r.OK() || !strings.Contains(r.String(), want) {
		t.Errorf("the reply lacks %q:\n%s", want, r.String())
	}
}

// TestProtectHistoryInReadBack: when the wiki's answer is lost, the reply
// read back carries the line too: the protection it finds in the log
// counted in, or the log as it is when it finds none.
func TestProtectHistoryInReadBack(t *testing.T) {
	for _, tc := range []struct {
		name    string
		forward bool
		code    string
		want    string
	}{
		{"applied", true, "read-back", "2 protections in the last 90 days, this one included; the one before: Edit (edit): Allow only autoconfirmed users (autoconfirmed) for 1 day, by Admin "},
		{"not sent", false, "outcome-unknown", "1 protection in the last 90 days; the last: Edit (edit): Allow only autoconfirmed users (autoconfirmed) for 1 day, by Admin "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := &gateway502{action: "protect", forward: tc.forward}
			env := testenv.New(t, wiki, testenv.Options{Transport: gw})
			title := testwait.Unique("History Read Back ")
			createPage(t, env, title)
			protectOnWiki(t, env, title, "edit=autoconfirmed", "1 day")
			gw.on.Store(true)
			r := run(t, env, admin, fmt.Sprintf(`/protect %q edit=sysop`, title))
			gw.on.Store(false)
			if r.Code != tc.code || !strings.Contains(r.String(), tc.want) {
				t.Errorf("reply %s/%s lacks %q:\n%s", r.Outcome, r.Code, tc.want, r.String())
			}
		})
	}
}

// TestProtectHistoryLineSpeaksNoEnglish: each form of the history line, in
// qqx, is catalogue keys and what the wiki gave.
func TestProtectHistoryLineSpeaksNoEnglish(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	inQqx := i18n.Localizer{Lang: "qqx"}
	title := testwait.Unique("History Qqx ")
	never := testwait.Unique("History Qqx Never ")
	for _, c := range []struct{ line, key string }{
		{fmt.Sprintf(`/protect %q create=sysop expiry=infinite`, title), "(wikimod-protect-history-first)"},
		{fmt.Sprintf(`/protect %q create=autoconfirmed expiry=infinite`, title), "(wikimod-protect-history-with-this: 2"},
		{fmt.Sprintf(`/protect %q create=autoconfirmed expiry=infinite`, title), "(wikimod-protect-history: 2"},
		{fmt.Sprintf(`/protect %q create=all`, never), "(wikimod-protect-history-none)"},
	} {
		r := run(t, env, admin, c.line)
		text := r.Plain(inQqx)
		if !r.OK() || !strings.Contains(text, c.key) {
			t.Errorf("%s: no %s in:\n%s", c.line, c.key, text)
		}
		given := []string{title, never, "Admin", "Requested by console user admin via wikimod"}
		if left := qqx.English(text, given...); len(left) > 0 {
			t.Errorf("%s: English %q left in:\n%s", c.line, left, text)
		}
	}
}

// pageIDOf reads a page's id from the wiki.
func pageIDOf(t *testing.T, env *testenv.Env, title string) int {
	t.Helper()
	var res struct {
		Query struct {
			Pages []struct {
				PageID int `json:"pageid"`
			} `json:"pages"`
		} `json:"query"`
	}
	if _, err := env.Bot.Get(context.Background(), map[string][]string{"action": {"query"}, "titles": {title}}, &res); err != nil || len(res.Query.Pages) != 1 || res.Query.Pages[0].PageID == 0 {
		t.Fatalf("page id of %q: %v %+v", title, err, res)
	}
	return res.Query.Pages[0].PageID
}
