package commands

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// QuoteArg writes a value as the command grammar reads it back: bare when it
// is a plain word, else in double quotes with a backslash before each quote
// and backslash. It quotes a value that is empty or holds a space of any
// kind, a quote mark, an '=' (a bare word with one could read as named) or
// a character it escapes.
//
// Its text goes where people read it (replies, `wikimod audit`), so it
// never holds a character that a terminal or a chat client would act on
// instead of showing: control and format characters (Unicode Cc and Cf:
// carriage returns, escapes, NULs, bidirectional overrides), line and
// paragraph separators, and bytes that are not UTF-8 are written as Go
// escapes (\r, \x1b, \u202e, \xff). The value is then one line that shows
// what it holds, and strconv.Unquote reads any quoted result back exactly;
// the command grammar reads back every value without such characters.
func QuoteArg(v string) string {
	if v != "" && !needsQuotes(v) {
		return v
	}
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, v[i])
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case hiddenRune(r):
			writeEscape(&b, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// needsQuotes reports whether QuoteArg must quote v (which is not empty).
func needsQuotes(v string) bool {
	for i, r := range v {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(v[i:]); size == 1 {
				return true
			}
		}
		if r == '=' || unicode.IsSpace(r) || isQuoteMark(r) || hiddenRune(r) {
			return true
		}
	}
	return false
}

// isQuoteMark reports whether the grammar may read r as opening or closing
// a quoted value.
func isQuoteMark(r rune) bool {
	if _, ok := quoteClosers[r]; ok {
		return true
	}
	for _, closers := range quoteClosers {
		if strings.ContainsRune(closers, r) {
			return true
		}
	}
	return false
}

// hiddenRune reports whether r is one that a reader would not see as it
// is: a control or format character, or a line or paragraph separator.
func hiddenRune(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// writeEscape writes r as a Go escape, as strconv.Unquote reads it.
func writeEscape(b *strings.Builder, r rune) {
	switch r {
	case '\a':
		b.WriteString(`\a`)
	case '\b':
		b.WriteString(`\b`)
	case '\f':
		b.WriteString(`\f`)
	case '\n':
		b.WriteString(`\n`)
	case '\r':
		b.WriteString(`\r`)
	case '\t':
		b.WriteString(`\t`)
	case '\v':
		b.WriteString(`\v`)
	default:
		switch {
		case r < 0x80:
			fmt.Fprintf(b, `\x%02x`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
	}
}
