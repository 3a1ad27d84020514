package alerts

import (
	"reflect"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/mw"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// history builds recent changes of one page as the wiki lists them: each
// revision saved over the one before.
type history struct {
	title string
	rev   int64
	rcid  int64
}

func (h *history) edit(user string, at time.Duration, tags ...string) mw.RecentChange {
	h.rev++
	h.rcid++
	return mw.RecentChange{RCID: h.rcid, Type: mw.ChangeEdit, Title: h.title, RevID: h.rev, OldRevID: h.rev - 1, User: user,
		Timestamp: t0.Add(at), Tags: tags}
}

// judged feeds changes to a detector with the default rules and judges
// the page.
func judged(t *testing.T, d *detector, changes ...mw.RecentChange) burst {
	t.Helper()
	for _, c := range changes {
		d.change(c)
	}
	ps := d.troubled()
	if len(ps) != 1 {
		t.Fatalf("%d pages in trouble, want one", len(ps))
	}
	return d.judge(ps[0])
}

// TestRollbacksOfThreeEditorsMeetTheRule: three editors, each rolled back
// (the rollback tagged mw-rollback, the edits not yet tagged mw-reverted):
// three reverted edits from three editors, reverted by one, from the first
// revert on.
func TestRollbacksOfThreeEditorsMeetTheRule(t *testing.T) {
	d := newDetector(DefaultRules)
	h := &history{title: "War", rev: 10}
	b := judged(t, d,
		h.edit("Ann", 0), h.edit("Admin", time.Minute, mw.TagRollback),
		h.edit("Bob", 2*time.Minute), h.edit("Admin", 3*time.Minute, mw.TagRollback),
		h.edit("Cy", 4*time.Minute), h.edit("Admin", 5*time.Minute, mw.TagRollback))
	want := commands.Alert{Title: "War", Started: t0.Add(time.Minute), LastSeen: t0.Add(5 * time.Minute), Rule: commands.AlertRuleReverts,
		Reverts: 3, Editors: []string{"Ann", "Bob", "Cy"}, Reverters: []string{"Admin"}}
	if !b.meets || !reflect.DeepEqual(b.alert, want) {
		t.Fatalf("judged %v:\n got %+v\nwant %+v", b.meets, b.alert, want)
	}
	if len(d.troubled()) != 0 {
		t.Error("the page is still marked in trouble after it was judged")
	}
}

// TestRevertsAreCountedOnce: a rollback undoes the editor's consecutive
// edits, each once; the mw-reverted tags that arrive on the same edits
// (read again after a restart) count nothing more; an undo and a manual
// revert count like a rollback; one editor alone is not an edit war.
func TestRevertsAreCountedOnce(t *testing.T) {
	d := newDetector(DefaultRules)
	h := &history{title: "Vandal", rev: 1}
	first, second := h.edit("Vandal", 0), h.edit("Vandal", time.Second)
	b := judged(t, d, first, second, h.edit("Admin", 2*time.Second, mw.TagRollback))
	if b.meets || b.alert.Reverts != 2 || !reflect.DeepEqual(b.alert.Editors, []string{"Vandal"}) {
		t.Fatalf("one vandal's two edits rolled back: %v %+v", b.meets, b.alert)
	}
	// Read again with their tags: the same two.
	first.Tags, second.Tags = []string{mw.TagReverted}, []string{mw.TagReverted}
	d.change(first)
	d.change(second)
	if len(d.troubled()) != 0 {
		t.Error("edits read again made trouble again")
	}
	// An undo, and a manual revert, of another editor.
	b = judged(t, d, h.edit("Eve", time.Minute), h.edit("Admin", 2*time.Minute, mw.TagUndo))
	if !b.meets || b.alert.Reverts != 3 || !reflect.DeepEqual(b.alert.Editors, []string{"Vandal", "Eve"}) {
		t.Fatalf("after an undo: %v %+v", b.meets, b.alert)
	}
	b = judged(t, d, h.edit("Fay", 3*time.Minute), h.edit("Gus", 4*time.Minute, mw.TagManualRevert))
	if b.alert.Reverts != 4 || !reflect.DeepEqual(b.alert.Reverters, []string{"Admin", "Gus"}) {
		t.Fatalf("after a manual revert: %+v", b.alert)
	}
}

// TestLateTagsCount: an edit read again (the overlap of two reads) counts
// the revert tags it did not carry the first time (MediaWiki may list an
// edit a moment before it tags it), once; read again with the same tags,
// nothing more.
func TestLateTagsCount(t *testing.T) {
	d := newDetector(DefaultRules)
	h := &history{title: "Late"}
	ann, rollback := h.edit("Ann", 0), h.edit("Admin", time.Second)
	d.change(ann)
	d.change(rollback)
	if len(d.troubled()) != 0 {
		t.Fatal("an untagged edit made trouble")
	}
	rollback.Tags = []string{mw.TagRollback}
	b := judged(t, d, ann, rollback)
	if b.alert.Reverts != 1 || b.alert.Editors[0] != "Ann" {
		t.Fatalf("the late tag: %+v", b.alert)
	}
	ann.Tags = []string{mw.TagReverted}
	for range 2 {
		d.change(ann)
		d.change(rollback)
	}
	if p := d.pages["Late"]; len(p.reverted) != 1 || p.reverted[ann.RevID].by != "Admin" {
		t.Errorf("read again: %+v", p.reverted)
	}
}

// TestARevertListedBeforeItsEdit: MediaWiki may list a revert before the
// edit it undid (both in the same second): the edit, when it comes, names
// its editor.
func TestARevertListedBeforeItsEdit(t *testing.T) {
	d := newDetector(DefaultRules)
	h := &history{title: "Out of order"}
	var changes []mw.RecentChange
	for i, user := range []string{"Ann", "Bob", "Cy"} {
		e, r := h.edit(user, time.Duration(i)*time.Minute), h.edit("Admin", time.Duration(i)*time.Minute, mw.TagRollback)
		r.RCID, e.RCID = e.RCID, r.RCID
		changes = append(changes, r, e)
	}
	b := judged(t, d, changes...)
	if !b.meets || b.alert.Reverts != 3 || len(b.alert.Editors) != 3 {
		t.Fatalf("reverts listed before their edits: %v %+v", b.meets, b.alert)
	}
}

// TestRevertedTagsAloneCount: edits read with their mw-reverted tag
// already on (after a restart) count, with their editors, even when the
// revert itself is older than what was read.
func TestRevertedTagsAloneCount(t *testing.T) {
	d := newDetector(DefaultRules)
	h := &history{title: "Tagged"}
	b := judged(t, d, h.edit("Ann", 0, mw.TagReverted), h.edit("Bob", time.Minute, mw.TagReverted), h.edit("Ann", 2*time.Minute, mw.TagReverted))
	if !b.meets || b.alert.Reverts != 3 || len(b.alert.Editors) != 2 || len(b.alert.Reverters) != 0 {
		t.Fatalf("%v %+v", b.meets, b.alert)
	}
}

// TestOnlyTheWindowCounts: reverts older than the window before the
// latest trouble do not count, and are forgotten; a revert of an edit the
// follower never read counts, without an editor.
func TestOnlyTheWindowCounts(t *testing.T) {
	r := DefaultRules
	d := newDetector(r)
	h := &history{title: "Slow", rev: 100}
	b := judged(t, d, h.edit("Ann", 0), h.edit("Admin", time.Minute, mw.TagRollback),
		h.edit("Bob", 10*time.Minute), h.edit("Admin", 11*time.Minute, mw.TagRollback),
		h.edit("Cy", 20*time.Minute), h.edit("Admin", 21*time.Minute, mw.TagRollback))
	if b.meets || b.alert.Reverts != 2 || !b.alert.Started.Equal(t0.Add(11*time.Minute)) {
		t.Fatalf("three reverts over 20 minutes: %v %+v", b.meets, b.alert)
	}
	d.forget()
	if p := d.pages["Slow"]; len(p.reverted) != 2 {
		t.Errorf("kept %d reverted edits, want the two in the window", len(p.reverted))
	}
	// A revert of an edit never read: counted, nobody's; with the two in
	// the window, from two editors, it meets the rule.
	unknown := mw.RecentChange{RCID: 999, Type: mw.ChangeEdit, Title: "Slow", RevID: 500, OldRevID: 400, User: "Admin",
		Timestamp: t0.Add(22 * time.Minute), Tags: []string{mw.TagRollback}}
	b = judged(t, d, unknown)
	if !b.meets || b.alert.Reverts != 3 || !reflect.DeepEqual(b.alert.Editors, []string{"Bob", "Cy"}) {
		t.Errorf("with a revert of an unknown edit: %v %+v", b.meets, b.alert)
	}
}

// TestAbuseHitsMeetTheirRule: hits on one page within the window meet the
// abuse rule, with their users and filters; a negative AbuseHits turns the
// rule off.
func TestAbuseHitsMeetTheirRule(t *testing.T) {
	hits := []mw.AbuseHit{
		{ID: 1, FilterID: "4", Filter: "Spam links", User: "Ann", Title: "Spammed", Timestamp: t0},
		{ID: 2, FilterID: "4", Filter: "Spam links", User: "Ann", Title: "Spammed", Timestamp: t0.Add(time.Minute)},
		{ID: 3, FilterID: "7", User: "Bob", Title: "Spammed", Timestamp: t0.Add(2 * time.Minute)},
	}
	for _, c := range []struct {
		hits int
		want bool
	}{{0, true}, {4, false}, {-1, false}} {
		d := newDetector(Rules{AbuseHits: c.hits}.withDefaults())
		for _, h := range append(hits, hits[0]) { // a hit read twice counts once
			d.abuse(h)
		}
		b := d.judge(d.troubled()[0])
		if b.meets != c.want || b.alert.AbuseHits != 3 || !reflect.DeepEqual(b.alert.AbuseUsers, []string{"Ann", "Bob"}) ||
			!reflect.DeepEqual(b.alert.Filters, []string{"Spam links", "7"}) {
			t.Errorf("abuse_hits %d: %v %+v", c.hits, b.meets, b.alert)
		}
		if c.want && b.alert.Rule != commands.AlertRuleAbuse {
			t.Errorf("rule %q", b.alert.Rule)
		}
	}
}
