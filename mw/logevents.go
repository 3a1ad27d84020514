package mw

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// LogEventsQuery selects entries of the wiki's logs (list=logevents).
type LogEventsQuery struct {
	// Type is the log type (letype), e.g. "protect". Empty means every log.
	Type string
	// Title limits the entries to one page's (letitle). Empty means every
	// page's.
	Title string
	// Newer lists the oldest entries first (ledir=newer), so that a reader
	// can continue from where it stopped; otherwise the newest come first.
	Newer bool
	// Start is where to begin (lestart): with Newer, no entry older than it
	// is returned. Zero means the beginning (or the end) of the log.
	Start time.Time
	// Continue is the Continue of the previous page, to read the next one.
	Continue string
	// Limit is the number of entries per page; zero means as many as the
	// wiki allows the session (500, or 5000 with the highvolume grant).
	Limit int
}

// LogEventsPage is one page of log entries.
type LogEventsPage struct {
	Events []LogEvent
	// Continue reads the next page; empty when this page was the last.
	Continue string
}

// LogEvent is one log entry. For the protect log, Action is protect, modify,
// unprotect or move_prot, and Params.Details lists each protection set.
type LogEvent struct {
	LogID     int64     `json:"logid"`
	NS        int       `json:"ns"`
	Title     string    `json:"title"`
	PageID    int       `json:"pageid"`
	Type      string    `json:"type"`
	Action    string    `json:"action"`
	User      string    `json:"user"`
	Timestamp time.Time `json:"timestamp"`
	Comment   string    `json:"comment"`
	Params    LogParams `json:"params"`
	// ActionHidden is set when the entry was suppressed: the title and
	// parameters are withheld.
	ActionHidden bool `json:"actionhidden"`
}

// LogParams are the parameters of a protect log entry.
type LogParams struct {
	// Details lists the protections a protect or modify entry set.
	Details []LogProtection `json:"details"`
	Cascade bool            `json:"cascade"`
	// OldTitle and OldNS name the page a move_prot entry moved the
	// protection from.
	OldTitle string `json:"oldtitle_title"`
	OldNS    int    `json:"oldtitle_ns"`
}

// LogProtection is one protection recorded in a protect log entry. Expiry is
// absolute ("2026-11-28T15:24:36Z") or "infinite".
type LogProtection struct {
	Type    string `json:"type"`
	Level   string `json:"level"`
	Expiry  string `json:"expiry"`
	Cascade bool   `json:"cascade"`
}

