package i18n

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Catalogue holds the bot's messages in every language it ships, parsed
// once. It never changes after Load, so any number of goroutines may
// render from it without locks.
type Catalogue struct {
	langs    map[string]*langMessages // code → its messages; no qqq
	docs     map[string]string        // qqq.json: key → documentation
	codes    []string                 // sorted codes of langs
	keys     []string                 // en's keys, sorted
	problems []string                 // syntax problems found while parsing
}

// langMessages are one language's messages.
type langMessages struct {
	code  string
	rules *pluralRules
	msgs  map[string]*compiled
}

// compiled is one parsed message.
type compiled struct {
	text  string // as written (numeric references decoded)
	nodes []node
	lang  *langMessages
}

// keyPrefix starts every key of the bot's own, so that its keys never
// collide with the wiki's.
const keyPrefix = "wikimod-"

//go:embed *.json
var embedded embed.FS

var defaultCatalogue = func() *Catalogue {
	c, err := Load(embedded)
	if err != nil {
		panic(err) // the package's tests load the same files
	}
	return c
}()

// Default returns the catalogues built into the binary.
func Default() *Catalogue { return defaultCatalogue }

// Load reads every *.json in the top directory of fsys as the catalogue of
// the language its name gives ("tr.json"); "qqq.json" documents the keys
// and is no language. en.json must be there: it is the last fallback of
// every language. Load fails on what would make a file unreadable (bad
// JSON, a value that is not a string, a file name that is no MediaWiki
// language); what a translator should fix in a message is left to Check.
func Load(fsys fs.FS) (*Catalogue, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	c := &Catalogue{langs: map[string]*langMessages{}, docs: map[string]string{}}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		msgs, err := decodeMessages(b)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		code := strings.TrimSuffix(name, ".json")
		if code == "qqq" {
			c.docs = msgs
			continue
		}
		if code == "qqx" || !Known(code) || Normalize(code) != code {
			return nil, fmt.Errorf("i18n: %s: %q is not a MediaWiki language code (see i18n.Known)", name, code)
		}
		lm := &langMessages{code: code, rules: rulesFor(code), msgs: make(map[string]*compiled, len(msgs))}
		for key, text := range msgs {
			text = decodeReferences(text)
			nodes, errs := parse(text)
			for _, e := range errs {
				c.problems = append(c.problems, fmt.Sprintf("%s: %q: %s", name, key, e))
			}
			lm.msgs[key] = &compiled{text: text, nodes: nodes, lang: lm}
		}
		c.langs[code] = lm
		c.codes = append(c.codes, code)
	}
	en, ok := c.langs["en"]
	if !ok {
		return nil, errors.New("i18n: no en.json: English is the fallback of every language")
	}
	for key := range en.msgs {
		c.keys = append(c.keys, key)
	}
	sort.Strings(c.codes)
	sort.Strings(c.keys)
	return c, nil
}

// decodeMessages reads a MediaWiki i18n JSON object: string values, and
// "@metadata" (or any "@" key), which is skipped. A key given twice is an
// error, since one of the two translations would be lost unseen.
func decodeMessages(b []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	msgs := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := t.(string) // object keys are strings
		if strings.HasPrefix(key, "@") {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		var text string
		if err := dec.Decode(&text); err != nil {
			return nil, fmt.Errorf("%q: the message must be a string", key)
		}
		if _, dup := msgs[key]; dup {
			return nil, fmt.Errorf("%q is given twice", key)
		}
		msgs[key] = text
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("text after the JSON object")
	}
	return msgs, nil
}

// decodeReferences decodes numeric character references ("&#32;",
// "&#x200B;"), which translatewiki.net uses to keep spaces it would trim.
// Other entities are left alone: chat is no HTML.
func decodeReferences(s string) string {
	if !strings.Contains(s, "&#") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "&#")
		if i < 0 {
			break
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, ';')
		var r uint64
		var err error
		if end > 0 {
			if rest[0] == 'x' || rest[0] == 'X' {
				r, err = strconv.ParseUint(rest[1:end], 16, 32)
			} else {
				r, err = strconv.ParseUint(rest[:end], 10, 32)
			}
		}
		if end <= 0 || err != nil || r == 0 || r > 0x10FFFF {
			b.WriteString("&#")
			s = rest
			continue
		}
		b.WriteRune(rune(r))
		s = rest[end+1:]
	}
	b.WriteString(s)
	return b.String()
}

// Languages returns the codes of the languages the catalogue ships,
// sorted; qqq is documentation, not a language.
func (c *Catalogue) Languages() []string { return append([]string(nil), c.codes...) }

// Keys returns the keys of en.json, sorted: the messages every language
// must have.
func (c *Catalogue) Keys() []string { return append([]string(nil), c.keys...) }

// Doc returns what qqq.json says about key, for translators.
func (c *Catalogue) Doc(key string) string { return c.docs[key] }

// lookup returns key's message in lang or the nearest language along
// lang's fallback chain that has it.
func (c *Catalogue) lookup(lang, key string) *compiled {
	if lm := c.langs[lang]; lm != nil {
		if m := lm.msgs[key]; m != nil {
			return m
		}
	}
	for _, code := range fallbackChain(lang) {
		if lm := c.langs[code]; lm != nil {
			if m := lm.msgs[key]; m != nil {
				return m
			}
		}
	}
	return nil
}

// Check returns the problems a translator or a developer should fix,
// sorted, one sentence each: a key that a language has and en.json lacks;
// a key of en.json missing from a shipped language; a key qqq.json does not
// document (or documents without en.json having it); a key of en.json not
// starting with "wikimod-"; a message whose $N, {{PLURAL}} or {{GENDER}}
// syntax does not parse; a translation using a $N that the English message
// does not have. None means the catalogue is complete.
func (c *Catalogue) Check() []string {
	problems := append([]string(nil), c.problems...)
	en := c.langs["en"]
	enParams := map[string]map[int]bool{}
	for _, key := range c.keys {
		if !strings.HasPrefix(key, keyPrefix) {
			problems = append(problems, fmt.Sprintf("en.json: %q does not start with %q", key, keyPrefix))
		}
		if strings.TrimSpace(c.docs[key]) == "" {
			problems = append(problems, fmt.Sprintf("qqq.json does not document %q", key))
		}
		set := map[int]bool{}
		params(en.msgs[key].nodes, set)
		enParams[key] = set
	}
	for key := range c.docs {
		if en.msgs[key] == nil {
			problems = append(problems, fmt.Sprintf("qqq.json documents %q, which en.json does not have", key))
		}
	}
	for _, code := range c.codes {
		if code == "en" {
			continue
		}
		lm := c.langs[code]
		for key, m := range lm.msgs {
			want, ok := enParams[key]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s.json has %q, which en.json does not have", code, key))
				continue
			}
			got := map[int]bool{}
			params(m.nodes, got)
			for n := range got {
				if !want[n] {
					problems = append(problems, fmt.Sprintf("%s.json: %q uses $%d, which the English message does not have", code, key, n))
				}
			}
		}
		for _, key := range c.keys {
			if lm.msgs[key] == nil {
				problems = append(problems, fmt.Sprintf("%s.json lacks %q", code, key))
			}
		}
	}
	sort.Strings(problems)
	return problems
}
