package mw_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

func TestProtectLogAgainstRealWiki(t *testing.T) {
	c := newBot(t, nil, nil)
	ctx := context.Background()
	// Start a little before now: the wiki stamps entries to the second.
	since := time.Now().UTC().Add(-2 * time.Second)
	protect := func(title string, prots []mw.Protection, expiry []string, reason string) {
		t.Helper()
		if _, err := c.Protect(ctx, mw.ProtectParams{Title: title, Protections: prots, Expiry: expiry, Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	// The wiki outlives one run of the test (-count): a new title each time.
	title := testwait.Unique("Log Test Title ")
	protect(title, []mw.Protection{{Action: "create", Level: "sysop"}}, []string{"1 week"}, "first")
	protect(title, []mw.Protection{{Action: "create", Level: "autoconfirmed"}}, []string{"2 weeks"}, "second")
	protect(title, []mw.Protection{{Action: "create", Level: "all"}}, nil, "third")

	var events []mw.LogEvent
	q := mw.LogEventsQuery{Type: "protect", Newer: true, Start: since, Limit: 1}
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatal("the log does not end")
		}
		page, err := c.LogEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) > 1 {
			t.Fatalf("asked for 1 entry per page, got %d", len(page.Events))
		}
		for _, e := range page.Events {
			if e.Title == title {
				events = append(events, e)
			}
		}
		if page.Continue == "" {
			break
		}
		q.Continue = page.Continue
	}
	if len(events) != 3 {
		t.Fatalf("got %d entries for the title, want 3: %+v", len(events), events)
	}
	wantActions := []string{"protect", "modify", "unprotect"}
	for i, e := range events {
		if e.Action != wantActions[i] || e.Type != "protect" || e.User != "Admin" || e.NS != 0 || e.LogID == 0 || e.Timestamp.Before(since) {
			t.Errorf("entry %d = %+v, want action %s by Admin", i, e, wantActions[i])
		}
		if i > 0 && e.LogID <= events[i-1].LogID {
			t.Errorf("entries are not oldest first: %d after %d", e.LogID, events[i-1].LogID)
		}
	}
	d := events[1].Params.Details
	if len(d) != 1 || d[0].Type != "create" || d[0].Level != "autoconfirmed" || events[1].Comment != "second" {
		t.Fatalf("modify entry = %+v", events[1])
	}
	exp, err := time.Parse(time.RFC3339, d[0].Expiry)
	if err != nil {
		t.Fatalf("expiry %q is not absolute: %v", d[0].Expiry, err)
	}
	if got := exp.Sub(events[1].Timestamp); got < 14*24*time.Hour-time.Minute || got > 14*24*time.Hour+time.Minute {
		t.Errorf("expiry is %v after the entry, want two weeks", got)
	}

	// Starting after an entry leaves it out.
	page, err := c.LogEvents(ctx, mw.LogEventsQuery{Type: "protect", Newer: true, Start: events[2].Timestamp.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Events {
		if e.LogID <= events[2].LogID {
			t.Errorf("entry %d is older than the start", e.LogID)
		}
	}
}

func TestPageStatesAgainstRealWiki(t *testing.T) {
	c := newBot(t, nil, nil)
	ctx := context.Background()
	if _, err := c.Protect(ctx, mw.ProtectParams{Title: "State Test Title",
		Protections: []mw.Protection{{Action: "create", Level: "sysop"}}, Expiry: []string{"3 days"}}); err != nil {
		t.Fatal(err)
	}
	// A page with cascading protection that transcludes another: that one
	// inherits the protection.
	for _, e := range [][2]string{{"State Cascade Target", "transcluded"}, {"State Cascade Source", "{{:State Cascade Target}}"}} {
		if _, err := c.Post(ctx, "csrf", url.Values{"action": {"edit"}, "title": {e[0]}, "text": {e[1]}, "summary": {"test"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Protect(ctx, mw.ProtectParams{Title: "State Cascade Source",
		Protections: []mw.Protection{{Action: "edit", Level: "sysop"}, {Action: "move", Level: "sysop"}},
		Expiry:      []string{"1 day", "infinite"}, Cascade: true}); err != nil {
		t.Fatal(err)
	}

	var got map[string]mw.PageState
	// The wiki records what a page transcludes after it has answered the
	// edit: wait for it.
	testwait.For(t, "the wiki to record that State Cascade Target inherits the cascade", func() bool {
		var err error
		got, err = c.PageStates(ctx, "State_Test_Title", "State Cascade Source", "State Cascade Target", "Talk:Nothing Here", "Bad[title")
		if err != nil {
			t.Fatal(err)
		}
		return len(got["State Cascade Target"].Inherited) > 0
	})
	st, ok := got["State_Test_Title"]
	if !ok || st.Title != "State Test Title" || !st.Missing || len(st.Protections) != 1 || st.Protections[0].Type != "create" {
		t.Errorf("State_Test_Title = %+v, %v; want the normalised missing title with create protection", st, ok)
	}
	src := got["State Cascade Source"]
	if src.Missing || len(src.Protections) != 2 || len(src.Inherited) != 0 {
		t.Fatalf("cascading page = %+v", src)
	}
	for _, p := range src.Protections {
		switch p.Type {
		case "edit":
			if !p.Cascade || p.Level != "sysop" {
				t.Errorf("edit = %+v, want sysop with cascade", p)
			}
		case "move":
			if p.Expiry != "infinity" {
				t.Errorf("move expiry = %q, want infinity", p.Expiry)
			}
		}
	}
	tgt := got["State Cascade Target"]
	if len(tgt.Protections) != 0 || len(tgt.Inherited) != 1 || tgt.Inherited[0].Source != "State Cascade Source" {
		t.Errorf("transcluded page = %+v, want one inherited protection and none of its own", tgt)
	}
	if talk := got["Talk:Nothing Here"]; talk.NS != 1 || !talk.Missing || len(talk.Protections) != 0 {
		t.Errorf("talk page = %+v", talk)
	}
	if bad := got["Bad[title"]; !bad.Invalid {
		t.Errorf("invalid title = %+v", bad)
	}
}
