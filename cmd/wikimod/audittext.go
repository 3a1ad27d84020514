package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wikimod/wikimod/commands"
)

// auditJSON is one record as `wikimod audit -json` writes it.
type auditJSON struct {
	ID         int64             `json:"id"`
	Time       time.Time         `json:"time"`
	Platform   string            `json:"platform"`
	User       string            `json:"user"`
	UserName   string            `json:"user_name,omitempty"`
	Wiki       string            `json:"wiki"`
	WikiUser   string            `json:"wiki_user,omitempty"`
	Channel    string            `json:"channel,omitempty"`
	Command    string            `json:"command"`
	Args       map[string]string `json:"args"`
	Outcome    string            `json:"outcome"`
	Code       string            `json:"code,omitempty"`
	Result     json.RawMessage   `json:"result,omitempty"`
	DurationMS float64           `json:"duration_ms"`
}

// printAudit writes records for `wikimod audit`: one line each, as text or
// as JSON. What the records hold came from chat users and wikis, and an
// operator reads it in a terminal: neither form ever writes a character a
// terminal would act on instead of showing, so that no record can hide or
// forge another (a carriage return and a fake "ok", an escape sequence that
// blanks "denied", a bidirectional override).
func printAudit(w io.Writer, recs []commands.AuditRecord, asJSON bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range recs {
		if !asJSON {
			if _, err := io.WriteString(w, auditLine(r)); err != nil {
				return err
			}
			continue
		}
		buf.Reset()
		if err := enc.Encode(auditJSON{ID: r.ID, Time: r.Time, Platform: r.Platform, User: r.UserID, UserName: r.UserName,
			Wiki: r.Wiki, WikiUser: r.WikiUser, Channel: r.Channel, Command: r.Command, Args: r.Args, Outcome: string(r.Outcome), Code: r.Code, Result: r.Result,
			DurationMS: float64(r.Duration.Microseconds()) / 1000}); err != nil {
			return err
		}
		if _, err := w.Write(escapeJSONLine(buf.Bytes())); err != nil {
			return err
		}
	}
	return nil
}

// auditLine is one record as text, ending in its only newline: the command
// as it could be typed again, who asked, where, and how it ended. Every
// field is written by commands.QuoteArg, which quotes what holds a space or
// a quote and writes control and format characters, separators and bytes
// that are not UTF-8 as Go escapes: a quoted field reads back exactly with
// strconv.Unquote.
func auditLine(r commands.AuditRecord) string {
	args := make([]string, 0, len(r.Args))
	for _, k := range sortedKeys(r.Args) {
		v := commands.QuoteArg(r.Args[k])
		if k != "_" {
			v = commands.QuoteArg(k) + "=" + v
		}
		args = append(args, v)
	}
	code := ""
	if r.Code != "" {
		code = " (" + commands.QuoteArg(r.Code) + ")"
	}
	who := commands.QuoteArg(r.UserID)
	if r.WikiUser != "" {
		who += " (wiki: " + commands.QuoteArg(r.WikiUser) + ")"
	}
	return fmt.Sprintf("%s  %-8s %-7s %-12s /%s %s -> %s%s\n", r.Time.Format(time.RFC3339), wikiField(r.Wiki),
		commands.QuoteArg(r.Platform), who, commands.QuoteArg(r.Command), strings.Join(args, " "), commands.QuoteArg(string(r.Outcome)), code)
}

// wikiField shows a record's wiki: "-" for none (a command no wiki could be
// chosen for), and a wiki named "-" quoted, so the two stay apart.
func wikiField(wiki string) string {
	switch wiki {
	case "":
		return "-"
	case "-":
		return `"-"`
	}
	return commands.QuoteArg(wiki)
}

// escapeJSONLine returns a line encoding/json wrote with every character a
// terminal could act on escaped. encoding/json escapes the C0 controls and
// U+2028 and U+2029 but writes DEL, the C1 controls (U+009B is an escape
// sequence's start to some terminals) and format characters (bidirectional
// overrides, zero-width spaces) as they are, and passes on a
// json.RawMessage's bytes. Outside its strings JSON has only ASCII, so each
// such character is in a string, where \uXXXX means the same; a byte that
// is not UTF-8, which no JSON string can hold, becomes U+FFFD, as
// encoding/json itself writes it. The line's final newline stays.
func escapeJSONLine(line []byte) []byte {
	body, nl := bytes.CutSuffix(line, []byte("\n"))
	if !bytes.ContainsFunc(body, func(r rune) bool { return r == utf8.RuneError || shownEscaped(r) }) {
		return line
	}
	out := make([]byte, 0, len(line)+16)
	for i := 0; i < len(body); {
		r, size := utf8.DecodeRune(body[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...)
		case shownEscaped(r):
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		default:
			out = utf8.AppendRune(out, r)
		}
	}
	if nl {
		out = append(out, '\n')
	}
	return out
}

// shownEscaped reports whether r is written escaped for a terminal: a
// control or format character, or a line or paragraph separator.
func shownEscaped(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}
