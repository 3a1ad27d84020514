package mw_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/mw"
)

// answering returns a client whose every request is answered with body.
func answering(t *testing.T, body string) *mw.Client {
	t.Helper()
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(body)),
			Request:    req,
		}, nil
	})
	c, err := mw.New(mw.Config{APIURL: "http://wiki.test/api.php", HTTPClient: &http.Client{Transport: rt}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAnswerEnvelope checks that errors and warnings are found however the
// answer spells their keys (the decoder matches keys without regard to
// case, and after unescaping them), and only at the top of the answer.
func TestAnswerEnvelope(t *testing.T) {
	const e = `[{"code":"nope","text":"No.","module":"main"}]`
	const w = `[{"code":"careful","text":"Careful.","module":"main"}]`
	for _, tc := range []struct {
		name, body   string
		code         string // the APIError's code, if one is expected
		warnings     int
		notJSON      bool   // an UnavailableError that says so
		decodeFailed bool   // the answer is JSON but does not fit the result
		errText      string // part of the error's text
	}{
		{name: "plain answer", body: `{"validatepassword":{"validity":"Good"}}`},
		{name: "errors", body: `{"errors":` + e + `}`, code: "nope"},
		{name: "errors after data", body: `{"batchcomplete":true,"x":{"a":[1,{"b":"}"}]},"errors":` + e + `}`, code: "nope"},
		{name: "capital key", body: `{"Errors":` + e + `}`, code: "nope"},
		{name: "escaped key", body: `{"\u0065rrors":` + e + `}`, code: "nope"},
		{name: "key folded from a long s", body: `{"errorſ":` + e + `}`, code: "nope"},
		{name: "warnings", body: `{"warnings":` + w + `,"validatepassword":{"validity":"Good"}}`, warnings: 1},
		{name: "warnings in upper case", body: `{"WARNINGS":` + w + `}`, warnings: 1},
		{name: "errors in a value", body: `{"validatepassword":{"validity":"Good","errors":` + e + `}}`},
		{name: "errors as a string value", body: `{"x":"errors","y":["errors"]}`},
		{name: "key with a quote", body: `{"a\"errors":1,"validatepassword":{"validity":"Good"}}`},
		{name: "leading space", body: " \n\t{\"errors\":" + e + "}", code: "nope"},
		{name: "errors null", body: `{"errors":null}`},
		{name: "older shape: error", body: `{"error":{"code":"nope","info":"No.","docref":"See api.php."}}`, code: "nope"},
		{name: "older shape: error and warnings", body: `{"warnings":{"main":{"warnings":"Careful."}},"error":{"code":"nope","info":"No."}}`, code: "nope", warnings: 1},
		{name: "older shape: warnings", body: `{"warnings":{"main":{"warnings":"Careful."},"query":{"*":"Also."}},"validatepassword":{"validity":"Good"}}`, warnings: 2},
		{name: "older shape: error without code", body: `{"error":{"info":"No."},"validatepassword":{"validity":"Good"}}`},
		{name: "warnings of the wrong type", body: `{"warnings":"careful"}`, notJSON: true, errText: "cannot unmarshal string"},
		{name: "older warnings of the wrong type", body: `{"warnings":{"main":["careful"]}}`, notJSON: true, errText: "cannot unmarshal array"},
		{name: "null", body: `null`},
		{name: "errors of the wrong type", body: `{"errors":"nope"}`, notJSON: true, errText: "cannot unmarshal"},
		{name: "array", body: `[1,2]`, notJSON: true, errText: "cannot unmarshal array"},
		{name: "string", body: `"errors"`, notJSON: true, errText: "cannot unmarshal string"},
		{name: "number then more", body: `12 {}`, notJSON: true, errText: "cannot unmarshal number"},
		{name: "bad literal", body: `{"a":tru}`, notJSON: true, errText: "invalid character '}' in literal true"},
		{name: "mismatched bracket", body: `{"a":[1}`, notJSON: true, errText: "invalid character '}'"},
		{name: "cut short", body: `{"a":[1,`, notJSON: true, errText: "unexpected EOF"},
		{name: "empty", body: ``, notJSON: true, errText: "EOF"},
		{name: "HTML", body: `<html><body>Database error</body></html>`, notJSON: true, errText: "invalid character '<'"},
		{name: "result of the wrong type", body: `{"validatepassword":{"validity":1}}`, decodeFailed: true, errText: "decode validatepassword response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res struct {
				ValidatePassword struct {
					Validity string `json:"validity"`
				} `json:"validatepassword"`
			}
			warnings, err := answering(t, tc.body).Post(context.Background(), "", url.Values{"action": {"validatepassword"}}, &res)
			var apiErr *mw.APIError
			var un *mw.UnavailableError
			switch {
			case tc.code != "":
				if !errors.As(err, &apiErr) || apiErr.Code != tc.code {
					t.Fatalf("err = %v, want an APIError %s", err, tc.code)
				}
			case tc.notJSON:
				if !errors.As(err, &un) || !strings.Contains(err.Error(), "response is not API JSON") || !un.MaybeApplied {
					t.Fatalf("err = %v, want an UnavailableError for an answer that is not API JSON", err)
				}
			case tc.decodeFailed:
				if err == nil || errors.As(err, &un) || errors.As(err, &apiErr) {
					t.Fatalf("err = %v, want a decoding error", err)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if tc.errText != "" && !strings.Contains(err.Error(), tc.errText) {
				t.Errorf("err = %v, want it to say %q", err, tc.errText)
			}
			if len(warnings) != tc.warnings {
				t.Errorf("warnings = %+v, want %d", warnings, tc.warnings)
			}
		})
	}
}

// chunkedBody hands out data a few bytes at a time and fails the test if
// it is read once the data is out: the wiki may hold the rest back.
type chunkedBody struct {
	t    *testing.T
	data string
	n    int
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.data == "" {
		b.t.Error("the answer was read past its JSON value")
		return 0, io.EOF
	}
	n := copy(p, b.data[:min(len(b.data), b.n)])
	b.data = b.data[n:]
	return n, nil
}

func (b *chunkedBody) Close() error { return nil }

// TestAnswerReadToItsValueOnly reads answers that arrive in small pieces,
// some larger than one read takes in, and checks that the client stops
// reading where the value ends.
func TestAnswerReadToItsValueOnly(t *testing.T) {
	for _, size := range []int{10, 5000, 200 << 10} {
		for _, chunk := range []int{1, 7, 4096, 1 << 20} {
			if size > 10000 && chunk < 4096 {
				continue
			}
			validity := strings.Repeat("x", size)
			body := ` {"validatepassword":{"validity":"` + validity + `","s":"}]\"{"}}`
			rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
				return &http.Response{
					StatusCode: http.StatusOK,
					Body:       &chunkedBody{t: t, data: body, n: chunk},
					Close:      true, // nothing to drain
					Request:    req,
				}, nil
			})
			c, err := mw.New(mw.Config{APIURL: "http://wiki.test/api.php", HTTPClient: &http.Client{Transport: rt}})
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.ValidatePassword(context.Background(), mw.ValidatePasswordParams{Password: "p"})
			if err != nil || v.Validity != validity {
				t.Fatalf("size %d in chunks of %d: validatepassword = %.40v, %v", size, chunk, v, err)
			}
		}
	}
}

