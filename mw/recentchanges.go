package mw

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The tags MediaWiki itself puts on reverts (ChangeTags::REVERT_TAGS and
// the tag of the edits undone), which list=recentchanges reports with
// rcprop=tags.
const (
	TagRollback     = "mw-rollback"      // a rollback
	TagUndo         = "mw-undo"          // an undo
	TagManualRevert = "mw-manual-revert" // an edit that restored an earlier revision by hand
	TagReverted     = "mw-reverted"      // an edit a later one reverted
)

// The recent changes' types (rctype) of the edits to pages.
const (
	ChangeEdit = "edit"
	ChangeNew  = "new"
)

// ModuleAbuseLog is AbuseFilter's log of filter hits (list=abuselog), as
// action=paraminfo names the module.
const ModuleAbuseLog = "query+abuselog"

// maxChangesLimit bounds what one request asks for: the limit the API
// gives every session (5000 needs the apihighlimits right).
const maxChangesLimit = 500

// RecentChangesQuery selects the wiki's recent changes (list=recentchanges),
// oldest first from a point, as a follower reads them.
type RecentChangesQuery struct {
	// Start is the wiki's time to read from (rcstart with rcdir=newer):
	// changes at that second or later. Zero means the oldest the wiki
	// keeps.
	Start time.Time
	// Continue is the Continue of the previous page, to read the next one.
	Continue string
	// Limit is the number of changes per page: 1 to 500; zero means 500.
	Limit int
	// Types are the kinds of change to list (rctype); nil means edits and
	// page creations (ChangeEdit, ChangeNew).
	Types []string
	// Title limits the changes to one page's (rctitle); empty means every
	// page's.
	Title string
	// AbuseLog, when set, reads the wiki's AbuseFilter log in the same
	// request (list=recentchanges|abuselog), so that a follower of both
	// sends the wiki one request: RecentChangesPage.AbuseLog holds it, or
	// is nil where the wiki has no such module (no AbuseFilter), which
	// the same answer tells.
	AbuseLog *AbuseLogQuery
}

// RecentChangesPage is one page of recent changes, oldest first.
type RecentChangesPage struct {
	Changes []RecentChange
	// Continue reads the next page; empty when this page was the last.
	Continue string
	// AbuseLog is the page of the abuse log read with it, when the query
	// asked for one and the wiki has AbuseFilter; nil otherwise.
	AbuseLog *AbuseLogPage
}

// RecentChange is one entry of the wiki's recent changes.
type RecentChange struct {
	RCID      int64     `json:"rcid"`
	Type      string    `json:"type"`
	NS        int       `json:"ns"`
	Title     string    `json:"title"`
	PageID    int64     `json:"pageid"`
	RevID     int64     `json:"revid"`
	OldRevID  int64     `json:"old_revid"` // the revision the edit was saved over; 0 for a new page
	User      string    `json:"user"`
	Anon      bool      `json:"anon"`
	Timestamp time.Time `json:"timestamp"`
	Tags      []string  `json:"tags"`
	// UserHidden is set when an admin hid the editor from the session:
	// User is then empty.
	UserHidden bool `json:"userhidden"`
}

// HasTag reports whether the change carries tag.
func (c RecentChange) HasTag(tag string) bool {
	for _, t := range c.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// RecentChanges reads one page of the wiki's recent changes, oldest first
// from q.Start, with each change's ids, title, user, tags and time; and,
// with q.AbuseLog, a page of the abuse log in the same request.
func (c *Client) RecentChanges(ctx context.Context, q RecentChangesQuery) (*RecentChangesPage, error) {
	v := changesParams(q)
	if q.AbuseLog != nil {
		v.Set("list", "recentchanges|abuselog")
		abuseLogParams(v, *q.AbuseLog)
	}
	var res struct {
		Continue struct {
			RCContinue string `json:"rccontinue"`
			// AbuseFilter continues its log by time: aflstart.
			AFLStart string `json:"aflstart"`
		} `json:"continue"`
		Query struct {
			RecentChanges []RecentChange `json:"recentchanges"`
			AbuseLog      *[]AbuseHit    `json:"abuselog"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, v, &res); err != nil {
		return nil, fmt.Errorf("recent changes: %w", err)
	}
	page := &RecentChangesPage{Changes: res.Query.RecentChanges, Continue: res.Continue.RCContinue}
	if q.AbuseLog != nil && res.Query.AbuseLog != nil {
		// A wiki without AbuseFilter ignores list=abuselog (with a
		// warning), and lists no abuselog at all.
		page.AbuseLog = &AbuseLogPage{Hits: *res.Query.AbuseLog, Continue: res.Continue.AFLStart}
	}
	return page, nil
}

// changesParams are the parameters of list=recentchanges for q.
func changesParams(q RecentChangesQuery) url.Values {
	types := q.Types
	if types == nil {
		types = []string{ChangeEdit, ChangeNew}
	}
	limit := q.Limit
	if limit <= 0 || limit > maxChangesLimit {
		limit = maxChangesLimit
	}
	v := url.Values{
		"action":  {"query"},
		"list":    {"recentchanges"},
		"rcprop":  {"title|ids|user|tags|timestamp"},
		"rcdir":   {"newer"},
		"rctype":  {strings.Join(types, "|")},
		"rclimit": {strconv.Itoa(limit)},
	}
	if !q.Start.IsZero() {
		v.Set("rcstart", q.Start.UTC().Format(time.RFC3339))
	}
	setIf(v, "rccontinue", q.Continue)
	setIf(v, "rctitle", q.Title)
	return v
}

// AbuseLogQuery selects hits of the wiki's AbuseFilter filters
// (list=abuselog), oldest first from a point.
type AbuseLogQuery struct {
	// Start is the wiki's time to read from (aflstart with afldir=newer).
	// Zero means the oldest the wiki keeps.
	Start time.Time
	// Continue is the Continue of the previous page, to read the next one.
	// AbuseFilter continues its log by time alone: a page that ends
	// within a second of several hits starts the next one at that second
	// again, so a reader skips what it has by id and asks for pages
	// larger than the hits of one second.
	Continue string
	// Limit is the number of hits per page: 1 to 500; zero means 500.
	Limit int
}

// AbuseLogPage is one page of AbuseFilter hits, oldest first.
type AbuseLogPage struct {
	Hits []AbuseHit
	// Continue reads the next page; empty when this page was the last.
	Continue string
}

// AbuseHit is one hit of an AbuseFilter filter: who did what to which
// page, and what the filter did about it.
type AbuseHit struct {
	ID int64 `json:"id"`
	// FilterID is the filter's id, as text: a global filter's is
	// "global-N"; "" for a session without the abusefilter-log-detail
	// right (an anonymous one). Filter is its public description.
	FilterID  string    `json:"filter_id"`
	Filter    string    `json:"filter"`
	User      string    `json:"user"`
	NS        int       `json:"ns"`
	Title     string    `json:"title"`
	Action    string    `json:"action"` // edit, move, createaccount...
	Result    string    `json:"result"` // the actions taken, such as "warn,tag"; "" for none
	Timestamp time.Time `json:"timestamp"`
	// RevID is the edit, when it was saved; 0 when it was not, or for a
	// session without the abusefilter-log-detail right, to which the
	// wiki writes it as "".
	RevID looseInt `json:"revid"`
}

// looseInt is an id the wiki writes as a number or as text ("" for none).
type looseInt int64

// UnmarshalJSON reads a number, a string of digits, "" or null.
func (n *looseInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("an id: %w", err)
	}
	*n = looseInt(v)
	return nil
}

// AbuseLog reads one page of the wiki's AbuseFilter log, oldest first from
// q.Start. A wiki without AbuseFilter answers with an error (see
// HasAbuseLog).
func (c *Client) AbuseLog(ctx context.Context, q AbuseLogQuery) (*AbuseLogPage, error) {
	v := url.Values{"action": {"query"}, "list": {"abuselog"}}
	abuseLogParams(v, q)
	var res struct {
		Continue struct {
			AFLStart string `json:"aflstart"`
		} `json:"continue"`
		Query *struct {
			AbuseLog []AbuseHit `json:"abuselog"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, v, &res); err != nil {
		return nil, fmt.Errorf("abuse log: %w", err)
	}
	if res.Query == nil {
		// The wiki ignored list=abuselog: it has no such module.
		return nil, fmt.Errorf("abuse log: %w", ErrNoAbuseLog)
	}
	return &AbuseLogPage{Hits: res.Query.AbuseLog, Continue: res.Continue.AFLStart}, nil
}

// abuseLogParams sets the parameters of list=abuselog for q in v.
func abuseLogParams(v url.Values, q AbuseLogQuery) {
	limit := q.Limit
	if limit <= 0 || limit > maxChangesLimit {
		limit = maxChangesLimit
	}
	v.Set("aflprop", "ids|filter|user|title|action|result|timestamp|revid")
	v.Set("afldir", "newer")
	v.Set("afllimit", strconv.Itoa(limit))
	if !q.Start.IsZero() {
		v.Set("aflstart", q.Start.UTC().Format(time.RFC3339))
	}
	// AbuseFilter continues its log from a time of its own (aflstart),
	// not with a continuation token.
	setIf(v, "aflstart", q.Continue)
}

// ErrNoAbuseLog is what AbuseLog returns (wrapped) from a wiki that has no
// AbuseFilter log to read.
var ErrNoAbuseLog = errors.New("mediawiki: the wiki has no abuse log (AbuseFilter is not installed)")

// HasAbuseLog reports whether the wiki has AbuseFilter's log module
// (list=abuselog), asking action=paraminfo about it: one small request,
// answered the same to every session.
func (c *Client) HasAbuseLog(ctx context.Context) (bool, error) {
	var res struct {
		ParamInfo struct {
			Modules []struct {
				Name string `json:"name"`
			} `json:"modules"`
		} `json:"paraminfo"`
	}
	if _, err := c.Get(ctx, url.Values{"action": {"paraminfo"}, "modules": {ModuleAbuseLog}}, &res); err != nil {
		return false, fmt.Errorf("paraminfo %s: %w", ModuleAbuseLog, err)
	}
	for _, m := range res.ParamInfo.Modules {
		if m.Name == "abuselog" {
			return true, nil
		}
	}
	return false, nil
}
