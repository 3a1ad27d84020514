// Package commands is wikimod's domain: who is asking (Actor), what they ask
// (a command name and Args, from a typed line or from a platform's structured
// options), whether they may (Policy, mapped to wiki rights), running the
// four commands against the wiki, and the Reply that goes back. It imports no
// chat SDK: each platform adapter turns its own input into Args and renders
// the Reply its own way.
package commands

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"unicode"

	"github.com/wikimod/wikimod/i18n"
)

// Platform is what the domain knows of a chat platform: data its adapter
// gives (Config.Platforms), never a name the domain spells. Adding a
// platform adds none of its words here.
type Platform struct {
	// Name is Actor.Platform for the platform's people ("discord").
	Name string
	// Title names it in a sentence ("Discord", "the console"), in the
	// reader's language: a catalogue message.
	Title i18n.Message
	// Noun names it before a noun ("Discord", "console"): "your console
	// account", "requested by console user admin".
	Noun i18n.Message
}

// Actor is the chat identity asking for a command.
type Actor struct {
	Platform string // the Name of the Platform it comes from
	UserID   string // the platform's stable user id
	UserName string // a display name, for replies and the audit log
	// Roles are the platform groups the user belongs to: Discord role ids or
	// Slack user-group ids. They map to wiki groups like UserID does.
	Roles   []string
	Channel string // where the command was given, for the audit log
	// Space is the Discord server (guild) or Slack workspace (team) the
	// command came from; with Channel it picks the default wiki.
	Space string
	// WikiUser is the wiki account the actor is linked to. The service
	// sets it when a command runs; platforms leave it empty.
	WikiUser string
	// Locale is the language the platform says the person uses, as a
	// MediaWiki language code (i18n.FromDiscord, FromSlack, FromPOSIX);
	// "" when it says none.
	Locale string
}

func (a Actor) String() string {
	if a.UserName != "" && a.UserName != a.UserID {
		return fmt.Sprintf("%s:%s (%s)", a.Platform, a.UserID, a.UserName)
	}
	return a.Platform + ":" + a.UserID
}

// Args are a command's arguments: named values and bare words. Text input
// (ParseLine) and structured input (Discord options, modal fields) both
// produce Args, so every platform shares one set of rules for what a command
// accepts.
type Args struct {
	Positional []string
	Named      map[string]string
	// quoted marks the Positional words that were typed in quotes: a
	// quoted word is always text ("Exact" is a title), never a flag.
	quoted []bool
}

// Set returns a with key set to value.
func (a Args) Set(key, value string) Args {
	if a.Named == nil {
		a.Named = map[string]string{}
	}
	a.Named[key] = value
	return a
}

// Without returns a copy of a without the named key.
func (a Args) Without(key string) Args {
	named := make(map[string]string, len(a.Named))
	for k, v := range a.Named {
		if k != key {
			named[k] = v
		}
	}
	return Args{Positional: a.Positional, Named: named, quoted: a.quoted}
}

// foldFlags turns the bare, unquoted words that name one of spec's flags
// (`cascade`, `exact`) into named arguments, as if typed `cascade=`, so
// that every later step (the audit log, the command) sees them as flags
// and the rest of the words as text. A quoted word stays text.
func foldFlags(spec Spec, a Args) (Args, error) {
	var words []string
	var quoted []bool
	folded := false
	for i, w := range a.Positional {
		q := i < len(a.quoted) && a.quoted[i]
		if p, ok := spec.Param(strings.ToLower(w)); ok && p.Flag && !q {
			if _, dup := a.Named[p.Name]; dup {
				return a, usage("wikimod-usage-flag-twice", p.Name)
			}
			if !folded {
				a.Named = maps.Clone(a.Named)
				if a.Named == nil {
					a.Named = map[string]string{}
				}
				folded = true
			}
			a.Named[p.Name] = ""
			continue
		}
		words = append(words, w)
		quoted = append(quoted, q)
	}
	if !folded {
		return a, nil
	}
	return Args{Positional: words, Named: a.Named, quoted: quoted}, nil
}

// Get returns the named value for key.
func (a Args) Get(key string) (string, bool) {
	v, ok := a.Named[key]
	return v, ok
}

