package alerts

import (
	"testing"
	"time"

	"github.com/wikimod/wikimod/mw"
)

var levels = []string{"", "autoconfirmed", "sysop"}

const day = 24 * time.Hour

// protectLog is a protect log entry setting edit protection at level for
// length (0: indefinitely), at.
func protectLog(level string, length time.Duration, at time.Time) mw.LogEvent {
	expiry := "infinite"
	if length > 0 {
		expiry = at.Add(length + time.Second).Format(time.RFC3339) // the wiki's stamps are a second apart
	}
	return mw.LogEvent{Action: mw.ActionProtect, Timestamp: at, Params: mw.LogParams{Details: []mw.LogProtection{
		{Type: "move", Level: "sysop", Expiry: "infinite"}, {Type: "edit", Level: level, Expiry: expiry}}}}
}

// TestSuggestionsEscalate: a page never protected gets the rules' first
// protection; one whose protection lapsed gets it for twice as long (the
// same again if it was indefinite); one whose protection is in force gets
// the next level, for as long; at the top level, twice as long; at the top
// level indefinitely, nothing. The other choices are the other levels for
// the suggested length and the suggested level for twice as long, never
// below the page's level now.
func TestSuggestionsEscalate(t *testing.T) {
	now := t0
	rules := DefaultRules
	for _, c := range []struct {
		name    string
		current []mw.PageProtection
		log     []mw.LogEvent
		want    choice
		none    bool
		others  []choice
	}{
		{"never protected", nil, nil, choice{"autoconfirmed", day},
			false, []choice{{"sysop", day}, {"autoconfirmed", 2 * day}}},
		{"lapsed", nil, []mw.LogEvent{protectLog("autoconfirmed", 3*day, now.Add(-10*day))}, choice{"autoconfirmed", 6 * day},
			false, []choice{{"sysop", 6 * day}, {"autoconfirmed", 12 * day}}},
		{"lifted after indefinitely", nil, []mw.LogEvent{protectLog("autoconfirmed", 0, now.Add(-10*day))}, choice{"autoconfirmed", 0},
			false, []choice{{"sysop", 0}}},
		{"in force", []mw.PageProtection{{Type: "edit", Level: "autoconfirmed", Expiry: now.Add(day).Format(time.RFC3339)}},
			[]mw.LogEvent{protectLog("autoconfirmed", 2*day, now.Add(-day))}, choice{"sysop", 2 * day},
			false, []choice{{"autoconfirmed", 2 * day}, {"sysop", 4 * day}}},
		{"in force indefinitely", []mw.PageProtection{{Type: "edit", Level: "autoconfirmed", Expiry: "infinity"}},
			[]mw.LogEvent{protectLog("autoconfirmed", 0, now.Add(-day))}, choice{"sysop", day},
			false, []choice{{"sysop", 2 * day}}},
		{"top level", []mw.PageProtection{{Type: "edit", Level: "sysop", Expiry: now.Add(day).Format(time.RFC3339)}},
			[]mw.LogEvent{protectLog("sysop", 7*day, now.Add(-6*day))}, choice{"sysop", 14 * day},
			false, []choice{{"sysop", 28 * day}}},
		{"top level indefinitely", []mw.PageProtection{{Type: "edit", Level: "sysop", Expiry: "infinity"}}, nil, choice{},
			true, nil},
		{"expired in the page's state", []mw.PageProtection{{Type: "edit", Level: "sysop", Expiry: now.Add(-time.Hour).Format(time.RFC3339)}},
			[]mw.LogEvent{protectLog("sysop", time.Hour, now.Add(-2*time.Hour))}, choice{"sysop", 2 * time.Hour},
			false, []choice{{"autoconfirmed", 2 * time.Hour}, {"sysop", 4 * time.Hour}}},
	} {
		st := pageProtection(c.current, c.log, now)
		s, others := suggest(levels, st, rules)
		if s.choice != c.want || s.none != c.none || s.why.IsZero() {
			t.Errorf("%s: suggested %+v (none %v, why %v), want %+v", c.name, s.choice, s.none, s.why, c.want)
		}
		if len(others) != len(c.others) {
			t.Errorf("%s: others %+v, want %+v", c.name, others, c.others)
			continue
		}
		for i := range others {
			if others[i] != c.others[i] {
				t.Errorf("%s: others %+v, want %+v", c.name, others, c.others)
				break
			}
		}
	}
}

// TestExpiries: a choice's expiry is what action=protect reads, and what
// a button carries reads back as the same length.
func TestExpiries(t *testing.T) {
	for _, c := range []struct {
		length time.Duration
		want   string
	}{{0, "infinite"}, {day, "1 day"}, {2 * day, "2 days"}, {7 * day, "1 week"}, {14 * day, "2 weeks"}, {36 * time.Hour, "36 hours"},
		{90 * time.Minute, "90 minutes"}, {time.Minute, "1 minute"}} {
		got := choice{length: c.length}.expiry()
		if got != c.want {
			t.Errorf("expiry of %s = %q, want %q", c.length, got, c.want)
		}
		if back, err := parseExpiry(got); err != nil || back != c.length {
			t.Errorf("parseExpiry(%q) = %s, %v", got, back, err)
		}
	}
	for _, bad := range []string{"", "1 fortnight", "0 days", "-1 days", "2days", "next tuesday", "1 day ago", "infinity"} {
		if _, err := parseExpiry(bad); err == nil {
			t.Errorf("parseExpiry(%q) succeeded", bad)
		}
	}
	if got := roundLength(day + time.Second); got != day {
		t.Errorf("roundLength(1 day 1 s) = %s", got)
	}
}

// TestStrongerNow: a button never lowers a page's protection.
func TestStrongerNow(t *testing.T) {
	in := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	for _, c := range []struct {
		current []mw.PageProtection
		want    choice
		stop    bool
	}{
		{nil, choice{"autoconfirmed", day}, false},
		{[]mw.PageProtection{{Type: "edit", Level: "sysop", Expiry: in(time.Hour)}}, choice{"autoconfirmed", day}, true},
		{[]mw.PageProtection{{Type: "edit", Level: "autoconfirmed", Expiry: in(2 * day)}}, choice{"autoconfirmed", day}, true},
		{[]mw.PageProtection{{Type: "edit", Level: "autoconfirmed", Expiry: in(time.Hour)}}, choice{"autoconfirmed", day}, false},
		{[]mw.PageProtection{{Type: "edit", Level: "autoconfirmed", Expiry: "infinity"}}, choice{"autoconfirmed", 0}, true},
		{[]mw.PageProtection{{Type: "edit", Level: "autoconfirmed", Expiry: "infinity"}}, choice{"sysop", day}, false},
		{[]mw.PageProtection{{Type: "edit", Level: "sysop", Expiry: in(-time.Hour)}}, choice{"autoconfirmed", day}, false},
		{[]mw.PageProtection{{Type: "move", Level: "sysop", Expiry: "infinity"}}, choice{"autoconfirmed", day}, false},
	} {
		if got := strongerNow(levels, c.current, c.want, t0); got != c.stop {
			t.Errorf("%+v, asked %+v: %v, want %v", c.current, c.want, got, c.stop)
		}
	}
}
