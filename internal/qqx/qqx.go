// Package qqx finds English left in text rendered in the qqx
// pseudo-language, where every message shows as its key ("(wikimod-…)")
// and the wiki's as theirs ("(protect-level-sysop)"), as uselang=qqx does on
// a wiki. Whatever words remain once the keys and the parameters a test
// gave are taken out were written in code, not in a catalogue: English a
// reader of another language would see.
package qqx

import (
	"regexp"
	"slices"
	"strings"
)

var (
	// keyForm is a message shown as its key: "(key" then ")" or ": ".
	keyForm = regexp.MustCompile(`\((?:[a-z][a-z0-9]*)(?:[-_][a-z0-9]+)*(?:\)|: ?)`)
	// code is text typed in commands, quoted as code in replies.
	code = regexp.MustCompile("`[^`]*`")
	// url is an address.
	url = regexp.MustCompile(`(?:https?://|<https?://)[^\s>|]+`)
	// mention is a platform's markup for a person, channel or time.
	mention = regexp.MustCompile(`<[@#!][^>]*>|<t:\d+:[a-zA-Z]>`)
	// word is a run of letters long enough to be a word of a sentence.
	word = regexp.MustCompile(`[A-Za-z]{2,}`)
)

// codeWords are words that are not language: MediaWiki's and wikimod's
// codes, which replies show as they are typed.
var codeWords = map[string]bool{
	"wikimod": true, "sysop": true, "autoconfirmed": true, "all": true, "edit": true, "move": true,
	"create": true, "upload": true, "infinite": true, "infinity": true, "UTC": true, "qqx": true,
	"protect": true, "editprotected": true, "editsemiprotected": true, "ok": true,
}

// English returns the words of text that no catalogue wrote: what is left
// once message keys, code spans, addresses, mentions and every string in
// given (the titles, names and codes the test itself supplied) are taken
// out. An empty result means no English escaped the catalogue.
func English(text string, given ...string) []string {
	// Keys first, so that a given word ("title") cannot cut a key
	// ("(wikimod-invalid-title)") into words; then the given strings,
	// longest first, so that "Main Page 2" goes before "Main Page".
	for _, re := range []*regexp.Regexp{url, mention, code, keyForm} {
		text = re.ReplaceAllString(text, " ")
	}
	given = slices.Clone(given)
	slices.SortFunc(given, func(a, b string) int { return len(b) - len(a) })
	for _, g := range given {
		if g != "" {
			text = strings.ReplaceAll(text, g, " ")
		}
	}
	var left []string
	for _, w := range word.FindAllString(text, -1) {
		if !codeWords[w] && !codeWords[strings.ToLower(w)] {
			left = append(left, w)
		}
	}
	return left
}
