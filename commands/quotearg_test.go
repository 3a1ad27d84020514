package commands_test

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/wikimod/wikimod/commands"
)

// TestQuoteArg: plain words stay bare, anything the grammar would split or
// read as a quote is quoted, and what a reader would not see as it is
// (control and format characters, separators, bytes that are not UTF-8) is
// written as a Go escape.
func TestQuoteArg(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Dora", "Dora"},
		{"[unparsed]", "[unparsed]"},
		{`C:\dir`, `C:\dir`},
		{"Zoë", "Zoë"},
		{"", `""`},
		{"Main Page", `"Main Page"`},
		{`say "hi"`, `"say \"hi\""`},
		{`a\b c`, `"a\\b c"`},
		{"Don't", `"Don't"`},
		{"„x“", `"„x“"`},
		{"a=b", `"a=b"`},
		{"a\u00a0b", "\"a\u00a0b\""},
		{"a\tb", `"a\tb"`},
		{"a\nb", `"a\nb"`},
		{"a\vb", `"a\vb"`},
		{"a\rb", `"a\rb"`},
		{"ok\r2026 denied", `"ok\r2026 denied"`},
		{"\x1b[8mdenied\x1b[0m", `"\x1b[8mdenied\x1b[0m"`},
		{"a\x00b", `"a\x00b"`},
		{"a\x7fb", `"a\x7fb"`},
		{"a\u0085b", `"a\u0085b"`},
		{"\u202eko", `"\u202eko"`},
		{"a\u200bb", `"a\u200bb"`},
		{"a\u2028b\u2029", `"a\u2028b\u2029"`},
		{"\ufeffBOM", `"\ufeffBOM"`},
		{"tag\U000e0041", `"tag\U000e0041"`},
		{"a\xffb", `"a\xffb"`},
		{"\xed\xa0\x80", `"\xed\xa0\x80"`},
		{"\ufffd", "\ufffd"},
	} {
		if got := commands.QuoteArg(c.in); got != c.want {
			t.Errorf("QuoteArg(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// FuzzQuoteArg: whatever the value, QuoteArg's text is valid UTF-8 on one
// line with no control or format character, strconv.Unquote reads a quoted
// one back exactly (a bare one is the value itself), and the command
// grammar reads back, named or positional, every value that holds no
// character QuoteArg escapes.
func FuzzQuoteArg(f *testing.F) {
	for _, s := range []string{
		"", "Dora", "Main Page", `say "hi"`, `a\"b`, `\`, "Don't", "‘a’", "„x“", "”", "a=b", "E=mc2",
		"ok\r2026-03-01T12:00:00Z  default  console admin /protect x -> ok",
		"\x1b[8mdenied\x1b[0m", "a\x00b", "a\vb", "a\fb", "\u202eko", "\u2066x\u2069", "a\u2028b", "\u0085",
		"\ufeff", "\xff", "\xed\xa0\x80", "\ufffd", "a\u00a0b", "a\u3000b", "x\U000e0041",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		q := commands.QuoteArg(v)
		checkShown(t, q)
		if strings.HasPrefix(q, `"`) {
			back, err := strconv.Unquote(q)
			if err != nil || back != v {
				t.Fatalf("QuoteArg(%q) = %s, read back as %q, %v", v, q, back, err)
			}
		} else if q != v || v == "" {
			t.Fatalf("QuoteArg(%q) = %s, bare but changed", v, q)
		}
		if strings.ContainsFunc(v, escaped) || !utf8.ValidString(v) {
			return
		}
		if _, args, err := commands.ParseLine("/x k=" + q); err != nil || args.Named["k"] != v {
			t.Fatalf("the grammar reads k=%s as %q, %v; want %q", q, args.Named["k"], err, v)
		}
		if _, args, err := commands.ParseLine("/x " + q); err != nil || len(args.Positional) != 1 || args.Positional[0] != v || len(args.Named) != 0 {
			t.Fatalf("the grammar reads %s as %q %v, %v; want %q", q, args.Positional, args.Named, err, v)
		}
	})
}

// escaped reports whether QuoteArg writes r as an escape.
func escaped(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) }

// checkShown fails t unless s is valid UTF-8 with no character that a
// terminal or chat client would act on rather than show.
func checkShown(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%q is not valid UTF-8", s)
	}
	if i := strings.IndexFunc(s, escaped); i >= 0 {
		t.Fatalf("%q holds %U", s, []rune(s[i:])[0])
	}
}
