package mw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The client keeps its session's cookies itself rather than in a cookie jar,
// one set per login generation. When the wiki ends a session (it expired, or
// an operator invalidated it), every answer to a request sent under it
// deletes the session's cookies, and such answers keep arriving after the
// client has logged in again: a shared jar would apply them over the new
// session's cookies and lose it too. So each request carries a snapshot of
// the current generation's cookies, and an answer's cookies are kept only if
// its request's generation is still current. A login gathers its cookies
// apart and installs them, with a new generation, once it has succeeded.

// cookieStore holds one session's cookies by name. The client talks to one
// api.php, so a cookie's name is enough to tell it from the others.
type cookieStore map[string]storedCookie

type storedCookie struct {
	value string
	// pair is the cookie as a Cookie header carries it ("name=value"),
	// written once when the value arrives rather than on every request.
	pair    string
	expires time.Time // zero for a cookie that lasts as long as the session
}

func (sc storedCookie) live(now time.Time) bool {
	return sc.expires.IsZero() || sc.expires.After(now)
}

// header returns the store's live cookies as the value of a Cookie header,
// as Request.AddCookie would write them one by one; "" when there are none.
func (s cookieStore) header(now time.Time) string {
	n := 0
	for _, sc := range s {
		if sc.live(now) {
			n += len(sc.pair) + len("; ")
		}
	}
	if n == 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(n)
	for _, sc := range s {
		if sc.live(now) {
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(sc.pair)
		}
	}
	return b.String()
}

// apply takes in the cookies an answer set or deleted.
func (s cookieStore) apply(cookies []*http.Cookie, now time.Time) {
	for _, ck := range cookies {
		var exp time.Time
		switch {
		case ck.MaxAge < 0:
			delete(s, ck.Name)
			continue
		case ck.MaxAge > 0:
			exp = now.Add(time.Duration(ck.MaxAge) * time.Second)
		case !ck.Expires.IsZero():
			exp = ck.Expires
		}
		if !exp.IsZero() && !exp.After(now) {
			delete(s, ck.Name)
			continue
		}
		sc, ok := s[ck.Name]
		if !ok || sc.value != ck.Value {
			sc = storedCookie{value: ck.Value, pair: (&http.Cookie{Name: ck.Name, Value: ck.Value}).String()}
		}
		sc.expires = exp
		s[ck.Name] = sc
	}
}

// attachCookies puts on hreq the cookies of the session req belongs to, and
// returns that session's generation. A request pinned to a generation that
// is no longer current gets errStaleSession and must not be sent.
func (c *Client) attachCookies(hreq *http.Request, req *request) (uint64, error) {
	switch {
	case req.noSession:
		return 0, nil
	case req.jar != nil:
		setCookieHeader(hreq, req.jar.header(c.now()))
		return 0, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.gen != 0 && req.gen != c.gen {
		return 0, errStaleSession
	}
	setCookieHeader(hreq, c.cookies.header(c.now()))
	return c.gen, nil
}

func setCookieHeader(hreq *http.Request, cookie string) {
	if cookie != "" {
		hreq.Header["Cookie"] = []string{cookie}
	}
}

// keepCookies takes in the cookies of an answer, if its request's session is
// still the current one.
func (c *Client) keepCookies(req *request, params url.Values, gen uint64, resp *http.Response) {
	cookies := resp.Cookies()
	switch {
	case req.noSession || len(cookies) == 0:
		return
	case req.jar != nil:
		req.jar.apply(cookies, c.now())
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		c.cookies.apply(cookies, c.now())
	} else {
		c.log.Debug("ignoring cookies from an answer to a replaced session", "action", params.Get("action"))
	}
}

// LoggedIn reports whether the client holds a session it believes is valid.
func (c *Client) LoggedIn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loggedIn
}

// Login logs in now if the client is not logged in already. Calling it is
// optional: every request logs in first when needed.
func (c *Client) Login(ctx context.Context) error {
	_, err := c.session(ctx)
	return err
}

