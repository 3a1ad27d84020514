package mw

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The wiki has its own words, translated into every language it supports,
// for much of what wikimod shows: protection types and levels, expiry
// choices, every error of its API. Messages fetches them; WithLang asks for
// a request's errors, warnings and other texts in a reader's language.

// langKey is the context key of the language set by WithLang.
type langKey struct{}

// WithLang returns a context under which every API request the client sends
// asks the wiki for its texts in lang, a MediaWiki language code such as
// "zh-hans", "tr" or "qqx" (errorlang and uselang): the text of an APIError,
// of warnings, of validatepassword's validity messages and of createaccount's
// message. Error codes do not change with the language. Codes are stored in
// lower case, as MediaWiki spells them; one that is not a language code at
// all (see ValidLang) is ignored, and "" removes the language, so that
// requests go out in the wiki's default.
//
// The wiki does not say when it has no translation for a language it does
// not know: it answers in English.
func WithLang(ctx context.Context, lang string) context.Context {
	lang = strings.ToLower(lang)
	if !ValidLang(lang) {
		lang = ""
	}
	return context.WithValue(ctx, langKey{}, lang)
}

// LangFrom returns the language WithLang set on ctx, or "".
func LangFrom(ctx context.Context) string {
	lang, _ := ctx.Value(langKey{}).(string)
	return lang
}

// ValidLang reports whether lang is written as a MediaWiki language code
// ("en", "zh-hans", "be-tarask", "qqx"): letters, digits and hyphens, not
// starting or ending with a hyphen. It does not say whether the wiki knows
// the language. "" is valid: it means the wiki's default.
func ValidLang(lang string) bool {
	if len(lang) > 35 || strings.HasPrefix(lang, "-") || strings.HasSuffix(lang, "-") {
		return false
	}
	for i := 0; i < len(lang); i++ {
		switch ch := lang[i]; {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9', ch == '-':
		default:
			return false
		}
	}
	return true
}

// messageKey names one message in one language.
type messageKey struct{ lang, key string }

// cachedMessage is what the wiki said of one message, and when.
type cachedMessage struct {
	text    string
	missing bool // the wiki has no such message
	at      time.Time
}

// messageFetch is a request for messages in flight. Callers that want a
// message it fetches wait for it (done) rather than asking the wiki again.
type messageFetch struct {
	done chan struct{}
	// Set before done is closed.
	got map[string]string // the fetched messages the wiki has
	err error
	// retry is set when the fetch ended because its own caller's context
	// did, which says nothing of the waiters': they fetch for themselves.
	retry bool
	// waiters counts the callers that wait for it, for tests; guarded by
	// Client.msgMu.
	waiters int
}

// messagesPerRequest is how many messages one request asks for: the most
// ammessages takes from a client without the apihighlimits right.
const messagesPerRequest = 50

// maxMessagesGET is the longest message list sent in a query string; a
// longer one goes in a POST body, since servers and proxies cap URLs.
const maxMessagesGET = 1500

// Messages returns the wiki's interface messages named by keys
// ("protect-level-sysop", "restriction-edit", "protect-expiry-options") in
// lang, as the wiki has them (an administrator's edit on the wiki included)
// and unexpanded: wikitext with $1 parameters and {{PLURAL:…}} as the wiki
// stores it. A message the wiki does not have is absent from the map.
//
// lang is a MediaWiki language code ("tr", "zh-hans"); "" means the wiki's
// content language. A language the wiki does not know gives its English
// texts. "qqx" gives each key in parentheses, as uselang=qqx shows them on
// the wiki: every key asked for, whether the wiki has the message or not.
//
// Messages are cached per language for Config.MessagesTTL, so a warm call
// sends no request. Callers asking at the same time for a message not yet
// cached share one request for it.
func (c *Client) Messages(ctx context.Context, lang string, keys ...string) (map[string]string, error) {
	lang = strings.ToLower(lang)
	if !ValidLang(lang) {
		return nil, fmt.Errorf("messages: %q is not a MediaWiki language code", lang)
	}
	out := make(map[string]string, len(keys))
	for len(keys) > 0 {
		fetch, mine, waits := c.claimMessages(lang, keys, out)
		keys = nil
		if fetch != nil {
			if err := c.runMessageFetch(ctx, lang, fetch, mine, out); err != nil {
				return nil, err
			}
		}
		for _, w := range waits {
			select {
			case <-w.fetch.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("messages: %w", &UnavailableError{Err: ctx.Err()})
			}
			switch {
			case w.fetch.retry:
				keys = append(keys, w.keys...)
			case w.fetch.err != nil:
				return nil, w.fetch.err
			}
			for _, k := range w.keys {
				if text, ok := w.fetch.got[k]; ok {
					out[k] = text
				}
			}
		}
	}
	return out, nil
}

