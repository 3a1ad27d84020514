package mw

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Revision is one revision of a page.
type Revision struct {
	Title   string // as the wiki spells it (normalized)
	Missing bool   // the page does not exist; the other fields are empty
	ID      int64
	// User is who saved the revision; "" when an admin has hidden it from
	// the session (UserHidden).
	User       string
	UserHidden bool
	Timestamp  time.Time
	// Content is the main slot's text. (The text of a page's latest
	// revision cannot be hidden; its user can.)
	Content string
	// ContentHidden is set when an admin has hidden the text of an older
	// revision from the session: Content is then empty, not the text.
	ContentHidden bool
}

// InvalidTitleError reports a title that names no page that can have
// revisions: it is not a valid title, or it is a special page or a page on
// another wiki. ErrorCode reports it as "invalidtitle", the code MediaWiki
// gives writes to such a title.
type InvalidTitleError struct {
	Title string // as given
	// Code says what is wrong: the wiki's reason code for an invalid title
	// (e.g. "title-invalid-characters", "title-invalid-empty"), or
	// "special" or "interwiki".
	Code   string
	Reason string // the wiki's explanation, or ours for special and interwiki
}

func (e *InvalidTitleError) Error() string {
	return fmt.Sprintf("mediawiki: invalid title %q: %s", e.Title, e.Reason)
}

// revisionsAnswer is the wiki's answer to prop=revisions for one title.
type revisionsAnswer struct {
	Continue struct {
		RVContinue string `json:"rvcontinue"`
	} `json:"continue"`
	Query struct {
		Interwiki []struct {
			IW string `json:"iw"`
		} `json:"interwiki"`
		Pages []struct {
			Title         string `json:"title"`
			Missing       bool   `json:"missing"`
			Invalid       bool   `json:"invalid"`
			Special       bool   `json:"special"`
			InvalidReason struct {
				Code string `json:"code"`
				Text string `json:"text"`
			} `json:"invalidreason"`
			Revisions []struct {
				RevID      int64     `json:"revid"`
				User       string    `json:"user"`
				UserHidden bool      `json:"userhidden"`
				Timestamp  time.Time `json:"timestamp"`
				TextHidden bool      `json:"texthidden"`
				Slots      struct {
					Main struct {
						Content     string `json:"content"`
						TextHidden  bool   `json:"texthidden"`
						TextMissing bool   `json:"textmissing"`
					} `json:"main"`
				} `json:"slots"`
			} `json:"revisions"`
		} `json:"pages"`
	} `json:"query"`
}

// page reads the one page of the answer: its title, whether it is missing,
// and its revisions in the order the wiki gave them. A title that cannot
// name a page is an *InvalidTitleError.
func (res *revisionsAnswer) page(title string) (string, bool, []Revision, error) {
	q := res.Query
	switch {
	case len(q.Interwiki) > 0:
		return "", false, nil, &InvalidTitleError{Title: title, Code: "interwiki",
			Reason: fmt.Sprintf("the page is on another wiki (%s)", q.Interwiki[0].IW)}
	case len(q.Pages) == 0:
		// The wiki lists no page for an empty title.
		return "", false, nil, &InvalidTitleError{Title: title, Code: "title-invalid-empty", Reason: "the title is empty"}
	}
	p := q.Pages[0]
	switch {
	case p.Invalid:
		reason := p.InvalidReason.Text
		if reason == "" {
			reason = "not a valid title"
		}
		return "", false, nil, &InvalidTitleError{Title: title, Code: p.InvalidReason.Code, Reason: reason}
	case p.Special:
		return "", false, nil, &InvalidTitleError{Title: title, Code: "special", Reason: "special pages have no revisions"}
	case p.Missing:
		return p.Title, true, nil, nil
	}
	revs := make([]Revision, 0, len(p.Revisions))
	for _, r := range p.Revisions {
		main := r.Slots.Main
		revs = append(revs, Revision{
			Title:         p.Title,
			ID:            r.RevID,
			User:          r.User,
			UserHidden:    r.UserHidden,
			Timestamp:     r.Timestamp,
			Content:       main.Content,
			ContentHidden: r.TextHidden || main.TextHidden || main.TextMissing,
		})
	}
	return p.Title, false, revs, nil
}

// LatestRevision reads a page's latest revision, with its main slot's
// content, in one request. A page that does not exist comes back Missing;
// a title that cannot name one is an *InvalidTitleError.
func (c *Client) LatestRevision(ctx context.Context, title string) (Revision, error) {
	var res revisionsAnswer
	if _, err := c.Get(ctx, url.Values{
		"action": {"query"}, "prop": {"revisions"}, "titles": {oneValue(title)},
		"rvprop": {"ids|user|timestamp|content"}, "rvslots": {"main"},
	}, &res); err != nil {
		return Revision{}, fmt.Errorf("latest revision of %q: %w", title, err)
	}
	name, missing, revs, err := res.page(title)
	if err != nil {
		return Revision{}, err
	}
	if missing || len(revs) == 0 {
		return Revision{Title: name, Missing: true}, nil
	}
	return revs[0], nil
}

// History is the recent part of a page's history: the revisions saved
// after a given one, and the revision they were saved over.
type History struct {
	Title   string // as the wiki spells it (normalized)
	Missing bool   // the page does not exist now
	// After are the revisions whose ids are above the one asked for,
	// newest first: in the page's own order, each was saved over the next.
	After []Revision
	// Before is the revision the oldest of After was saved over: the
	// newest in the page's history whose id is not above the one asked
	// for. Nil when the page's history begins with the oldest of After, or
	// when Truncated.
	Before *Revision
	// Truncated is set when more revisions came after the one asked for
	// than the limit the caller gave: After then holds the newest of them.
	Truncated bool
}

// historyBatch is how many revisions, with their content, RevisionsAfter
// asks for at a time: a page just edited has one or two, and a batch of
// large revisions stays a reasonable answer.
const historyBatch = 10

// RevisionsAfter reads the revisions of a page saved after the revision
// after (0 for all of them), newest first, with their main slot's content
// and the revision the oldest of them was saved over; it reads at most
// limit of them (at least one), walking back through the history in batches.
// Revision ids grow with each save on the wiki, so "after" is the wiki's
// own order, whatever the clocks of the wiki and the caller say. A page
// that does not exist comes back Missing; a title that cannot name one is
// an *InvalidTitleError.
func (c *Client) RevisionsAfter(ctx context.Context, title string, after int64, limit int) (History, error) {
	limit = max(limit, 1)
	var h History
	next := ""
	for {
		v := url.Values{
			"action": {"query"}, "prop": {"revisions"}, "titles": {oneValue(title)},
			"rvprop": {"ids|user|timestamp|content"}, "rvslots": {"main"},
			"rvlimit": {strconv.Itoa(min(historyBatch, limit-len(h.After)+1))},
		}
		setIf(v, "rvcontinue", next)
		var res revisionsAnswer
		if _, err := c.Get(ctx, v, &res); err != nil {
			return History{}, fmt.Errorf("history of %q: %w", title, err)
		}
		name, missing, revs, err := res.page(title)
		if err != nil {
			return History{}, err
		}
		h.Title, h.Missing = name, missing
		for i := range revs {
			if revs[i].ID <= after {
				h.Before = &revs[i]
				return h, nil
			}
			if len(h.After) == limit {
				h.Truncated = true
				return h, nil
			}
			h.After = append(h.After, revs[i])
		}
		next = res.Continue.RVContinue
		if missing || next == "" {
			return h, nil
		}
	}
}
