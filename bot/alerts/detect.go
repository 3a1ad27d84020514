package alerts

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/mw"
)

// Detection. A follower keeps, for each wiki, what the last Window of its
// recent changes and abuse log said about each page: the edits (to tell
// whose edit a revert undid), the reverted edits, and the AbuseFilter
// hits. Every time is the wiki's, from its entries, never the bot's clock:
// a burst is measured as the wiki saw it, whenever it is read.
//
// MediaWiki tags a revert itself: mw-rollback, mw-undo or mw-manual-revert
// on the reverting edit at once, and mw-reverted on the edits it undid a
// little later (a deferred job), usually after the follower has read them.
// So a reverted edit is counted from the reverting edit: the edit it was
// saved over (its old_revid) and that editor's edits just before it, as a
// rollback undoes them; and from an mw-reverted tag where the tag is
// already there (as after a restart, when the last Window is read again).
// Each reverted edit counts once, by its revision id.

// revertTags are the tags MediaWiki puts on an edit that reverts others.
var revertTags = []string{mw.TagRollback, mw.TagUndo, mw.TagManualRevert}

// edit is one edit of a page, as recent changes list it, kept by its
// revision id: the revision it was saved over, who saved it and when (in
// Unix seconds: the wiki stamps edits to the second, and a busy farm keeps
// a few hundred thousand of these), and which of its tags were counted.
type edit struct {
	parent  int64
	user    string
	at      int64
	counted tagsCounted
}

// tagsCounted says which of an edit's tags were counted: a change read
// again (the overlap of two reads) may carry a tag it had not yet the
// first time, and only that counts then.
type tagsCounted uint8

const (
	revertCounted   tagsCounted = 1 << iota // it reverts others (mw-rollback, mw-undo, mw-manual-revert)
	revertedCounted                         // others reverted it (mw-reverted)
)

// reverted is an edit that was reverted: who made it ("" when the edit is
// older than what the follower read), who reverted it, and when.
type reverted struct {
	editor, by string
	at         time.Time
}

// hit is one AbuseFilter hit on a page.
type hit struct {
	id     int64
	user   string
	filter string
	at     time.Time
}

// page is what the follower knows of the trouble of one page in the last
// Window. Only pages with trouble (or an open alert) have one.
type page struct {
	title    string
	reverted map[int64]reverted
	hits     []hit
	// trouble is set when a reverted edit or a hit arrived since the page
	// was last judged.
	trouble bool
	// alert is the page's open alert, once one is raised or found: its
	// burst goes on while trouble comes within the quiet time of lastSeen.
	alert *openAlert
}

// openAlert is an alert whose burst may still go on.
type openAlert struct {
	id       int64
	lastSeen time.Time
}

// detector is the detection state of one wiki.
type detector struct {
	rules Rules
	// edits are the wiki's edits of the last Window, by revision id (ids
	// are the wiki's, unique across its pages): one map a wiki rather
	// than one a page, which a farm of busy wikis would pay for many
	// thousand times.
	edits map[int64]edit
	pages map[string]*page
	// latest is the wiki's time of the newest entry read: what is older
	// than latest less the window is forgotten.
	latest time.Time
}

func newDetector(r Rules) *detector {
	return &detector{rules: r, edits: map[int64]edit{}, pages: map[string]*page{}}
}

func (d *detector) page(title string) *page {
	p, ok := d.pages[title]
	if !ok {
		p = &page{title: title, reverted: map[int64]reverted{}}
		d.pages[title] = p
	}
	return p
}

// change takes in one recent change. A change read again counts only the
// tags it did not carry before: MediaWiki may list an edit a moment
// before it tags it.
func (d *detector) change(c mw.RecentChange) {
	if c.Title == "" || c.RevID == 0 {
		return // hidden, or not an edit
	}
	if c.Timestamp.After(d.latest) {
		d.latest = c.Timestamp
	}
	e, seen := d.edits[c.RevID]
	if !seen {
		e = edit{parent: c.OldRevID, user: c.User, at: c.Timestamp.Unix()}
		// MediaWiki lists an edit in a deferred update, which may come
		// after the listing of the revert that undid it: the revert
		// counted it without knowing whose it was.
		if p, ok := d.pages[c.Title]; ok {
			if r, counted := p.reverted[c.RevID]; counted && r.editor == "" {
				r.editor = c.User
				p.reverted[c.RevID] = r
				p.trouble = true
			}
		}
	}
	undone := c.HasTag(mw.TagReverted) && e.counted&revertedCounted == 0
	reverts := slices.ContainsFunc(revertTags, c.HasTag) && e.counted&revertCounted == 0 && c.OldRevID != 0
	if undone {
		e.counted |= revertedCounted
	}
	if reverts {
		e.counted |= revertCounted
	}
	d.edits[c.RevID] = e
	if undone {
		if p := d.page(c.Title); !hasRev(p, c.RevID) {
			p.reverted[c.RevID] = reverted{editor: c.User, at: c.Timestamp}
			p.trouble = true
		}
	}
	if !reverts {
		return
	}
	// The edit the revert was saved over is reverted, and so are the
	// same editor's edits just before it, as a rollback undoes them.
	p := d.page(c.Title)
	rev := c.OldRevID
	last, known := d.edits[rev]
	if !known {
		p.count(rev, reverted{by: c.User, at: c.Timestamp})
		return
	}
	for e := last; ; {
		p.count(rev, reverted{editor: e.user, by: c.User, at: c.Timestamp})
		before, ok := d.edits[e.parent]
		if !ok || before.user != last.user {
			break
		}
		rev, e = e.parent, before
	}
}

