package i18n

import (
	"fmt"
	"strings"
)

// A message is parsed once, when its catalogue is loaded, into a tree of
// nodes; rendering walks the tree and substitutes parameters into it. So a
// parameter (a page title, a reason someone typed) is never parsed: a "|"
// or "{{" in it cannot change the message, unlike MediaWiki, which
// substitutes before it parses.

type nodeKind uint8

const (
	nodeText     nodeKind = iota // text
	nodeParam                    // $n
	nodePlural                   // {{PLURAL:arg|forms…}}
	nodeGender                   // {{GENDER:arg|forms…}}
	nodeVerbatim                 // {{…}} or [[…]] that is not ours: written as it stands
)

type node struct {
	kind  nodeKind
	text  string // nodeText: the text; nodeVerbatim: the opening "{{" or "[["
	param int    // nodeParam: the parameter's number, from 1
	arg   []node // nodePlural, nodeGender: what comes after the colon
	forms []form // nodePlural, nodeGender: the forms; nodeVerbatim: the parts between "|"
}

// form is one form of a {{PLURAL}} or {{GENDER}}, or one part of a verbatim
// {{…}}.
type form struct {
	explicit string // the N of an explicit "N=form" of PLURAL, else ""
	nodes    []node
}

func (n *node) close() string {
	if n.text == "[[" {
		return "]]"
	}
	return "}}"
}

type parser struct {
	s    string
	pos  int
	errs []string
}

// parse parses a message. It always returns a tree that renders
// something sensible; errs lists what a translator should fix (unclosed
// braces, a PLURAL without forms, syntax the bot does not support).
func parse(s string) (nodes []node, errs []string) {
	p := &parser{s: s}
	nodes, _ = p.seq("")
	return nodes, p.errs
}

// seq parses up to the end of the text or, inside a {{…}} or [[…]] (stop
// is its closing delimiter), up to a "|" or the closing delimiter, which it
// reports as ended ("" at the end of the text).
func (p *parser) seq(stop string) (nodes []node, ended string) {
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			nodes = append(nodes, node{kind: nodeText, text: text.String()})
			text.Reset()
		}
	}
	for p.pos < len(p.s) {
		rest := p.s[p.pos:]
		switch {
		case stop != "" && rest[0] == '|':
			flush()
			return nodes, "|"
		case stop != "" && strings.HasPrefix(rest, stop):
			flush()
			return nodes, stop
		case rest[0] == '$' && len(rest) > 1 && isDigit(rest[1]):
			end := 1
			for end < len(rest) && isDigit(rest[end]) {
				end++
			}
			n := 0
			for _, c := range rest[1:end] {
				n = n*10 + int(c-'0')
				if n > 1000 {
					break
				}
			}
			if n == 0 || n > 1000 {
				// $0 and absurd numbers are no parameters; MediaWiki
				// leaves them as written.
				text.WriteString(rest[:end])
			} else {
				flush()
				nodes = append(nodes, node{kind: nodeParam, param: n})
			}
			p.pos += end
		case strings.HasPrefix(rest, "{{"):
			start, nerrs := p.pos, len(p.errs)
			if n, ok := p.template(); ok {
				flush()
				nodes = append(nodes, n)
			} else {
				p.pos, p.errs = start+2, append(p.errs[:nerrs], fmt.Sprintf("the {{ at byte %d is never closed", start))
				text.WriteString("{{")
			}
		case strings.HasPrefix(rest, "[["):
			start, nerrs := p.pos, len(p.errs)
			if n, ok := p.verbatim("[["); ok {
				flush()
				nodes = append(nodes, n)
			} else {
				// An unclosed [[ is just text, as it is to MediaWiki.
				p.pos, p.errs = start+2, p.errs[:nerrs]
				text.WriteString("[[")
			}
		default:
			// Copy up to the next character that may start something.
			end := 1
			for end < len(rest) && !strings.ContainsRune("$|{}[]", rune(rest[end])) {
				end++
			}
			text.WriteString(rest[:end])
			p.pos += end
		}
	}
	flush()
	return nodes, ""
}

// template parses the {{…}} at p.pos; ok is false if it is never closed.
func (p *parser) template() (n node, ok bool) {
	rest := p.s[p.pos+2:]
	nameEnd := strings.IndexAny(rest, ":|{}[]$")
	if nameEnd < 0 {
		nameEnd = len(rest)
	}
	name := strings.ToUpper(strings.TrimSpace(rest[:nameEnd]))
	isColon := nameEnd < len(rest) && rest[nameEnd] == ':'
	var k nodeKind
	switch name {
	case "PLURAL":
		k = nodePlural
	case "GENDER":
		k = nodeGender
	default:
		n, ok = p.verbatim("{{")
		if ok {
			if isColon || name != "" {
				p.errs = append(p.errs, fmt.Sprintf("{{%s}} is not supported (only PLURAL and GENDER are)", strings.TrimSpace(rest[:nameEnd])))
			}
		}
		return n, ok
	}
	if !isColon {
		n, ok = p.verbatim("{{")
		if ok {
			p.errs = append(p.errs, fmt.Sprintf("{{%s}} needs a colon and a parameter: {{%s:$1|…}}", name, name))
		}
		return n, ok
	}
	p.pos += 2 + nameEnd + 1
	n = node{kind: k}
	var ended string
	n.arg, ended = p.seq("}}")
	for ended == "|" {
		p.pos++
		var f form
		f.nodes, ended = p.seq("}}")
		if k == nodePlural && len(f.nodes) > 0 && f.nodes[0].kind == nodeText {
			// An explicit form: "0=no pages".
			t := f.nodes[0].text
			i := 0
			for i < len(t) && isDigit(t[i]) {
				i++
			}
			if i > 0 && i < len(t) && t[i] == '=' {
				f.explicit = t[:i]
				f.nodes = append([]node{{kind: nodeText, text: t[i+1:]}}, f.nodes[1:]...)
			}
		}
		n.forms = append(n.forms, f)
	}
	if ended == "" {
		return node{}, false
	}
	p.pos += 2
	if isBlank(n.arg) {
		p.errs = append(p.errs, fmt.Sprintf("{{%s:}} names no parameter", name))
	}
	if len(n.forms) == 0 {
		p.errs = append(p.errs, fmt.Sprintf("{{%s}} has no forms", name))
	}
	return n, true
}

// verbatim parses the {{…}} or [[…]] at p.pos as text to keep, its parts
// parsed so that parameters in it are substituted and its "|" are not
// taken for those of an enclosing PLURAL.
func (p *parser) verbatim(open string) (n node, ok bool) {
	closing := "}}"
	if open == "[[" {
		closing = "]]"
	}
	p.pos += 2
	n = node{kind: nodeVerbatim, text: open}
	for {
		var f form
		var ended string
		f.nodes, ended = p.seq(closing)
		n.forms = append(n.forms, f)
		switch ended {
		case "":
			return node{}, false
		case closing:
			p.pos += 2
			return n, true
		}
		p.pos++ // the "|"
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isBlank(nodes []node) bool {
	for _, n := range nodes {
		if n.kind != nodeText || strings.TrimSpace(n.text) != "" {
			return false
		}
	}
	return true
}

// params adds the parameter numbers nodes use to set.
func params(nodes []node, set map[int]bool) {
	for i := range nodes {
		n := &nodes[i]
		if n.kind == nodeParam {
			set[n.param] = true
		}
		params(n.arg, set)
		for _, f := range n.forms {
			params(f.nodes, set)
		}
	}
}
