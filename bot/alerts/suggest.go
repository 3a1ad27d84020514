package alerts

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// The protection an alert suggests escalates from the page's last one, as
// moderators do: a page whose protection is in force and did not stop the
// trouble gets the next level; a page whose protection lapsed gets it
// again for twice as long; a page never protected gets the rules'
// SuggestLevel for SuggestExpiry. An alert only ever offers edit
// protection, and never a level below what the page has: lowering a
// protection is /protect's business, not a button's.

// choice is one protection an alert offers: edit protection at a level for
// a length (0: indefinitely).
type choice struct {
	level  string
	length time.Duration
}

// expiry is the choice's length as action=protect takes it ("2 days",
// "infinite"), and as its button carries it.
func (c choice) expiry() string {
	if c.length == 0 {
		return "infinite"
	}
	for _, u := range expiryUnits {
		if n := int64(c.length / u.size); c.length%u.size == 0 || u.size == time.Minute {
			if n == 1 {
				return "1 " + u.one
			}
			return strconv.FormatInt(n, 10) + " " + u.many
		}
	}
	return "" // not reached: the last unit always answers
}

// lengthName names the choice's length for a reader: "2 days",
// "indefinitely".
func (c choice) lengthName() i18n.Message {
	if c.length == 0 {
		return i18n.M("wikimod-alert-indefinitely")
	}
	return i18n.Duration(c.length)
}

// expiryUnits are the units of an expiry as a button carries it, largest
// first: PHP's strtotime words, which action=protect reads.
var expiryUnits = []struct {
	size      time.Duration
	one, many string
}{{7 * 24 * time.Hour, "week", "weeks"}, {24 * time.Hour, "day", "days"}, {time.Hour, "hour", "hours"}, {time.Minute, "minute", "minutes"}}

var expiryRE = regexp.MustCompile(`^([1-9][0-9]{0,5}) (weeks?|days?|hours?|minutes?)$`)

// parseExpiry reads an expiry as a button carries it (choice.expiry).
func parseExpiry(s string) (time.Duration, error) {
	if s == "infinite" {
		return 0, nil
	}
	m := expiryRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not an expiry such as \"2 days\" or \"infinite\"", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	for _, u := range expiryUnits {
		if u.one == m[2] || u.many == m[2] {
			return time.Duration(n) * u.size, nil
		}
	}
	return 0, fmt.Errorf("%q has no unit", s)
}

// roundLength rounds a length read from the log (an expiry less the
// entry's time, a second or so off) as people say it: to the hour from a
// day up, else to the minute.
func roundLength(d time.Duration) time.Duration {
	if d >= 24*time.Hour {
		return d.Round(time.Hour)
	}
	return max(d.Round(time.Minute), time.Minute)
}

// suggestion is the protection an alert suggests, and why (a message; the
// zero choice with a why means there is nothing stronger to suggest).
type suggestion struct {
	choice
	none bool
	why  i18n.Message
}

// protectionState is what suggest needs of a page: its edit protection
// now, and the last one its protect log shows.
type protectionState struct {
	// level and expiry are the page's edit protection in force ("" for
	// none); expiry zero means indefinitely.
	level  string
	expiry time.Time
	// lastLevel and lastLength are the last edit protection its log
	// shows, and how long it was set for (0: indefinitely); lastLevel ""
	// when the log shows none.
	lastLevel  string
	lastLength time.Duration
}

// pageProtection reads what suggest needs from a page's protections now
// and its protect log (newest first).
func pageProtection(current []mw.PageProtection, log []mw.LogEvent, now time.Time) protectionState {
	var st protectionState
	for _, p := range current {
		if p.Type != "edit" || p.Level == "" || p.Level == "all" {
			continue
		}
		if exp, err := time.Parse(time.RFC3339, p.Expiry); err == nil {
			if !exp.After(now) {
				continue
			}
			st.expiry = exp
		}
		st.level = p.Level
	}
	for _, e := range log {
		if e.Action != mw.ActionProtect && e.Action != mw.ActionModify {
			continue
		}
		for _, d := range e.Params.Details {
			if d.Type != "edit" || d.Level == "" {
				continue
			}
			st.lastLevel = d.Level
			if exp, err := time.Parse(time.RFC3339, d.Expiry); err == nil {
				st.lastLength = roundLength(exp.Sub(e.Timestamp))
			}
			return st
		}
	}
	return st
}

// rank is a level's place among the wiki's levels, weakest ("") first;
// -1 for a level the wiki does not list.
func rank(levels []string, level string) int { return slices.Index(levels, level) }

// suggest returns the protection to suggest for a page in trouble, and the
// other usual choices: each other level the wiki has, not below the page's
// protection now, for the suggested length, and the suggested level for
// twice as long. levels are the wiki's, weakest first.
func suggest(levels []string, st protectionState, r Rules) (suggestion, []choice) {
	var s suggestion
	switch {
	case st.level != "":
		length := st.lastLength
		if st.lastLevel != st.level || length == 0 {
			length = r.SuggestExpiry
		}
		if i := rank(levels, st.level); i >= 0 && i+1 < len(levels) {
			s.choice = choice{level: levels[i+1], length: length}
			s.why = i18n.M("wikimod-alert-why-next-level", levelName(st.level))
		} else if !st.expiry.IsZero() {
			s.choice = choice{level: st.level, length: 2 * length}
			s.why = i18n.M("wikimod-alert-why-top")
		} else {
			s.none = true
			s.why = i18n.M("wikimod-alert-why-none")
		}
	case st.lastLevel != "" && st.lastLength > 0:
		s.choice = choice{level: st.lastLevel, length: 2 * st.lastLength}
		s.why = i18n.M("wikimod-alert-why-longer", levelName(st.lastLevel), i18n.Duration(st.lastLength))
	case st.lastLevel != "":
		s.choice = choice{level: st.lastLevel}
		s.why = i18n.M("wikimod-alert-why-again", levelName(st.lastLevel))
	default:
		s.choice = choice{level: r.SuggestLevel, length: r.SuggestExpiry}
		s.why = i18n.M("wikimod-alert-why-first")
	}
	length := s.length
	if s.none {
		length = r.SuggestExpiry
	}
	floor := max(rank(levels, st.level), 1)
	var others []choice
	add := func(c choice) {
		// Nothing below the page's level, nor its own level again when
		// it has that indefinitely.
		below := rank(levels, c.level) < floor || (c.level == st.level && st.expiry.IsZero())
		if (s.none || c != s.choice) && !below && !slices.Contains(others, c) {
			others = append(others, c)
		}
	}
	for _, l := range levels {
		add(choice{level: l, length: length})
	}
	if !s.none && s.length > 0 {
		add(choice{level: s.level, length: 2 * s.length})
	}
	return s, others
}