// TestRequestEncoding checks the parameters the wiki reads from a request:
// the caller's values, every byte intact, with the client's own (format,
// maxlag, the token, assert=user) in place of any the caller gave of the
// same name, in the query string of a GET and the form body of a POST. The
// caller's values are left as they were.
func TestRequestEncoding(t *testing.T) {
	var all strings.Builder
	for b := range 256 {
		all.WriteByte(byte(b))
	}
	const tokenJSON = `{"query":{"tokens":{"csrftoken":"c0ffee+\\","createaccounttoken":"acc0unt+\\"}}}`
	type sent struct{ method, form string }
	var got []sent
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		form := req.URL.RawQuery
		if req.Method == http.MethodPost {
			b, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			form = string(b)
			if req.URL.RawQuery != "" {
				t.Errorf("POST with a query string %q", req.URL.RawQuery)
			}
			if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("POST with Content-Type %q", ct)
			}
		}
		got = append(got, sent{req.Method, form})
		body := `{}`
		if strings.Contains(form, "meta=tokens") {
			body = tokenJSON
		}
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
	})
	for _, tc := range []struct {
		name      string
		maxLag    int
		tokenType string // "" for a GET
		post      bool
		params    url.Values
	}{
		{name: "read", params: url.Values{"action": {"query"}, "prop": {"info"}, "titles": {"Main Page|Talk:A&B=C"}}},
		{name: "negative maxlag", maxLag: -2, params: url.Values{"action": {"query"}}},
		{name: "every byte", params: url.Values{"action": {"query"}, all.String(): {all.String()}, "ünï cødé": {"ü ö ß 日本 \x1fA|B"}}},
		{name: "several values and none", params: url.Values{"action": {"query"}, "a": {"1", "2", ""}, "b": {}, "c": nil, "": {"empty key"}}},
		{name: "the client's own replace the caller's", params: url.Values{"action": {"query"}, "format": {"xml", "php"}, "maxlag": {"99"}, "errorformat": {"html"}, "formatversion": {"1"}}},
		{name: "write without token", post: true, params: url.Values{"action": {"validatepassword"}, "password": {"p&q=r s+t"}, "token": {"the caller's"}}},
		{name: "write with csrf token", post: true, tokenType: "csrf", params: url.Values{"action": {"protect"}, "title": {"Zebra"}, "protections": {"edit=sysop|move=sysop"}, "expiry": {"1 week"}, "reason": {"Why: ~because~ (by Ann via wikimod)"}, "token": {"the caller's"}, "assert": {"bot"}, "watchlist": {"nochange"}}},
		{name: "write with createaccount token", post: true, tokenType: "createaccount", params: url.Values{"action": {"createaccount"}, "username": {"New User"}, "createtoken": {"x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, user := range []string{"", "Bot@app"} {
				if user != "" && !tc.post {
					continue
				}
				c, err := mw.New(mw.Config{APIURL: "http://wiki.test/w/api.php", MaxLag: tc.maxLag, HTTPClient: &http.Client{Transport: rt}})
				if err != nil {
					t.Fatal(err)
				}
				if user != "" {
					// A logged-in session adds assert=user; log in through
					// a session whose cookies are already there.
					c = loggedInForTest(t, rt, tc.maxLag)
				}
				got = nil
				before := cloneForTest(tc.params)
				if tc.post {
					_, err = c.Post(context.Background(), tc.tokenType, tc.params, nil)
				} else {
					_, err = c.Get(context.Background(), tc.params, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				if !equalValues(tc.params, before) {
					t.Errorf("the caller's values changed: %v, were %v", tc.params, before)
				}
				last := got[len(got)-1]
				want := cloneForTest(tc.params)
				want.Set("format", "json")
				want.Set("formatversion", "2")
				want.Set("errorformat", "plaintext")
				maxLag := tc.maxLag
				if maxLag == 0 {
					maxLag = 5
				}
				want.Set("maxlag", strconv.Itoa(maxLag))
				switch tc.tokenType {
				case "csrf":
					want.Set("token", "c0ffee+\\")
				case "createaccount":
					want.Set("createtoken", "acc0unt+\\")
				}
				if user != "" {
					want.Set("assert", "user")
				}
				wantMethod := http.MethodGet
				if tc.post {
					wantMethod = http.MethodPost
				}
				if last.method != wantMethod {
					t.Errorf("sent a %s, want a %s", last.method, wantMethod)
				}
				// A key given no values is not sent at all.
				for k, vs := range want {
					if len(vs) == 0 {
						delete(want, k)
					}
				}
				read, err := url.ParseQuery(last.form)
				if err != nil {
					t.Fatalf("%s (user %q) sent %q, which does not parse: %v", last.method, user, last.form, err)
				}
				if !equalValues(read, want) {
					t.Errorf("%s (user %q) sent\n%v\nwant\n%v", last.method, user, read, want)
				}
			}
		})
	}
}

// loggedInForTest logs a client in through rt, answering the login itself.
func loggedInForTest(t *testing.T, rt roundTripFunc, maxLag int) *mw.Client {
	t.Helper()
	login := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		var body string
		switch {
		case strings.Contains(req.URL.RawQuery, "type=login"):
			body = `{"query":{"tokens":{"logintoken":"l+\\"}}}`
		case req.Method == http.MethodPost && req.Header.Get("Content-Type") != "":
			b, _ := io.ReadAll(req.Body)
			if strings.Contains(string(b), "action=login") {
				body = `{"login":{"result":"Success","lgusername":"Bot"}}`
				break
			}
			req.Body = io.NopCloser(strings.NewReader(string(b)))
			return rt(req)
		default:
			return rt(req)
		}
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
	})
	c, err := mw.New(mw.Config{APIURL: "http://wiki.test/w/api.php", User: "Bot@app", Password: "secret", MaxLag: maxLag, HTTPClient: &http.Client{Transport: login}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

func cloneForTest(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func equalValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, vs := range a {
		ws, ok := b[k]
		if !ok || len(vs) != len(ws) {
			return false
		}
		for i := range vs {
			if vs[i] != ws[i] {
				return false
			}
		}
	}
	return true
}

// TestCookieHeader checks that a request carries the session's live
// cookies as Request.AddCookie writes them, and only those.
func TestCookieHeader(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var cookies []string
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		cookies = append(cookies, req.Header.Get("Cookie"))
		h := http.Header{}
		if len(cookies) == 1 {
			h["Set-Cookie"] = []string{
				"plain=abc123; Path=/; HttpOnly",
				`spaced="a b,c"; Path=/`,
				"odd=x\"y;z; Path=/",
				"brief=soon; Max-Age=10",
				"gone=x; Max-Age=0",
			}
		}
		return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(strings.NewReader(`{}`)), Request: req}, nil
	})
	c, err := mw.New(mw.Config{APIURL: "http://wiki.test/api.php", HTTPClient: &http.Client{Transport: rt}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	get := func() {
		t.Helper()
		if _, err := c.Get(context.Background(), url.Values{"action": {"query"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := func(names ...string) string {
		var req http.Request
		req.Header = http.Header{}
		probe := &http.Response{Header: http.Header{"Set-Cookie": {
			"plain=abc123", `spaced="a b,c"`, "odd=x\"y;z", "brief=soon",
		}}}
		for _, ck := range probe.Cookies() {
			if slices.Contains(names, ck.Name) {
				req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
		}
		return req.Header.Get("Cookie")
	}
	get()
	get()
	if cookies[0] != "" {
		t.Errorf("first request carried cookies %q", cookies[0])
	}
	if got, w := sortedCookies(cookies[1]), sortedCookies(want("plain", "spaced", "odd", "brief")); got != w {
		t.Errorf("cookies = %q, want %q", got, w)
	}
	now = now.Add(11 * time.Second)
	get()
	if got, w := sortedCookies(cookies[2]), sortedCookies(want("plain", "spaced", "odd")); got != w {
		t.Errorf("after one expired, cookies = %q, want %q", got, w)
	}
}

func sortedCookies(h string) string {
	parts := strings.Split(h, "; ")
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}