// session makes sure the client is logged in and returns the session's
// generation. One login runs at a time: callers that find the session lost
// while another logs in wait for that login and use its session, or its
// failure, rather than logging in once more each.
func (c *Client) session(ctx context.Context) (uint64, error) {
	if c.Anonymous() {
		return 0, nil
	}
	c.mu.Lock()
	if c.loggedIn {
		defer c.mu.Unlock()
		return c.gen, nil
	}
	seen := c.attempts
	c.mu.Unlock()

	select {
	case c.loginSem <- struct{}{}:
	case <-ctx.Done():
		return 0, &UnavailableError{Err: ctx.Err()}
	}
	defer func() { <-c.loginSem }()

	c.mu.Lock()
	if c.loggedIn {
		defer c.mu.Unlock()
		return c.gen, nil
	}
	if c.attempts != seen && c.loginErr != nil {
		// A login ran and failed while this caller waited for it.
		defer c.mu.Unlock()
		return 0, c.loginErr
	}
	c.attempts++
	c.mu.Unlock()

	err := c.login(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loginErr = nil
	if err != nil {
		// The waiting callers share the failure, unless it came from this
		// caller's own deadline, which says nothing of theirs.
		if ctx.Err() == nil {
			c.loginErr = err
		}
		return 0, err
	}
	return c.gen, nil
}

// login logs in with a fresh set of cookies and, when it succeeds, makes it
// the current session. The caller holds loginSem.
func (c *Client) login(ctx context.Context) error {
	jar := cookieStore{}
	var tok struct {
		Query struct {
			Tokens struct {
				LoginToken string `json:"logintoken"`
			} `json:"tokens"`
		} `json:"query"`
	}
	if _, err := c.call(ctx, &request{
		method: http.MethodGet,
		out:    &tok,
		jar:    jar,
		noLang: true,
	}, url.Values{"action": {"query"}, "meta": {"tokens"}, "type": {"login"}}); err != nil {
		return fmt.Errorf("login token: %w", err)
	}
	var res struct {
		Login struct {
			Result string `json:"result"`
			Reason struct {
				Code string `json:"code"`
				Text string `json:"text"`
			} `json:"reason"`
			UserName string `json:"lgusername"`
		} `json:"login"`
	}
	warnings, err := c.call(ctx, &request{method: http.MethodPost, out: &res, jar: jar, noLang: true}, url.Values{
		"action":     {"login"},
		"lgname":     {c.cfg.User},
		"lgpassword": {c.cfg.Password},
		"lgtoken":    {tok.Query.Tokens.LoginToken},
	})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if res.Login.Result != "Success" {
		return &LoginError{Result: res.Login.Result, Reason: res.Login.Reason.Text}
	}
	// MediaWiki 1.39 and 1.43 still accept an account's main password here,
	// with a deprecation warning. Such a session carries every right of the
	// account instead of the grants the operator chose: refuse it.
	for _, w := range warnings {
		if mainAccountLogin(w) {
			c.call(ctx, &request{method: http.MethodPost, jar: jar, noLang: true}, url.Values{"action": {"logout"}}) //nolint:errcheck // best effort
			return &LoginError{Result: "MainAccount"}
		}
	}
	c.mu.Lock()
	c.gen++
	c.cookies = jar
	c.loggedIn = true
	c.userName = res.Login.UserName
	c.tokens = nil
	c.mu.Unlock()
	c.log.Info("logged in to the wiki", "user", res.Login.UserName)
	return nil
}

// mainAccountLogin reports whether w is the wiki's warning that a login used
// an account's main password. The wiki marks it with its feature, whatever
// the language of its text. A warning in the older error format (see
// envelope) carries neither code nor feature, so it is told by its English
// text: a wiki that answers so (one older than MediaWiki 1.29) is caught only
// where it speaks English.
func mainAccountLogin(w Message) bool {
	if w.Feature != "" {
		return w.Code == "deprecation" && w.Feature == "main-account-login"
	}
	return (w.Code == "deprecation" || w.Code == "") && strings.Contains(w.Text, "Main-account login")
}

// sessionLost forgets the session of generation gen, unless another login
// has already replaced it.
func (c *Client) sessionLost(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.loggedIn = false
		c.tokens = nil
	}
}

// dropTokens forgets the tokens of generation gen, unless another login has
// already replaced them.
func (c *Client) dropTokens(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.tokens = nil
	}
}

// Token returns a token of the given type ("csrf", "createaccount"), from the
// cache when it holds one.
func (c *Client) Token(ctx context.Context, typ string) (string, error) {
	_, tok, err := c.token(ctx, typ)
	return tok, err
}

// token makes sure the client is logged in and returns the session's
// generation with a token of type typ for it ("" asks for none).
func (c *Client) token(ctx context.Context, typ string) (uint64, string, error) {
	for {
		gen, err := c.session(ctx)
		if err != nil || typ == "" {
			return gen, "", err
		}
		if tok, ok := c.cachedToken(gen, typ); ok {
			return gen, tok, nil
		}
		select {
		case c.tokenSem <- struct{}{}:
		case <-ctx.Done():
			return 0, "", &UnavailableError{Err: ctx.Err()}
		}
		// Another caller may have fetched them while this one waited.
		if tok, ok := c.cachedToken(gen, typ); ok {
			<-c.tokenSem
			return gen, tok, nil
		}
		tokens, err := c.fetchTokens(ctx, gen, typ)
		<-c.tokenSem
		if errors.Is(err, errStaleSession) {
			continue
		}
		if err != nil {
			return 0, "", fmt.Errorf("tokens: %w", err)
		}
		tok, ok := tokens[typ]
		if !ok {
			return 0, "", fmt.Errorf("tokens: the wiki returned no %s token", typ)
		}
		return gen, tok, nil
	}
}

func (c *Client) cachedToken(gen uint64, typ string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return "", false
	}
	t, ok := c.tokens[typ]
	return t, ok
}

// fetchTokens fetches the tokens for the session of generation gen and
// caches them while that session is current.
func (c *Client) fetchTokens(ctx context.Context, gen uint64, typ string) (map[string]string, error) {
	// Fetch every type the client uses at once: one request warms the cache
	// for all commands.
	types := []string{"csrf", "createaccount"}
	if typ != "csrf" && typ != "createaccount" {
		types = append(types, typ)
	}
	var res struct {
		Query struct {
			Tokens map[string]string `json:"tokens"`
		} `json:"query"`
	}
	if _, err := c.call(ctx, &request{
		method: http.MethodGet,
		out:    &res,
		gen:    gen,
		noLang: true,
	}, url.Values{"action": {"query"}, "meta": {"tokens"}, "type": {strings.Join(types, "|")}}); err != nil {
		return nil, err
	}
	tokens := make(map[string]string, len(types))
	for _, t := range types {
		if v, ok := res.Query.Tokens[t+"token"]; ok {
			tokens[t] = v
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen && (c.loggedIn || c.Anonymous()) {
		c.tokens = tokens
	}
	return tokens, nil
}
