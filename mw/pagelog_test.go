package mw_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// TestPageWithLogReadsBothInOneRequest: PageWithLog answers what Page
// answers and the page's protect log, newest first, in one request to the
// real wiki; by page id, and for a title the log cannot take, in two.
func TestPageWithLogReadsBothInOneRequest(t *testing.T) {
	rec := &recorder{}
	c := newBot(t, rec, nil)
	ctx := context.Background()
	// The wiki outlives one run of the test (-count): a new title each time.
	title := testwait.Unique("pagelog Test ")
	canonical := strings.ToUpper(title[:1]) + title[1:]
	for i, level := range []string{"sysop", "autoconfirmed", "sysop"} {
		if _, err := c.Protect(ctx, mw.ProtectParams{Title: canonical, Protections: []mw.Protection{{Action: "create", Level: level}},
			Expiry: []string{"1 week"}, Reason: "wave " + strconv.Itoa(i+1)}); err != nil {
			t.Fatal(err)
		}
	}

	// Asked as it was typed, lower case first letter and all.
	before := rec.count()
	st, log, err := c.PageWithLog(ctx, title, 0, mw.PageLog{Type: mw.LogProtect})
	if err != nil {
		t.Fatal(err)
	}
	if n := rec.count() - before; n != 1 {
		t.Errorf("PageWithLog sent %d requests, want 1: %v", n, rec.actions()[before:])
	}
	page, err := c.Page(ctx, title, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(st) != fmt.Sprint(page) || st.Title != canonical || !st.Missing || len(st.Protections) != 1 || st.Protections[0].Level != "sysop" {
		t.Errorf("page = %+v, want what Page says: %+v", st, page)
	}
	if len(log.Events) != 3 || log.Continue != "" {
		t.Fatalf("log = %+v, want the 3 entries and no more", log)
	}
	for i, want := range []string{"modify", "modify", "protect"} {
		e := log.Events[i]
		if e.Action != want || e.Title != canonical || e.User != "Admin" || e.LogID == 0 || e.Timestamp.IsZero() || len(e.Params.Details) != 1 {
			t.Errorf("entry %d = %+v, want %s by Admin with its details", i, e, want)
		}
		if e.Comment != "" {
			t.Errorf("entry %d has its comment %q, which was not asked for", i, e.Comment)
		}
	}
	if d := log.Events[1].Params.Details[0]; d.Type != "create" || d.Level != "autoconfirmed" {
		t.Errorf("the second newest set %+v, want create=autoconfirmed", d)
	}

	// Comments when asked; a limit leaves the rest to Continue.
	_, log, err = c.PageWithLog(ctx, canonical, 0, mw.PageLog{Type: mw.LogProtect, Limit: 2, Comments: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Events) != 2 || log.Continue == "" || log.Events[0].Comment != "wave 3" || log.Events[1].Comment != "wave 2" {
		t.Errorf("log with comments, 2 entries = %+v", log)
	}

	// By page id: the page, then its log by the title the wiki gave.
	main, err := c.Page(ctx, "Main Page", 0)
	if err != nil {
		t.Fatal(err)
	}
	mainLog, err := c.LogEvents(ctx, mw.LogEventsQuery{Type: mw.LogProtect, Title: "Main Page", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	id := pageID(t, c, "Main Page")
	before = rec.count()
	st, log, err = c.PageWithLog(ctx, "", id, mw.PageLog{Type: mw.LogProtect})
	if err != nil {
		t.Fatal(err)
	}
	if n := rec.count() - before; n != 2 {
		t.Errorf("by page id: %d requests, want 2: %v", n, rec.actions()[before:])
	}
	if st.Title != "Main Page" || fmt.Sprint(st.Protections) != fmt.Sprint(main.Protections) || len(log.Events) != len(mainLog.Events) {
		t.Errorf("by page id: %+v with %d entries, want %+v with %d", st, len(log.Events), main, len(mainLog.Events))
	}
	// A page id that names no page: no log to read.
	before = rec.count()
	st, log, err = c.PageWithLog(ctx, "", 99999999, mw.PageLog{Type: mw.LogProtect})
	if err != nil || !st.Missing || len(log.Events) != 0 || rec.count()-before != 1 {
		t.Errorf("no such page id: %+v %+v %v after %d requests", st, log, err, rec.count()-before)
	}

	// A page never protected has an empty log.
	st, log, err = c.PageWithLog(ctx, testwait.Unique("Pagelog Never "), 0, mw.PageLog{Type: mw.LogProtect})
	if err != nil || !st.Missing || len(st.Protections) != 0 || len(log.Events) != 0 || log.Continue != "" {
		t.Errorf("a page never protected: %+v %+v %v", st, log, err)
	}

	// A title the log refuses (invalidtitle) is still answered as Page
	// answers it: invalid, and no error.
	before = rec.count()
	st, log, err = c.PageWithLog(ctx, "Bad [title]", 0, mw.PageLog{Type: mw.LogProtect})
	if err != nil || !st.Invalid || len(log.Events) != 0 {
		t.Errorf("an invalid title: %+v %+v %v", st, log, err)
	}
	if n := rec.count() - before; n != 2 {
		t.Errorf("an invalid title: %d requests, want 2 (the page asked again alone)", n)
	}
}

// pageID reads a page's id.
func pageID(t *testing.T, c *mw.Client, title string) int {
	t.Helper()
	var res struct {
		Query struct {
			Pages []struct {
				PageID int `json:"pageid"`
			} `json:"pages"`
		} `json:"query"`
	}
	if _, err := c.Get(context.Background(), map[string][]string{"action": {"query"}, "titles": {title}}, &res); err != nil || len(res.Query.Pages) != 1 || res.Query.Pages[0].PageID == 0 {
		t.Fatalf("page id of %q: %v %+v", title, err, res)
	}
	return res.Query.Pages[0].PageID
}
