package reminders_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/qqx"
	"github.com/wikimod/wikimod/internal/testwait"
)

// failLogReads carries the bot's requests to the wiki, and while on fails
// every read of a log (list=logevents), at once or, with hang, as a wiki
// that never answers: when the request gives up. It counts the reads it
// failed.
type failLogReads struct {
	on, hang atomic.Bool
	failed   atomic.Int64
}

func (f *failLogReads) RoundTrip(r *http.Request) (*http.Response, error) {
	if !f.on.Load() || r.URL.Query().Get("list") != "logevents" {
		return http.DefaultTransport.RoundTrip(r)
	}
	f.failed.Add(1)
	if f.hang.Load() {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return nil, errors.New("the wiki does not answer")
}

func wikiReads(f *fixture) float64 {
	return f.env.Metrics.Value("wikimod_wiki_requests_total", "action", "query")
}

// TestReminderCarriesTheHistoryLine: a reminder about one page carries the
// page's protection history in a line, from the page's protect log read
// when the reminder is sent (one request); a log that cannot be read
// leaves the line out and the reminder goes out all the same; a digest
// reads no log.
func TestReminderCarriesTheHistoryLine(t *testing.T) {
	gate := &failLogReads{}
	f := newFixtureWith(t, gate, func(c *reminders.Config) { c.DigestThreshold = 1 })
	title := testwait.Unique("Reminder History ")
	f.protect(t, fmt.Sprintf(`/protect %q create=autoconfirmed expiry="1 day"`, title))
	f.protect(t, fmt.Sprintf(`/protect %q create=sysop expiry="2 days"`, title))
	exp := f.protect(t, fmt.Sprintf(`/protect %q create=sysop expiry="3 hours"`, title))

	reads := wikiReads(f)
	m := wantOne(t, f.tick(t, exp.Add(-time.Hour)), "the 1-hour warning")
	want := "3 protections in the last 90 days; the last: create (create): sysop (sysop) for 3 hours, by Admin "
	if !strings.Contains(english(m.Text), want) {
		t.Errorf("the reminder lacks %q:\n%s", want, english(m.Text))
	}
	if n := wikiReads(f) - reads; n != 1 {
		t.Errorf("the reminder read the wiki %v times, want once (the page's log)", n)
	}
	// In qqx: the catalogue's keys and the wiki's words, no English.
	l := i18n.Localizer{Lang: "qqx"}
	if text := m.Plain(l); !strings.Contains(text, "(wikimod-protect-history: 3") {
		t.Errorf("no history line in qqx:\n%s", text)
	} else if left := qqx.English(text, title, "Admin", "alice", "Slack", "C-MODS"); len(left) > 0 {
		t.Errorf("English %q left in:\n%s", left, text)
	}

	// The log cannot be read: the reminder goes out without the line, and
	// is sent (not held for a retry).
	gate.on.Store(true)
	m = wantOne(t, f.tick(t, exp), "the reminder at expiry")
	gate.on.Store(false)
	if strings.Contains(english(m.Text), "protections in the last") || !strings.Contains(english(m.Title), "expired") {
		t.Errorf("with the log unreadable:\n%s\n%s", english(m.Title), english(m.Text))
	}
	wantNone(t, f.tick(t, exp.Add(time.Minute)), "a minute later: the reminder was marked sent")
}

// TestReminderDigestReadsNoLog: a digest about many pages carries no
// history line and reads no log.
func TestReminderDigestReadsNoLog(t *testing.T) {
	f := newFixture(t, func(c *reminders.Config) { c.DigestThreshold = 1 })
	title := testwait.Unique("Reminder Digest ")
	var last time.Time
	for i := range 2 {
		last = f.protect(t, fmt.Sprintf(`/protect "%s %d" create=sysop expiry="3 hours"`, title, i))
	}
	reads := wikiReads(f)
	m := wantOne(t, f.tick(t, last.Add(-time.Hour).Add(time.Minute)), "the digest")
	if !strings.Contains(english(m.Title), "2 protections") || strings.Contains(english(m.Text), "in the last 90 days") {
		t.Errorf("digest:\n%s\n%s", english(m.Title), english(m.Text))
	}
	if n := wikiReads(f) - reads; n != 0 {
		t.Errorf("the digest read the wiki %v times, want none", n)
	}
}

// TestReminderHistoryDoesNotWaitForADownWiki: on a wiki that does not
// answer, the first log read of a tick gives up at its timeout, and the
// tick's other reminders go out without their lines and without reading
// again.
func TestReminderHistoryDoesNotWaitForADownWiki(t *testing.T) {
	gate := &failLogReads{}
	f := newFixtureWith(t, gate, func(c *reminders.Config) { c.DigestThreshold = 10 })
	title := testwait.Unique("Reminder Down ")
	var exp time.Time
	for i := range 3 {
		exp = f.protect(t, fmt.Sprintf(`/protect "%s %d" create=sysop expiry="3 hours"`, title, i))
	}
	gate.hang.Store(true)
	gate.on.Store(true)
	f.clock.Set(exp.Add(-time.Hour).Add(time.Minute))
	if err := f.s.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	gate.on.Store(false)
	msgs := f.inbox.take()
	if len(msgs) != 3 {
		t.Fatalf("%d reminders sent, want 3", len(msgs))
	}
	for _, m := range msgs {
		if strings.Contains(english(m.Text), "in the last 90 days") {
			t.Errorf("a history line from a wiki that does not answer: %s", english(m.Text))
		}
	}
	if n := gate.failed.Load(); n != 1 {
		t.Errorf("%d log reads waited for the wiki, want 1", n)
	}
}
