package mw_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// TestRecentChangesAgainstRealWiki edits a page as two accounts and rolls
// one back, then reads the recent changes from before, a page of two at a
// time: oldest first, each with its ids, user and time, the rollback
// tagged mw-rollback by MediaWiki and saved over the edit it undid
// (old_revid), and nothing from before the start; and the page's alone.
func TestRecentChangesAgainstRealWiki(t *testing.T) {
	w := devwiki.Need(t, wiki)
	c := newBot(t, nil, nil)
	ctx := context.Background()
	since := time.Now().UTC().Add(-2 * time.Second)
	title, editor := testwait.Unique("Changes Test "), testwait.Unique("Changer")
	if err := w.CreateUser(ctx, editor, "A-long-user-pass!", "", false); err != nil {
		t.Fatal(err)
	}
	if err := w.EditAs(ctx, "Admin", devwiki.AdminPassword, title, "first"); err != nil {
		t.Fatal(err)
	}
	if err := w.EditAs(ctx, editor, "A-long-user-pass!", title, "second"); err != nil {
		t.Fatal(err)
	}
	if err := w.RollbackAs(ctx, "Admin", devwiki.AdminPassword, title, editor); err != nil {
		t.Fatal(err)
	}

	// MediaWiki lists an edit in deferred updates, after it answered.
	testwait.For(t, "the wiki to list the rollback", func() bool {
		page, err := c.RecentChanges(ctx, mw.RecentChangesQuery{Title: title})
		return err == nil && len(page.Changes) == 3
	})

	var mine []mw.RecentChange
	q := mw.RecentChangesQuery{Start: since, Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the recent changes do not end")
		}
		page, err := c.RecentChanges(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) > 2 || page.AbuseLog != nil {
			t.Fatalf("asked for 2 changes a page and no abuse log: %+v", page)
		}
		for _, ch := range page.Changes {
			if ch.Timestamp.Before(since.Truncate(time.Second)) {
				t.Errorf("a change from before the start: %+v", ch)
			}
			if ch.Title == title {
				mine = append(mine, ch)
			}
		}
		if page.Continue == "" {
			break
		}
		q.Continue = page.Continue
	}
	if len(mine) != 3 {
		t.Fatalf("the page's changes: %+v, want three", mine)
	}
	created, edit, rollback := mine[0], mine[1], mine[2]
	if created.Type != mw.ChangeNew || created.User != "Admin" || created.OldRevID != 0 || created.RevID == 0 || created.PageID == 0 {
		t.Errorf("the creation: %+v", created)
	}
	if edit.Type != mw.ChangeEdit || edit.User != editor || edit.OldRevID != created.RevID || edit.RCID <= created.RCID {
		t.Errorf("the edit: %+v", edit)
	}
	if rollback.User != "Admin" || !rollback.HasTag(mw.TagRollback) || rollback.OldRevID != edit.RevID || rollback.HasTag(mw.TagUndo) {
		t.Errorf("the rollback: %+v", rollback)
	}
	if !slices.IsSortedFunc(mine, func(a, b mw.RecentChange) int { return a.Timestamp.Compare(b.Timestamp) }) {
		t.Errorf("not oldest first: %+v", mine)
	}

	// One page's changes alone.
	only, err := c.RecentChanges(ctx, mw.RecentChangesQuery{Title: title})
	if err != nil || len(only.Changes) != 3 || only.Changes[2].RCID != rollback.RCID {
		t.Errorf("the page's changes alone: %+v, %v", only, err)
	}

	// From after the rollback, none of them.
	page, err := c.RecentChanges(ctx, mw.RecentChangesQuery{Start: rollback.Timestamp.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range page.Changes {
		if ch.Title == title {
			t.Errorf("a change from before the start: %+v", ch)
		}
	}
}

// TestNoAbuseLogWithoutAbuseFilter: a wiki without AbuseFilter says so;
// asking for its abuse log alone is ErrNoAbuseLog rather than an empty
// log, and with the recent changes gives no log rather than an empty one.
// (bot/alerts reads a real one.)
func TestNoAbuseLogWithoutAbuseFilter(t *testing.T) {
	c := newBot(t, nil, nil)
	ctx := context.Background()
	if has, err := c.HasAbuseLog(ctx); err != nil || has {
		t.Errorf("HasAbuseLog = %v, %v; want false", has, err)
	}
	if _, err := c.AbuseLog(ctx, mw.AbuseLogQuery{}); !errors.Is(err, mw.ErrNoAbuseLog) {
		t.Errorf("AbuseLog = %v, want ErrNoAbuseLog", err)
	}
	page, err := c.RecentChanges(ctx, mw.RecentChangesQuery{AbuseLog: &mw.AbuseLogQuery{}, Limit: 1})
	if err != nil || page.AbuseLog != nil || len(page.Changes) != 1 {
		t.Errorf("RecentChanges with the abuse log = %+v, %v; want one change and no log", page, err)
	}
}
