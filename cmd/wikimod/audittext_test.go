package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wikimod/wikimod/commands"
)

// auditT0 is the time of the records these tests print.
var auditT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestAuditTextCannotBeForged: a reason that holds a carriage return and a
// fake "ok" record, an escape sequence that blanks the rest of the line, a
// NUL, a bidirectional override or a line separator prints as one line per
// record, each showing its real outcome, with those characters escaped.
func TestAuditTextCannotBeForged(t *testing.T) {
	attacks := []string{
		"spam\r2026-03-01T12:00:00Z  default  console admin       /protect Main_Page -> ok",
		"spam\x1b[8m",
		"spam\x1b[2K\x1b[1G2026-03-01T12:00:00Z  default  console admin /protect x -> ok\x1b[8m",
		"spam\x00",
		"\u202eko <- deined",
		"spam\u2028-> ok",
		"spam\x9b8m",
		"spam\xff",
	}
	var recs []commands.AuditRecord
	for _, a := range attacks {
		recs = append(recs, commands.AuditRecord{Time: auditT0, Wiki: "default", Platform: "slack", UserID: "U1" + a, WikiUser: a,
			Channel: a, Command: "protect", Args: map[string]string{"_": "Main Page", "reason": a, "k" + a: a},
			Outcome: commands.OutcomeDenied, Code: "no-right" + a})
	}
	var b bytes.Buffer
	if err := printAudit(&b, recs, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.SplitAfter(out, "\n")
	if lines[len(lines)-1] != "" || len(lines)-1 != len(attacks) {
		t.Fatalf("%d records printed as %d lines:\n%s", len(attacks), len(lines)-1, out)
	}
	for i, line := range lines[:len(attacks)] {
		checkShownLine(t, line)
		if want := ` -> denied (` + commands.QuoteArg("no-right"+attacks[i]) + ")\n"; !strings.HasSuffix(line, want) {
			t.Errorf("line %d = %q, want it to end with %q", i, line, want)
		}
		if want := "reason=" + strconv.Quote(attacks[i]); !strings.Contains(line, want) {
			t.Errorf("line %d = %q, want it to hold %s", i, line, want)
		}
	}
}

// FuzzAuditText: whatever a record holds, `wikimod audit` prints it as
// exactly one line of valid UTF-8 with no control or format character, from
// which every field reads back as it was stored.
func FuzzAuditText(f *testing.F) {
	attacks := []string{
		"ok\r2026-03-01T12:00:00Z  default  console admin /protect x -> ok",
		"\x1b[8mdenied\x1b[0m", "a\x00b", "a\vb", "a\rb", "\u202eko", "a\u2028b", "\u2029", "\x9b", "\xff\xfe",
		"", "-", "->", "(x)", "a)", "a=b", `"`, `\`, "„x“", "Main Page", "wiki: x", "\ufeff", "a\u00a0b",
	}
	for _, a := range attacks {
		f.Add("default", "slack", "U1", a, "protect", "reason", a, "Main Page", "denied", "no-right")
		f.Add(a, a, a, "", a, a, "v", a, a, a)
		f.Add("-", "console", a, a, "_", "_", a, a, "ok", "")
	}
	f.Fuzz(func(t *testing.T, wiki, platform, user, wikiUser, command, key, value, positional, outcome, code string) {
		rec := commands.AuditRecord{Time: auditT0, Wiki: wiki, Platform: platform, UserID: user, WikiUser: wikiUser,
			Command: command, Args: map[string]string{"_": positional, key: value}, Outcome: commands.Outcome(outcome), Code: code}
		var b bytes.Buffer
		if err := printAudit(&b, []commands.AuditRecord{rec}, false); err != nil {
			t.Fatal(err)
		}
		line := b.String()
		checkShownLine(t, line)
		got, err := readAuditLine(line, len(rec.Args), wikiUser != "", code != "")
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		want := auditFields{time: auditT0.Format(time.RFC3339), wiki: wiki, platform: platform, user: user, wikiUser: wikiUser,
			command: command, args: rec.Args, outcome: outcome, code: code}
		if !got.equal(want) {
			t.Fatalf("%q reads back as\n%+v\nwant\n%+v", line, got, want)
		}
	})
}

// TestAuditJSONEscapesForTerminals: `wikimod audit -json` is one JSON object
// per line that reads back as stored, and writes no character a terminal
// would act on: encoding/json's own escapes (C0 controls, U+2028, U+2029)
// and the ones it leaves out (DEL, C1 controls, format characters).
func TestAuditJSONEscapesForTerminals(t *testing.T) {
	nasty := "a\r\n\x1b[8m\x00\x7f\u009b\u202e\u2066\u200b\ufeff\u2028\u2029\U000e0041\u00a0z"
	note, err := json.Marshal(nasty)
	if err != nil {
		t.Fatal(err)
	}
	rec := commands.AuditRecord{ID: 7, Time: auditT0, Wiki: "default", Platform: "slack", UserID: "U1" + nasty, UserName: nasty,
		WikiUser: nasty, Channel: nasty, Command: "protect", Args: map[string]string{"reason": nasty, nasty: "x"},
		Outcome: commands.OutcomeDenied, Code: nasty, Result: json.RawMessage(`{"note":` + string(note) + `}`)}
	var b bytes.Buffer
	if err := printAudit(&b, []commands.AuditRecord{rec, rec}, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(b.String(), "\n")
	if len(lines) != 3 || lines[2] != "" {
		t.Fatalf("two records printed as:\n%s", b.String())
	}
	checkShownLine(t, lines[0])
	for _, esc := range []string{`\u2028`, `\u2029`, `\u202e`, `\u009b`, `\u007f`, `\ufeff`, `\udb40\udc41`} {
		if !strings.Contains(lines[0], esc) {
			t.Errorf("the JSON lacks %s: %s", esc, lines[0])
		}
	}
	var got auditJSON
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	var result struct{ Note string }
	if err := json.Unmarshal(got.Result, &result); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string][2]string{
		"user": {got.User, "U1" + nasty}, "user_name": {got.UserName, nasty}, "wiki_user": {got.WikiUser, nasty},
		"channel": {got.Channel, nasty}, "code": {got.Code, nasty}, "reason": {got.Args["reason"], nasty},
		"the key's value": {got.Args[nasty], "x"}, "result": {result.Note, nasty},
	} {
		if c[0] != c[1] {
			t.Errorf("%s reads back as %q, want %q", name, c[0], c[1])
		}
	}
}

// checkShownLine fails t unless line is one line of valid UTF-8, ending in
// its only newline, with no other control or format character.
func checkShownLine(t *testing.T, line string) {
	t.Helper()
	body, ok := strings.CutSuffix(line, "\n")
	if !ok || !utf8.ValidString(body) {
		t.Fatalf("%q is not one line of valid UTF-8", line)
	}
	if i := strings.IndexFunc(body, func(r rune) bool {
		return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
	}); i >= 0 {
		t.Fatalf("%q holds %U", line, []rune(body[i:])[0])
	}
}

// auditFields are the fields of a record a text line shows.
type auditFields struct {
	time, wiki, platform, user, wikiUser, command string
	args                                          map[string]string
	outcome, code                                 string
}

func (a auditFields) equal(b auditFields) bool {
	return maps.Equal(a.args, b.args) && a.time == b.time && a.wiki == b.wiki && a.platform == b.platform &&
		a.user == b.user && a.wikiUser == b.wikiUser && a.command == b.command && a.outcome == b.outcome && a.code == b.code
}

// readAuditLine reads back a line auditLine wrote, given how many arguments
// the record has and whether it has a wiki account and a code.
func readAuditLine(line string, nargs int, hasWikiUser, hasCode bool) (auditFields, error) {
	r := &lineReader{s: line}
	var f auditFields
	f.time = r.bare(" ")
	r.lit("  ")
	if f.wiki = r.field(" "); f.wiki == "-" && !r.wasQuoted {
		f.wiki = ""
	}
	r.pad()
	f.platform = r.field(" ")
	r.pad()
	f.user = r.field(" ")
	if hasWikiUser {
		r.lit(" (wiki: ")
		f.wikiUser = r.fieldBefore(")")
	}
	r.pad()
	r.lit("/")
	f.command = r.field(" ")
	r.lit(" ")
	f.args = map[string]string{}
	for i := range nargs {
		if i > 0 {
			r.lit(" ")
		}
		k := r.field(" =")
		if r.take("=") {
			f.args[k] = r.field(" ")
		} else {
			f.args["_"] = k
		}
	}
	r.lit(" -> ")
	f.outcome = r.field(" \n")
	if hasCode {
		r.lit(" (")
		f.code = r.fieldBefore(")")
	}
	r.lit("\n")
	if r.err == nil && r.s != "" {
		r.fail("left over")
	}
	return f, r.err
}

// lineReader reads fields off the front of a line, remembering its first
// error.
type lineReader struct {
	s         string
	err       error
	wasQuoted bool // the last field read was quoted
}

func (r *lineReader) fail(what string) {
	if r.err == nil {
		r.err = &readError{what: what, at: r.s}
	}
}

func (r *lineReader) take(p string) bool {
	if r.err != nil || !strings.HasPrefix(r.s, p) {
		return false
	}
	r.s = r.s[len(p):]
	return true
}

func (r *lineReader) lit(p string) {
	if !r.take(p) {
		r.fail("want " + strconv.Quote(p))
	}
}

// pad skips the spaces that pad a column, at least one.
func (r *lineReader) pad() {
	r.lit(" ")
	for r.take(" ") {
	}
}

// bare reads up to the first byte of stop, or to the end.
func (r *lineReader) bare(stop string) string {
	if r.err != nil {
		return ""
	}
	i := strings.IndexAny(r.s, stop)
	if i < 0 {
		i = len(r.s)
	}
	v := r.s[:i]
	r.s = r.s[i:]
	return v
}

// field reads a quoted field, or a bare one up to a byte of stop.
func (r *lineReader) field(stop string) string {
	if r.err != nil {
		return ""
	}
	r.wasQuoted = strings.HasPrefix(r.s, `"`)
	if !r.wasQuoted {
		v := r.bare(stop)
		if v == "" {
			r.fail("an empty bare field")
		}
		return v
	}
	q, err := strconv.QuotedPrefix(r.s)
	if err != nil {
		r.fail("a bad quoted field")
		return ""
	}
	v, err := strconv.Unquote(q)
	if err != nil {
		r.fail("a bad quoted field")
	}
	r.s = r.s[len(q):]
	return v
}

// fieldBefore reads a field followed by end: a bare one may hold end
// itself, so it runs to the next space or newline, less end.
func (r *lineReader) fieldBefore(end string) string {
	v := r.field(" \n")
	if !r.wasQuoted {
		v, ok := strings.CutSuffix(v, end)
		if !ok || v == "" {
			r.fail("want a field and " + strconv.Quote(end))
		}
		return v
	}
	r.lit(end)
	return v
}

type readError struct{ what, at string }

func (e *readError) Error() string { return e.what + " at " + strconv.Quote(e.at) }
