package mw

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Revision is a page's latest revision.
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

// LatestRevision reads a page's latest revision, with its main slot's
// content, in one request. A page that does not exist comes back Missing;
// a title that cannot name one is an *InvalidTitleError.
func (c *Client) LatestRevision(ctx context.Context, title string) (Revision, error) {
	var res struct {
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
					Slots      struct {
						Main struct {
							Content string `json:"content"`
						} `json:"main"`
					} `json:"slots"`
				} `json:"revisions"`
			} `json:"pages"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, url.Values{
		"action": {"query"}, "prop": {"revisions"}, "titles": {oneValue(title)},
		"rvprop": {"ids|user|timestamp|content"}, "rvslots": {"main"},
	}, &res); err != nil {
		return Revision{}, fmt.Errorf("latest revision of %q: %w", title, err)
	}
	q := res.Query
	switch {
	case len(q.Interwiki) > 0:
		return Revision{}, &InvalidTitleError{Title: title, Code: "interwiki",
			Reason: fmt.Sprintf("the page is on another wiki (%s)", q.Interwiki[0].IW)}
	case len(q.Pages) == 0:
		// The wiki lists no page for an empty title.
		return Revision{}, &InvalidTitleError{Title: title, Code: "title-invalid-empty", Reason: "the title is empty"}
	}
	p := q.Pages[0]
	switch {
	case p.Invalid:
		reason := p.InvalidReason.Text
		if reason == "" {
			reason = "not a valid title"
		}
		return Revision{}, &InvalidTitleError{Title: title, Code: p.InvalidReason.Code, Reason: reason}
	case p.Special:
		return Revision{}, &InvalidTitleError{Title: title, Code: "special", Reason: "special pages have no revisions"}
	case p.Missing || len(p.Revisions) == 0:
		return Revision{Title: p.Title, Missing: true}, nil
	}
	r := p.Revisions[0]
	return Revision{
		Title:      p.Title,
		ID:         r.RevID,
		User:       r.User,
		UserHidden: r.UserHidden,
		Timestamp:  r.Timestamp,
		Content:    r.Slots.Main.Content,
	}, nil
}