// wait is a fetch another caller runs, and the keys this caller wants of it.
type wait struct {
	fetch *messageFetch
	keys  []string
}

// claimMessages puts into out the messages of keys cached and fresh, and
// sorts the rest: those another caller is fetching (waits), and those this
// caller must fetch (mine), which it registers as in flight under fetch.
// When fetch is not nil, the caller must run it (runMessageFetch), so that
// its waiters learn the outcome.
func (c *Client) claimMessages(lang string, keys []string, out map[string]string) (fetch *messageFetch, mine []messageKey, waits []wait) {
	c.msgMu.Lock()
	defer c.msgMu.Unlock()
	now := c.now()
	var byFetch map[*messageFetch]int // made when there is a wait: a warm call allocates none
	for _, key := range keys {
		if !validMessageKey(key) {
			continue
		}
		if _, ok := out[key]; ok {
			continue
		}
		mk := messageKey{lang, key}
		if m, ok := c.msgs[mk]; ok && now.Sub(m.at) < c.cfg.MessagesTTL {
			if !m.missing {
				out[key] = m.text
			}
			continue
		}
		if f := c.fetching[mk]; f != nil {
			if f == fetch {
				continue // a key given twice
			}
			i, ok := byFetch[f]
			if !ok {
				if byFetch == nil {
					byFetch = map[*messageFetch]int{}
				}
				i = len(waits)
				byFetch[f] = i
				waits = append(waits, wait{fetch: f})
				f.waiters++
			}
			waits[i].keys = append(waits[i].keys, key)
			continue
		}
		if fetch == nil {
			fetch = &messageFetch{done: make(chan struct{})}
		}
		c.fetching[mk] = fetch
		mine = append(mine, mk)
	}
	return fetch, mine, waits
}

// validMessageKey reports whether key can name a message in ammessages: the
// list's separator cannot, nor "*", which asks for every message there is.
func validMessageKey(key string) bool {
	return key != "" && key != "*" && !strings.ContainsAny(key, "|\x1f")
}

// runMessageFetch fetches the messages of mine, caches them, tells the
// fetch's waiters and puts those the wiki has into out.
func (c *Client) runMessageFetch(ctx context.Context, lang string, fetch *messageFetch, mine []messageKey, out map[string]string) error {
	keys := make([]string, len(mine))
	for i, mk := range mine {
		keys[i] = mk.key
	}
	got, err := c.fetchMessages(ctx, lang, keys)
	c.msgMu.Lock()
	now := c.now()
	for _, mk := range mine {
		delete(c.fetching, mk)
		if err == nil {
			text, ok := got[mk.key]
			c.msgs[mk] = cachedMessage{text: text, missing: !ok, at: now}
		}
	}
	fetch.got, fetch.err, fetch.retry = got, err, err != nil && ctx.Err() != nil
	c.msgMu.Unlock()
	close(fetch.done)
	if err != nil {
		return err
	}
	for k, text := range got {
		out[k] = text
	}
	return nil
}

// fetchMessages asks the wiki for keys in lang, as many requests as the
// API's limit on a list needs.
func (c *Client) fetchMessages(ctx context.Context, lang string, keys []string) (map[string]string, error) {
	// The request's own errors come in the language asked for, whoever
	// waits for them: every waiter asked for the same one.
	ctx = WithLang(ctx, lang)
	if _, err := c.session(ctx); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	got := make(map[string]string, len(keys))
	for start := 0; start < len(keys); start += messagesPerRequest {
		batch := keys[start:min(start+messagesPerRequest, len(keys))]
		list := strings.Join(batch, "|")
		// Messages that exist only on the wiki, in its MediaWiki:
		// namespace (such as the name of a protection level it added),
		// come back too: amincludelocal matters only to a listing of all.
		params := url.Values{"action": {"query"}, "meta": {"allmessages"}, "ammessages": {list}}
		if lang == "" {
			// Without a language the wiki answers in the session's
			// account's preferred one. amlang= takes no "content";
			// uselang= does, and amlang follows it.
			params.Set("uselang", "content")
		} else {
			params.Set("amlang", lang)
		}
		method := http.MethodGet
		if len(list) > maxMessagesGET {
			method = http.MethodPost
		}
		var res struct {
			Query struct {
				AllMessages []struct {
					Name    string `json:"name"`
					Content string `json:"content"`
					Missing bool   `json:"missing"`
				} `json:"allmessages"`
			} `json:"query"`
		}
		if _, err := c.call(ctx, &request{method: method, out: &res}, params); err != nil {
			return nil, fmt.Errorf("messages: %w", err)
		}
		for _, m := range res.Query.AllMessages {
			if !m.Missing {
				got[m.Name] = m.Content
			}
		}
	}
	return got, nil
}
