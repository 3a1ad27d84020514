package i18n

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Localizer renders messages for one reader: in their language, with the
// wiki's words in it and times as their platform writes them. It is a
// small value, made per reply; its zero value renders English from the
// built-in catalogue.
type Localizer struct {
	// Lang is a MediaWiki language code: "en", "zh-hans", "tr", "nan",
	// "qqx", "fi"… ("" is en). Messages a language lacks come from the
	// nearest language along its MediaWiki fallback chain, and at last
	// from en.
	Lang string
	// Cat holds the bot's own messages; nil means Default().
	Cat *Catalogue
	// Wiki returns the wiki's message key in Lang, as the wiki's
	// meta=allmessages&amlang=Lang gave it, and whether the wiki has it.
	// Nil means the wiki's words are not at hand (see Wiki for what is
	// shown then).
	Wiki func(key string) (string, bool)
	// Time writes a time as this platform shows it to the reader
	// (Discord's <t:UNIX:f>, Slack's <!date^…>, the console's wiki time).
	// Nil writes "2026-12-10 12:00 UTC" (TimeFull), "2026-12-10"
	// (TimeDate), or a relative time through Now.
	Time func(t Time) string
	// Now is the clock relative times are measured from when Time is nil.
	// Nil writes relative times as full ones.
	Now func() time.Time
}

// T renders the catalogue message key with params: a shorthand for
// l.Text(M(key, params...)).
func (l Localizer) T(key string, params ...any) string {
	return l.Text(Message{Key: key, Params: params})
}

// Text renders m for l's reader. A catalogue message no language along the
// chain has is written "⧼key⧽", as MediaWiki writes a missing message,
// unless Else gave it a fallback; a parameter a message names but was not
// given stays "$N".
func (l Localizer) Text(m Message) string {
	if m.kind == kindRaw {
		return m.text
	}
	cat := l.Cat
	if cat == nil {
		cat = defaultCatalogue
	}
	lang := l.Lang
	if lang == "" {
		lang = "en"
	} else if !Known(lang) {
		lang = Normalize(lang)
	}
	size := 64 // room for a short message and its parameters
	if m.kind == kindCatalogue && m.Key != "" && lang != "qqx" {
		c := cat.lookup(lang, m.Key)
		if c != nil && len(c.nodes) == 0 {
			return ""
		}
		if c != nil && len(c.nodes) == 1 && c.nodes[0].kind == nodeText {
			// Most messages are text alone: hand it out without copying.
			return c.nodes[0].text
		}
		if c != nil {
			size += len(c.text)
		}
	}
	r := renderer{cat: cat, lang: lang, qqx: lang == "qqx", wiki: l.Wiki, time: l.Time, now: l.Now, b: make([]byte, 0, size)}
	r.message(m)
	return string(r.b)
}

// maxDepth bounds how deeply messages nest in parameters, so that a
// message given itself as a parameter cannot loop forever.
const maxDepth = 32

type renderer struct {
	cat   *Catalogue
	lang  string
	qqx   bool
	wiki  func(string) (string, bool)
	time  func(Time) string
	now   func() time.Time
	depth int
	b     []byte
}

func (r *renderer) message(m Message) {
	if r.depth >= maxDepth {
		return
	}
	r.depth++
	defer func() { r.depth-- }()
	switch m.kind {
	case kindRaw:
		r.b = append(r.b, m.text...)
	case kindList:
		r.list(len(m.items), func(i int) { r.message(m.items[i]) })
	case kindLines, kindSentences:
		for i, item := range m.items {
			if i > 0 {
				if m.kind == kindLines {
					r.b = append(r.b, '\n')
				} else {
					r.catalogueMessage(Message{Key: "wikimod-word-separator"})
				}
			}
			r.message(item)
		}
	case kindWiki:
		r.wikiMessage(m)
	default:
		r.catalogueMessage(m)
	}
}