// Keys returns the named keys in sorted order.
func (a Args) Keys() []string {
	keys := make([]string, 0, len(a.Named))
	for k := range a.Named {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseLine splits a typed command such as
//
//	/protect "Main Page" edit=sysop expiry="1 week" cascade
//
// into its name and Args. Values with spaces go in double quotes; a
// backslash escapes a quote or a backslash inside quotes. A word is named
// when it starts with a lowercase key and '='; other words are positional.
func ParseLine(line string) (name string, args Args, err error) {
	words, err := splitWords(line)
	if err != nil {
		return "", Args{}, err
	}
	if len(words) == 0 {
		return "", Args{}, usage("wikimod-usage-empty-line")
	}
	name = strings.ToLower(strings.TrimPrefix(words[0].text, "/"))
	args = Args{Named: map[string]string{}}
	for _, w := range words[1:] {
		key, value, ok := w.named()
		if !ok {
			args.Positional = append(args.Positional, w.text)
			args.quoted = append(args.quoted, w.quoted)
			continue
		}
		if _, dup := args.Named[key]; dup {
			return name, args, usage("wikimod-usage-param-twice", key)
		}
		args.Named[key] = value
	}
	return name, args, nil
}

type word struct {
	text   string
	eqAt   int  // index of the first '=' outside quotes, or -1
	quoted bool // the key part contained a quote
}

func (w word) named() (key, value string, ok bool) {
	if w.eqAt <= 0 || w.quoted {
		return "", "", false
	}
	key = w.text[:w.eqAt]
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r == '_' || r >= '0' && r <= '9') {
			return "", "", false
		}
	}
	return key, w.text[w.eqAt+1:], true
}

// quoteClosers maps each quote mark that may open a quoted value to the
// marks that close it. Besides straight double quotes, people type single
// quotes, and terminals and phones turn quotes curly (“…”, ‘…’, „…“).
var quoteClosers = map[rune]string{
	'"':      `"`,
	'\'':     "'",
	'\u201c': "\u201d\u201c", // “…” (or “…“)
	'\u201d': "\u201d",       // ”…”
	'\u201e': "\u201c\u201d", // „…“
	'\u2018': "\u2019\u2018", // ‘…’
	'\u2019': "\u2019",       // ’…’
}

// splitWords splits a command line into words. A quoted value keeps its
// spaces. A straight double quote opens and closes a quote anywhere, as it
// always has; the other marks open one only at the start of a word or
// value (so "Don't" keeps its apostrophe) and close it only at the end of
// one.
func splitWords(line string) ([]word, error) {
	var (
		words   []word
		cur     strings.Builder
		inWord  bool
		closers string // while in a quote: the marks that close it
		last    rune   // the last rune written to cur
		w       = word{eqAt: -1}
	)
	flush := func() {
		if inWord {
			w.text = cur.String()
			words = append(words, w)
		}
		cur.Reset()
		inWord = false
		last = 0
		w = word{eqAt: -1}
	}
	runes := []rune(line)
	endsWord := func(i int) bool { return i >= len(runes) || unicode.IsSpace(runes[i]) }
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case closers != "" && r == '\\' && i+1 < len(runes) && (strings.ContainsRune(closers, runes[i+1]) || runes[i+1] == '\\'):
			i++
			cur.WriteRune(runes[i])
			last = runes[i]
		case closers != "" && strings.ContainsRune(closers, r) && (r == '"' || endsWord(i+1)):
			closers = ""
		case closers == "" && (r == '"' || quoteClosers[r] != "" && (cur.Len() == 0 || last == '=')):
			closers = quoteClosers[r]
			inWord = true
			if w.eqAt < 0 {
				w.quoted = true
			}
		case closers == "" && unicode.IsSpace(r):
			flush()
		default:
			if r == '=' && closers == "" && w.eqAt < 0 && !w.quoted {
				w.eqAt = cur.Len()
			}
			cur.WriteRune(r)
			last = r
			inWord = true
		}
	}
	if closers != "" {
		return nil, usage("wikimod-usage-unclosed-quote")
	}
	flush()
	return words, nil
}

// parseBool reads the yes/no values a flag may take.
func parseBool(key, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, usage("wikimod-usage-not-yes-no", key, s)
}
