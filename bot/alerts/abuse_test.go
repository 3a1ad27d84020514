package alerts_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// spamFilter is the description of the AbuseFilter filter the tests add:
// it logs edits that add "spam-link" to a page whose title starts with
// "Spammed ", and does nothing else.
const spamFilter = "wikimod test: spam links"

var abuseFilter struct {
	once sync.Once
	err  error
}

// withAbuseFilter enables AbuseFilter on the test wiki and adds the test
// filter, once a process: it is the wiki's for the rest of the run, and
// matches only the pages these tests spam.
func withAbuseFilter(t *testing.T) {
	t.Helper()
	w := devwiki.Need(t, wiki)
	abuseFilter.once.Do(func() {
		ctx := context.Background()
		if abuseFilter.err = w.EnableAbuseFilter(ctx); abuseFilter.err == nil {
			_, abuseFilter.err = w.AddAbuseFilter(ctx, spamFilter, `page_title rlike "^Spammed " & added_lines irlike "spam-link"`)
		}
	})
	if abuseFilter.err != nil {
		t.Fatal(abuseFilter.err)
	}
}

// TestAbuseFilterHitsRaiseAnAlert: on a wiki with AbuseFilter, three hits
// of a filter on one page within the window (two editors, none reverted)
// raise an alert that names the hits, who made them and the filter; its
// suggested button protects the page with a reason that says why. The
// abuse log is read in the same request as the recent changes.
func TestAbuseFilterHitsRaiseAnAlert(t *testing.T) {
	withAbuseFilter(t)
	f := newFixture(t, nil)
	ctx := context.Background()
	title := testwait.Unique("Spammed ")
	who := editors(t, wiki, 2)
	since := time.Now().UTC().Add(-time.Second)
	if err := as(t, wiki, "Admin", devwiki.AdminPassword).Edit(ctx, title, "A clean page."); err != nil {
		t.Fatal(err)
	}
	for i, e := range []string{who[0], who[0], who[1]} {
		if err := as(t, wiki, e, userPassword).Edit(ctx, title, strings.Repeat("spam-link ", i+1)); err != nil {
			t.Fatal(err)
		}
	}

	// What the follower reads, as the wiki answers it.
	page, err := f.env.Anon.RecentChanges(ctx, mw.RecentChangesQuery{Start: since, AbuseLog: &mw.AbuseLogQuery{Start: since}})
	if err != nil || page.AbuseLog == nil {
		t.Fatalf("recent changes with the abuse log: %+v, %v", page, err)
	}
	hits := 0
	for _, h := range page.AbuseLog.Hits {
		if h.Title == title {
			hits++
			if h.Filter != spamFilter || h.Action != "edit" || h.ID == 0 || h.Timestamp.Before(since.Truncate(time.Second)) {
				t.Errorf("hit: %+v", h)
			}
		}
	}
	// Read alone, by the bot's session, which may see each hit's filter
	// id and the edit's revision.
	alone, err := f.env.Bot.AbuseLog(ctx, mw.AbuseLogQuery{Start: since})
	if err != nil {
		t.Fatal(err)
	}
	var mine []mw.AbuseHit
	for _, h := range alone.Hits {
		if h.Title == title {
			mine = append(mine, h)
		}
	}
	if hits != 3 || len(mine) != 3 || mine[0].FilterID == "" || mine[0].RevID == 0 || mine[0].ID >= mine[1].ID {
		t.Fatalf("hits: %d with the changes; alone: %+v", hits, mine)
	}

	got := f.alertWithin(t, 2, title)
	if len(got) != 1 {
		t.Fatalf("%d alerts, want one", len(got))
	}
	m := got[0]
	if tl := english(m.Title); tl != "Abuse filter hits on "+title+": 3 hits within 15 minutes" {
		t.Errorf("title %q", tl)
	}
	if v := field(m, "Abuse filter hits"); v != "3 hits by "+who[0]+" and "+who[1]+" (filters: "+spamFilter+")" {
		t.Errorf("hits: %q", v)
	}
	if field(m, "Reverted edits") != "" {
		t.Errorf("an abuse alert counts reverts: %q", field(m, "Reverted edits"))
	}
	if r := f.press(t, slackAdmin, button(t, m, "Protect: edit=autoconfirmed, 1 day (suggested)")); !r.OK() {
		t.Fatalf("protect: %s", r.String())
	}
	if log := protectLog(t, f.env.Bot, title); len(log) != 1 || !strings.Contains(log[0].Comment, "Vandalism: 3 abuse filter hits within 15 minutes (wikimod alert)") {
		t.Errorf("protect log: %+v", log)
	}
}
