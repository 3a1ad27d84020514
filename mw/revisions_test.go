package mw_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// TestRevisionsAfterAgainstRealWiki saves a page twelve times, by two
// accounts, and reads back the part of its history after a revision:
// newest first, with each one's user and text and the revision the oldest
// was saved over, across batches of the wiki's answer; cut at the limit
// the caller gives.
func TestRevisionsAfterAgainstRealWiki(t *testing.T) {
	w := devwiki.Need(t, wiki)
	rec := &recorder{}
	c := newBot(t, rec, nil)
	ctx := context.Background()
	s := testwait.Unique("")
	owner, other := "History Owner "+s, "History Other "+s
	createUser(t, w, owner, "", false)
	createUser(t, w, other, "", false)
	page := "User:" + owner + "/wikimod"

	type saved struct {
		id         int64
		user, text string
	}
	var revs []saved // oldest first
	for i := range 12 {
		user := owner
		if i%3 == 1 {
			user = other
		}
		text := fmt.Sprintf("version %d by %s", i, user)
		if err := w.EditAs(ctx, user, "Test-user-pass-"+user, page, text); err != nil {
			t.Fatal(err)
		}
		rev, err := c.LatestRevision(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, saved{rev.ID, user, text})
	}
	// check compares a history with revs[from:] newest first, saved over
	// revs[from-1].
	check := func(name string, h mw.History, from int) {
		t.Helper()
		if h.Title != page || h.Missing || h.Truncated {
			t.Errorf("%s: %+v, want %s, not missing, not truncated", name, h, page)
		}
		want := revs[from:]
		if len(h.After) != len(want) {
			t.Fatalf("%s: %d revisions after, want %d", name, len(h.After), len(want))
		}
		for i, r := range h.After {
			wr := want[len(want)-1-i]
			if r.ID != wr.id || r.User != wr.user || r.Content != wr.text || r.UserHidden || r.ContentHidden || r.Timestamp.IsZero() || r.Title != page {
				t.Errorf("%s: After[%d] = %+v, want %+v", name, i, r, wr)
			}
		}
		switch {
		case from == 0 && h.Before != nil:
			t.Errorf("%s: Before = %+v, want none: the history begins within After", name, h.Before)
		case from > 0 && (h.Before == nil || h.Before.ID != revs[from-1].id || h.Before.Content != revs[from-1].text):
			t.Errorf("%s: Before = %+v, want %+v", name, h.Before, revs[from-1])
		}
	}

	for _, from := range []int{11, 9, 0} {
		after := int64(0)
		if from > 0 {
			after = revs[from-1].id
		}
		rec.mu.Lock()
		before := len(rec.reqs)
		rec.mu.Unlock()
		h, err := c.RevisionsAfter(ctx, page, after, 50)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("after revision %d", after), h, from)
		rec.mu.Lock()
		n := len(rec.reqs) - before
		rec.mu.Unlock()
		// Ten revisions a batch: all twelve, with none before, take two.
		if from == 0 && n != 2 || from > 0 && n != 1 {
			t.Errorf("after revision %d: %d requests", after, n)
		}
	}
	// A revision just saved, with none after it.
	h, err := c.RevisionsAfter(ctx, page, revs[11].id, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.After) != 0 || h.Before == nil || h.Before.ID != revs[11].id || h.Truncated {
		t.Errorf("after the latest: %+v, want nothing after and the latest before", h)
	}

	// More than the limit: the newest, and no Before.
	h, err = c.RevisionsAfter(ctx, page, revs[0].id, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Truncated || len(h.After) != 4 || h.After[0].ID != revs[11].id || h.After[3].ID != revs[8].id || h.Before != nil {
		t.Errorf("limit 4 of 11: truncated %v, %d after, before %v", h.Truncated, len(h.After), h.Before)
	}
	// Exactly the limit is not truncated.
	h, err = c.RevisionsAfter(ctx, page, revs[7].id, 4)
	if err != nil {
		t.Fatal(err)
	}
	if h.Truncated || len(h.After) != 4 || h.Before == nil || h.Before.ID != revs[7].id {
		t.Errorf("limit 4 of 4: truncated %v, %d after, before %v", h.Truncated, len(h.After), h.Before)
	}

	h, err = c.RevisionsAfter(ctx, "User:Nobody "+s+"/wikimod", 0, 50)
	if err != nil || !h.Missing || len(h.After) != 0 || h.Before != nil {
		t.Errorf("missing page: %+v, %v", h, err)
	}
	var titleErr *mw.InvalidTitleError
	if _, err := c.RevisionsAfter(ctx, "Bad[title", 0, 50); !errors.As(err, &titleErr) {
		t.Errorf("invalid title: %v, want an InvalidTitleError", err)
	}
}