func (r *renderer) catalogueMessage(m Message) {
	if m.Key == "" {
		if m.alt != nil {
			r.message(*m.alt)
		}
		return
	}
	if r.qqx {
		r.keyForm(m.Key, m.Params)
		return
	}
	c := r.cat.lookup(r.lang, m.Key)
	if c == nil {
		r.missing(m)
		return
	}
	r.nodes(c.nodes, m.Params, c.lang.rules)
}

func (r *renderer) wikiMessage(m Message) {
	var text string
	ok := false
	if r.wiki != nil && m.Key != "" {
		text, ok = r.wiki(m.Key)
	}
	if !ok {
		r.missing(m)
		return
	}
	if r.qqx && strings.Contains(text, "$*") {
		// As MediaWiki's Message does for uselang=qqx.
		text = strings.ReplaceAll(text, "$*", qqxParamList(len(m.Params)))
	}
	if !strings.ContainsAny(text, "${[") {
		r.b = append(r.b, text...)
		return
	}
	// The wiki's text is parsed each time: it is not ours to keep, and
	// wiki messages with parameters are few.
	nodes, _ := parse(text)
	r.nodes(nodes, m.Params, rulesFor(r.lang))
}

// missing writes a message there is no text for.
func (r *renderer) missing(m Message) {
	switch {
	case r.qqx:
		r.keyForm(m.Key, m.Params)
	case m.alt != nil:
		r.message(*m.alt)
	default:
		r.b = append(r.b, "⧼"...)
		r.b = append(r.b, m.Key...)
		r.b = append(r.b, "⧽"...)
	}
}

// keyForm writes a message as qqx shows it: "(key)", "(key: p1, p2)".
func (r *renderer) keyForm(key string, params []any) {
	r.b = append(r.b, '(')
	r.b = append(r.b, key...)
	for i, p := range params {
		if i == 0 {
			r.b = append(r.b, ": "...)
		} else {
			r.b = append(r.b, ", "...)
		}
		r.param(p)
	}
	r.b = append(r.b, ')')
}

