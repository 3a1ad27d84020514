package i18n

import (
	"time"
)

// kind says where a Message's text comes from.
type kind uint8

const (
	kindCatalogue kind = iota // the bot's catalogue; the zero value
	kindWiki                  // the wiki's own messages (Localizer.Wiki)
	kindRaw                   // text that is not looked up or interpreted
	kindList                  // items joined as a list
	kindLines                 // items one per line
	kindSentences             // items joined as sentences
)

// Message is a catalogue message with its parameters, rendered late, in
// the reader's language. Code passes Messages around instead of strings so
// that one reply can be rendered for each reader in their own language.
//
// Parameters may be: a string (written verbatim, never interpreted), any
// integer (written plainly, without digit grouping; it also drives
// {{PLURAL}}), a Message (rendered with the same Localizer), a Time, a
// time.Duration (as Duration), a time.Time (as a full Time), a []Message
// or []string (as List). Anything else is written with fmt's %v, which is
// seldom what a reader wants.
type Message struct {
	Key    string // the catalogue's (or the wiki's) message key
	Params []any  // $1, $2… in order

	kind  kind
	text  string    // kindRaw: the text
	items []Message // kindList: the items
	alt   *Message  // rendered instead when there is no text for Key
}

// M returns the bot's own message key from the catalogue, with params.
func M(key string, params ...any) Message {
	return Message{Key: key, Params: params}
}

// Wiki returns a message the wiki has (such as "protect-level-sysop" or
// "restriction-edit"), rendered from Localizer.Wiki so that the reader sees
// the wiki's own words for its own things. When the wiki has no such
// message (or the Localizer has no Wiki), the message renders as its
// fallback if Else gave one, and otherwise as "⧼key⧽", the mark MediaWiki
// itself shows for a missing message; in qqx it renders as "(key)".
func Wiki(key string, params ...any) Message {
	return Message{Key: key, Params: params, kind: kindWiki}
}

// Raw returns text that is already in the reader's language or is not
// language at all: a page title, a user name, the wiki's own error text.
// It is written as it is; nothing in it is interpreted.
func Raw(s string) Message {
	return Message{kind: kindRaw, text: s}
}

// List returns items joined as a list in the reader's language ("a, b and
// c"), with the catalogue's wikimod-comma-separator, wikimod-and and
// wikimod-word-separator, as MediaWiki's Language::listToText joins them.
func List(items ...Message) Message {
	return Message{kind: kindList, items: items}
}

// Lines returns items one per line (joined with "\n"), skipping zero
// messages: a reply's paragraphs.
func Lines(items ...Message) Message {
	return Message{kind: kindLines, items: nonZero(items)}
}

// Sentences returns items joined as sentences of one paragraph, with the
// language's wikimod-word-separator (a space in English, nothing in
// Chinese), skipping zero messages.
func Sentences(items ...Message) Message {
	return Message{kind: kindSentences, items: nonZero(items)}
}

func nonZero(items []Message) []Message {
	out := items[:0:0]
	for _, m := range items {
		if !m.IsZero() {
			out = append(out, m)
		}
	}
	return out
}

// Else returns m with a fallback: when neither the catalogue nor the wiki
// has text for m's key, fallback is rendered instead of the missing-message
// mark. It is meant for wiki messages that exist only for some values,
// such as "protect-level-"+level for a level a wiki made up:
//
//	i18n.Wiki("protect-level-" + level).Else(i18n.Raw(level))
func (m Message) Else(fallback Message) Message {
	m.alt = &fallback
	return m
}

// IsZero reports whether m is the zero Message, which stands for "no
// message" and renders as "". Raw("") and List() are messages that happen
// to be empty, not zero.
func (m Message) IsZero() bool {
	return m.Key == "" && m.kind == kindCatalogue && len(m.Params) == 0 && m.alt == nil
}

// String renders m in qqx (keys and parameters, no language), for logs and
// test failures; a reader never sees it.
func (m Message) String() string {
	return Localizer{Lang: "qqx"}.Text(m)
}

// TimeStyle says how much of a time a reader needs.
type TimeStyle uint8

// The styles a platform can write a time in.
const (
	TimeFull     TimeStyle = iota // date and time of day
	TimeRelative                  // "in 3 days", "2 hours ago"
	TimeDate                      // the date alone
)

// Time is a point in time as a message parameter. Each platform writes it
// its own way (Localizer.Time), usually in the reader's own time zone.
type Time struct {
	T     time.Time
	Style TimeStyle
}

// Units of Duration, largest first, with their catalogue keys.
var durationUnits = [...]struct {
	size time.Duration
	key  string
}{
	{7 * 24 * time.Hour, "wikimod-duration-weeks"},
	{24 * time.Hour, "wikimod-duration-days"},
	{time.Hour, "wikimod-duration-hours"},
	{time.Minute, "wikimod-duration-minutes"},
	{time.Second, "wikimod-duration-seconds"},
}

// Duration returns d as "1 week", "3 days", "2 hours": a count of the
// largest unit (weeks, days, hours, minutes, seconds) that measures d
// exactly, so nothing is rounded away; "90 minutes", not "1 hour". d is
// rounded to the second first.
func Duration(d time.Duration) Message {
	d = d.Round(time.Second)
	for _, u := range durationUnits {
		if d != 0 && d%u.size == 0 {
			return M(u.key, int64(d/u.size))
		}
	}
	return M("wikimod-duration-seconds", int64(d/time.Second))
}

// about returns d (not negative) as a count of one unit, rounded: whole
// weeks if d is some, else the largest of days, hours, minutes and seconds
// that is not above d ("in 2 days" for 50 hours), as relative times read.
func about(d time.Duration) Message {
	d = d.Round(time.Second)
	week := durationUnits[0]
	if d != 0 && d%week.size == 0 {
		return M(week.key, int64(d/week.size))
	}
	for _, u := range durationUnits[1:] {
		if d >= u.size {
			return M(u.key, int64((d+u.size/2)/u.size))
		}
	}
	return M("wikimod-duration-seconds", int64(d/time.Second))
}

// Relative returns t as seen from now: "in 7 days", "3 hours ago", "just
// now" (within a second). The count is rounded to the nearest day, hour,
// minute or second, whichever is the largest unit not above the distance,
// as relative times read ("in 2 hours" for 100 minutes); a count of whole
// weeks is said in weeks.
func Relative(t, now time.Time) Message {
	d := t.Sub(now)
	switch {
	case d >= time.Second:
		return M("wikimod-time-in", about(d))
	case d <= -time.Second:
		return M("wikimod-time-ago", about(-d))
	default:
		return M("wikimod-time-now")
	}
}