// LogEvents reads one page of log entries.
func (c *Client) LogEvents(ctx context.Context, q LogEventsQuery) (*LogEventsPage, error) {
	v := url.Values{
		"action": {"query"},
		"list":   {"logevents"},
		"leprop": {"ids|title|type|user|timestamp|comment|details"},
	}
	setIf(v, "letype", q.Type)
	setIf(v, "letitle", q.Title)
	if q.Newer {
		v.Set("ledir", "newer")
	}
	if !q.Start.IsZero() {
		v.Set("lestart", q.Start.UTC().Format(time.RFC3339))
	}
	setIf(v, "lecontinue", q.Continue)
	if q.Limit > 0 {
		v.Set("lelimit", strconv.Itoa(q.Limit))
	} else {
		v.Set("lelimit", "max")
	}
	var res struct {
		Continue struct {
			LEContinue string `json:"lecontinue"`
		} `json:"continue"`
		Query struct {
			LogEvents []LogEvent `json:"logevents"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, v, &res); err != nil {
		return nil, fmt.Errorf("log events: %w", err)
	}
	return &LogEventsPage{Events: res.Query.LogEvents, Continue: res.Continue.LEContinue}, nil
}

// PageState is what the wiki says about one page's protection.
type PageState struct {
	Title   string // the title as the wiki spells it
	NS      int
	Missing bool // the page does not exist (it may still carry create protection)
	Invalid bool // the title is not a valid title
	// Protections are the page's own protections. Expiry is absolute or
	// "infinity".
	Protections []PageProtection
	// Inherited are protections the page gets from a cascading protection
	// of another page; they are not the page's own and cannot be changed on
	// it.
	Inherited []InheritedProtection
}

// InheritedProtection is a protection a page gets from a cascading page.
type InheritedProtection struct {
	Type   string
	Level  string
	Expiry string
	Source string // the page whose cascading protection it is
}

// pageStateBatch is how many titles one request asks about; the API takes
// 50 from any session.
const pageStateBatch = 50

// PageStates returns the protection of each title, keyed by the title as it
// was given. Unlike PageProtections, it asks about many titles per request
// and tells a page's own protections from those it inherits.
func (c *Client) PageStates(ctx context.Context, titles ...string) (map[string]PageState, error) {
	out := make(map[string]PageState, len(titles))
	for start := 0; start < len(titles); start += pageStateBatch {
		batch := titles[start:min(start+pageStateBatch, len(titles))]
		if err := c.pageStates(ctx, batch, func(title string, st PageState) { out[title] = st }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pageStates asks about one batch of titles and calls found with each that
// the wiki lists, keyed by the title as it was given.
func (c *Client) pageStates(ctx context.Context, batch []string, found func(title string, st PageState)) error {
	var res pageStatesAnswer
	if _, err := c.Get(ctx, url.Values{
		"action": {"query"}, "prop": {"info"}, "inprop": {"protection"}, "titles": {strings.Join(batch, "|")},
	}, &res); err != nil {
		return fmt.Errorf("protections of %d page(s): %w", len(batch), err)
	}
	res.states(batch, found)
	return nil
}

// pageStatesAnswer is the wiki's answer to prop=info&inprop=protection for
// some titles, and to a list=logevents asked for in the same request
// (PageWithLog).
type pageStatesAnswer struct {
	Continue struct {
		LEContinue string `json:"lecontinue"`
	} `json:"continue"`
	Query struct {
		Normalized []struct {
			From string `json:"from"`
			To   string `json:"to"`
		} `json:"normalized"`
		Pages []struct {
			Title      string `json:"title"`
			NS         int    `json:"ns"`
			Missing    bool   `json:"missing"`
			Invalid    bool   `json:"invalid"`
			Protection []struct {
				Type    string `json:"type"`
				Level   string `json:"level"`
				Expiry  string `json:"expiry"`
				Cascade bool   `json:"cascade"`
				Source  string `json:"source"`
			} `json:"protection"`
		} `json:"pages"`
		LogEvents []LogEvent `json:"logevents"`
	} `json:"query"`
}

// states calls found with the state of each title of batch that the answer
// lists, keyed by the title as it was given.
func (res *pageStatesAnswer) states(batch []string, found func(title string, st PageState)) {
	byTitle := make(map[string]PageState, len(res.Query.Pages))
	for _, p := range res.Query.Pages {
		st := PageState{Title: p.Title, NS: p.NS, Missing: p.Missing, Invalid: p.Invalid}
		for _, pr := range p.Protection {
			if pr.Source != "" {
				st.Inherited = append(st.Inherited, InheritedProtection{Type: pr.Type, Level: pr.Level, Expiry: pr.Expiry, Source: pr.Source})
				continue
			}
			st.Protections = append(st.Protections, PageProtection{Type: pr.Type, Level: pr.Level, Expiry: pr.Expiry, Cascade: pr.Cascade})
		}
		byTitle[p.Title] = st
	}
	normalized := make(map[string]string, len(res.Query.Normalized))
	for _, n := range res.Query.Normalized {
		normalized[n.From] = n.To
	}
	for _, t := range batch {
		canonical := t
		if to, ok := normalized[t]; ok {
			canonical = to
		}
		if st, ok := byTitle[canonical]; ok {
			found(t, st)
		}
	}
}