func hasRev(p *page, rev int64) bool {
	_, ok := p.reverted[rev]
	return ok
}

// count records a reverted edit, or, for one counted already (from its
// mw-reverted tag), who reverted it.
func (p *page) count(rev int64, r reverted) {
	if old, ok := p.reverted[rev]; ok {
		if old.by == "" {
			old.by = r.by
			if old.editor == "" {
				old.editor = r.editor
			}
			p.reverted[rev] = old
		}
		return
	}
	p.reverted[rev] = r
	p.trouble = true
}

// abuse takes in one AbuseFilter hit. A hit seen already changes nothing.
func (d *detector) abuse(h mw.AbuseHit) {
	if h.Title == "" {
		return
	}
	if h.Timestamp.After(d.latest) {
		d.latest = h.Timestamp
	}
	p := d.page(h.Title)
	if slices.ContainsFunc(p.hits, func(x hit) bool { return x.id == h.ID }) {
		return
	}
	filter := h.Filter
	if filter == "" {
		filter = h.FilterID
	}
	p.hits = append(p.hits, hit{id: h.ID, user: h.User, filter: filter, at: h.Timestamp})
	p.trouble = true
}

// burst is a page's trouble within one window, as judged.
type burst struct {
	alert commands.Alert // what to raise (Wiki and Raised unset)
	meets bool           // a rule is met
}

// judge judges a page that had trouble since it was last judged: the
// trouble within Window before its latest, and whether a rule is met. It
// clears the page's trouble mark.
func (d *detector) judge(p *page) burst {
	p.trouble = false
	var end time.Time
	for _, r := range p.reverted {
		end = later(end, r.at)
	}
	for _, h := range p.hits {
		end = later(end, h.at)
	}
	start := end.Add(-d.rules.Window)
	a := commands.Alert{Title: p.title, Started: end, LastSeen: end}
	for _, rev := range slices.Sorted(maps.Keys(p.reverted)) {
		r := p.reverted[rev]
		if r.at.Before(start) {
			continue
		}
		a.Reverts++
		a.Started = earlier(a.Started, r.at)
		a.Editors = addName(a.Editors, r.editor)
		a.Reverters = addName(a.Reverters, r.by)
	}
	for _, h := range p.hits {
		if h.at.Before(start) {
			continue
		}
		a.AbuseHits++
		a.Started = earlier(a.Started, h.at)
		a.AbuseUsers = addName(a.AbuseUsers, h.user)
		a.Filters = addName(a.Filters, h.filter)
	}
	revertsMet := a.Reverts >= d.rules.MinReverts && len(a.Editors) >= d.rules.MinEditors
	abuseMet := d.rules.AbuseHits > 0 && a.AbuseHits >= d.rules.AbuseHits
	switch {
	case revertsMet:
		a.Rule = commands.AlertRuleReverts
	case abuseMet:
		a.Rule = commands.AlertRuleAbuse
	}
	return burst{alert: a, meets: revertsMet || abuseMet}
}

// forget drops what is older than the window before the newest entry
// read, and the pages left with nothing in it. A revert of an edit older
// than the window is still counted, without its editor.
func (d *detector) forget() {
	troubleBefore := d.latest.Add(-d.rules.Window)
	for rev, e := range d.edits {
		if e.at < troubleBefore.Unix() {
			delete(d.edits, rev)
		}
	}
	for title, p := range d.pages {
		for rev, r := range p.reverted {
			if r.at.Before(troubleBefore) {
				delete(p.reverted, rev)
			}
		}
		p.hits = slices.DeleteFunc(p.hits, func(h hit) bool { return h.at.Before(troubleBefore) })
		if p.alert != nil && p.alert.lastSeen.Add(d.rules.quiet()).Before(d.latest) {
			p.alert = nil // its burst is over
		}
		if len(p.reverted) == 0 && len(p.hits) == 0 && p.alert == nil {
			delete(d.pages, title)
		}
	}
}

// troubled returns the pages with trouble since they were last judged,
// in the order of their titles.
func (d *detector) troubled() []*page {
	var out []*page
	for _, p := range d.pages {
		if p.trouble {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *page) int { return cmp.Compare(a.title, b.title) })
	return out
}

func addName(names []string, n string) []string {
	if n == "" || slices.Contains(names, n) {
		return names
	}
	return append(names, n)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