func qqxParamList(n int) string {
	if n == 0 {
		return ""
	}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i == 1 {
			b.WriteString(": $")
		} else {
			b.WriteString(", $")
		}
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

// list writes n items as MediaWiki's Language::listToText joins them:
// "a", "a and b", "a, b and c".
func (r *renderer) list(n int, item func(i int)) {
	for i := 0; i < n; i++ {
		switch {
		case i == 0:
		case i == n-1:
			r.catalogueMessage(Message{Key: "wikimod-and"})
			r.catalogueMessage(Message{Key: "wikimod-word-separator"})
		default:
			r.catalogueMessage(Message{Key: "wikimod-comma-separator"})
		}
		item(i)
	}
}

func (r *renderer) nodes(nodes []node, params []any, rules *pluralRules) {
	for i := range nodes {
		n := &nodes[i]
		switch n.kind {
		case nodeText:
			r.b = append(r.b, n.text...)
		case nodeParam:
			if n.param <= len(params) {
				r.param(params[n.param-1])
			} else {
				r.b = append(r.b, '$')
				r.b = strconv.AppendInt(r.b, int64(n.param), 10)
			}
		case nodePlural:
			if f := r.pluralForm(n, params, rules); f != nil {
				r.nodes(f.nodes, params, rules)
			}
		case nodeGender:
			// The bot knows nobody's gender: the neutral form, which is
			// the third, or the last given of fewer (Language::gender).
			if len(n.forms) > 0 {
				r.nodes(n.forms[min(2, len(n.forms)-1)].nodes, params, rules)
			}
		case nodeVerbatim:
			r.b = append(r.b, n.text...)
			for j, f := range n.forms {
				if j > 0 {
					r.b = append(r.b, '|')
				}
				r.nodes(f.nodes, params, rules)
			}
			r.b = append(r.b, n.close()...)
		}
	}
}

// pluralForm chooses the form of a PLURAL as Language::convertPlural does:
// an explicit "N=" form for the count N; else the form at the index of the
// count's CLDR category, or the last form when fewer are given.
func (r *renderer) pluralForm(n *node, params []any, rules *pluralRules) *form {
	num := r.count(n.arg, params)
	for i := range n.forms {
		if f := &n.forms[i]; f.explicit != "" && num.is(f.explicit) {
			return f
		}
	}
	want := rules.form(num)
	var last *form
	k := 0
	for i := range n.forms {
		f := &n.forms[i]
		if f.explicit != "" {
			continue
		}
		if k == want {
			return f
		}
		last = f
		k++
	}
	return last
}

// count reads the number a PLURAL is about: its parameter's value when the
// argument is just "$N", else the argument's text.
func (r *renderer) count(arg []node, params []any) number {
	if len(arg) == 1 && arg[0].kind == nodeParam && arg[0].param <= len(params) {
		if num, ok := numberOf(params[arg[0].param-1]); ok {
			return num
		}
	}
	sub := renderer{cat: r.cat, lang: r.lang, qqx: r.qqx, wiki: r.wiki, time: r.time, now: r.now, depth: r.depth}
	sub.nodes(arg, params, rulesFor(r.lang))
	return parseNumber(string(sub.b))
}

// numberOf returns the count a parameter holds, if it is a number or
// number-like text; ok is false for anything else, which is read from its
// rendering instead.
func numberOf(p any) (num number, ok bool) {
	switch v := p.(type) {
	case int:
		return intNumber(int64(v)), true
	case int64:
		return intNumber(v), true
	case int32:
		return intNumber(int64(v)), true
	case int16:
		return intNumber(int64(v)), true
	case int8:
		return intNumber(int64(v)), true
	case uint:
		return uintNumber(uint64(v)), true
	case uint64:
		return uintNumber(v), true
	case uint32:
		return uintNumber(uint64(v)), true
	case uint16:
		return uintNumber(uint64(v)), true
	case uint8:
		return uintNumber(uint64(v)), true
	case string:
		return parseNumber(v), true
	case float64:
		return parseNumber(strconv.FormatFloat(v, 'f', -1, 64)), true
	case float32:
		return parseNumber(strconv.FormatFloat(float64(v), 'f', -1, 32)), true
	case time.Duration, Message, Time, time.Time:
		return number{}, false
	}
	rv := reflect.ValueOf(p)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intNumber(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return uintNumber(rv.Uint()), true
	}
	return number{}, false
}

// param writes one parameter.
func (r *renderer) param(p any) {
	switch v := p.(type) {
	case string:
		r.b = append(r.b, v...)
	case Message:
		r.message(v)
	case Time:
		r.writeTime(v)
	case time.Time:
		r.writeTime(Time{T: v})
	case time.Duration:
		r.message(Duration(v))
	case []Message:
		r.list(len(v), func(i int) { r.message(v[i]) })
	case []string:
		r.list(len(v), func(i int) { r.b = append(r.b, v[i]...) })
	case int:
		r.b = strconv.AppendInt(r.b, int64(v), 10)
	case int64:
		r.b = strconv.AppendInt(r.b, v, 10)
	case uint64:
		r.b = strconv.AppendUint(r.b, v, 10)
	case float64:
		r.b = strconv.AppendFloat(r.b, v, 'f', -1, 64)
	case nil:
	default:
		rv := reflect.ValueOf(p)
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			r.b = strconv.AppendInt(r.b, rv.Int(), 10)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			r.b = strconv.AppendUint(r.b, rv.Uint(), 10)
		default:
			r.b = fmt.Append(r.b, p)
		}
	}
}

// writeTime writes a time the platform's way, or plainly in UTC.
func (r *renderer) writeTime(t Time) {
	if r.time != nil {
		r.b = append(r.b, r.time(t)...)
		return
	}
	switch {
	case t.Style == TimeDate:
		r.b = t.T.UTC().AppendFormat(r.b, "2006-01-02")
	case t.Style == TimeRelative && r.now != nil:
		r.message(Relative(t.T, r.now()))
	default:
		r.b = t.T.UTC().AppendFormat(r.b, "2006-01-02 15:04 UTC")
	}
}
