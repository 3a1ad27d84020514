package mw

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// PageLog says which entries of a page's log PageWithLog reads with the
// page.
type PageLog struct {
	// Type is the log type (letype), e.g. LogProtect. Empty means every
	// log.
	Type string
	// Limit is how many of the newest entries to read; zero means
	// DefaultPageLogLimit.
	Limit int
	// Comments asks for each entry's comment too. Without them the answer
	// is smaller (a comment may be 500 characters) for a reader that needs
	// only who did what and when.
	Comments bool
}

// DefaultPageLogLimit is how many entries PageWithLog reads when
// PageLog.Limit is zero.
const DefaultPageLogLimit = 50

// PageWithLog returns what Page returns and the newest entries of the
// page's log (newest first; Continue set when the log holds more), both
// from one request: list=logevents beside prop=info, so that a command
// that reads a page before it acts on it learns the page's history at no
// cost in requests. It is Page with a log; Page itself is unchanged.
//
// Two cases cost one request more. The log is asked for by title only
// (list=logevents takes no page id), so by page id it is read in a second
// request once the first has named the page; a missing or invalid page has
// no log read. And where the title is not one the log can take (the wiki
// then refuses the whole request with invalidtitle), the page is asked for
// again alone, so that the answer says what Page says of it (Invalid set)
// and the log is empty.
func (c *Client) PageWithLog(ctx context.Context, title string, pageID int, q PageLog) (PageState, LogEventsPage, error) {
	if pageID != 0 {
		st, err := c.Page(ctx, title, pageID)
		if err != nil || st.Missing || st.Invalid {
			return st, LogEventsPage{}, err
		}
		log, err := c.LogEvents(ctx, LogEventsQuery{Type: q.Type, Title: st.Title, Limit: q.limit()})
		if err != nil {
			return PageState{}, LogEventsPage{}, err
		}
		return st, *log, nil
	}
	v := url.Values{
		"action": {"query"}, "prop": {"info"}, "inprop": {"protection"}, "titles": {title},
		"list": {"logevents"}, "letitle": {title}, "lelimit": {strconv.Itoa(q.limit())},
		"leprop": {pageLogProps},
	}
	if q.Comments {
		v.Set("leprop", pageLogProps+"|comment")
	}
	setIf(v, "letype", q.Type)
	var res pageStatesAnswer
	if _, err := c.Get(ctx, v, &res); err != nil {
		if ErrorCode(err) == "invalidtitle" {
			st, err := c.Page(ctx, title, 0)
			return st, LogEventsPage{}, err
		}
		return PageState{}, LogEventsPage{}, fmt.Errorf("page %q with its log: %w", title, err)
	}
	st := PageState{Title: title, Missing: true}
	res.states([]string{title}, func(_ string, found PageState) { st = found })
	return st, LogEventsPage{Events: res.Query.LogEvents, Continue: res.Continue.LEContinue}, nil
}

// pageLogProps are the properties PageWithLog reads of each log entry:
// LogEvents' without the comment.
const pageLogProps = "ids|title|type|user|timestamp|details"

func (q PageLog) limit() int {
	if q.Limit > 0 {
		return q.Limit
	}
	return DefaultPageLogLimit
}
