// Package mw is a client for the MediaWiki Action API. It keeps one session
// (a bot password login, or an anonymous session), caches its tokens and the
// wiki's site information, and recovers by itself when a token or the session
// goes stale, so that with a warm session each write costs one request.
//
// It knows nothing of chat platforms or of wikimod's commands.
package mw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a Client. The zero value of every optional field is safe.
type Config struct {
	// APIURL is the wiki's api.php, e.g. "https://wiki.example.org/w/api.php".
	APIURL string
	// User and Password are a bot password's login name ("User@AppId") and
	// secret from Special:BotPasswords. Leave both empty for an anonymous
	// session.
	User     string
	Password string
	// UserAgent identifies the client to the wiki, as MediaWiki's API
	// etiquette asks: a name/version and a way to reach the operator.
	UserAgent string
	// HTTPClient sends the requests. Its cookie jar is replaced by the
	// client's own. Nil means a client with a 30 second timeout.
	HTTPClient *http.Client
	// MaxLag is sent as maxlag= with every request so that the bot backs off
	// when the wiki's replicas lag. Zero means 5 seconds; a negative value is
	// sent as it is (a wiki with no replicas reports lag -1, so -2 provokes a
	// maxlag error, which tests use).
	MaxLag int
	// MaxLagRetries bounds how often a lagged request is retried. Zero means 3.
	MaxLagRetries int
	// MaxLagWait caps one wait for a lagged wiki. Zero means 30 seconds.
	MaxLagWait time.Duration
	// SiteInfoTTL is how long site information (groups, rights, protection
	// levels) is cached. Zero means 10 minutes.
	SiteInfoTTL time.Duration
	// Now and Sleep are the clock. Nil means the real one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Observe, if set, is called after every HTTP request to the wiki.
	Observe func(RequestInfo)
	// Logger receives debug and warning messages. Nil discards them.
	Logger *slog.Logger
}

// RequestInfo describes one request to the wiki, for metrics.
type RequestInfo struct {
	Action    string        // the API action (query, login, protect, ...)
	Duration  time.Duration // time until the response was read
	ErrorCode string        // API error code, "unavailable", or "" on success
}

// Client talks to one wiki through one session. It is safe for concurrent use.
type Client struct {
	cfg     Config
	api     string
	http    *http.Client
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	log     *slog.Logger
	observe func(RequestInfo)

	mu       sync.Mutex // guards the fields below; held while logging in
	loggedIn bool
	userName string            // the account the session is logged in as
	gen      uint64            // counts logins, so one lost session causes one login
	tokens   map[string]string // token type -> token, for the current session

	siteMu sync.Mutex
	site   *SiteInfo
	siteAt time.Time
}

// New returns a client for the wiki at cfg.APIURL. It does not contact the
// wiki; the first request logs in.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mw: api url %q: must be an absolute http(s) URL to api.php", cfg.APIURL)
	}
	if (cfg.User == "") != (cfg.Password == "") {
		return nil, errors.New("mw: user and password must be given together")
	}
	if cfg.MaxLag == 0 {
		cfg.MaxLag = 5
	}
	if cfg.MaxLagRetries == 0 {
		cfg.MaxLagRetries = 3
	}
	if cfg.MaxLagWait == 0 {
		cfg.MaxLagWait = 30 * time.Second
	}
	if cfg.SiteInfoTTL == 0 {
		cfg.SiteInfoTTL = 10 * time.Minute
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "wikimod-mw/1 (Go MediaWiki client)"
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("mw: cookie jar: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	hc.Jar = jar
	c := &Client{
		cfg:     cfg,
		api:     u.String(),
		http:    hc,
		now:     cfg.Now,
		sleep:   cfg.Sleep,
		log:     cfg.Logger,
		observe: cfg.Observe,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Anonymous reports whether the client works without logging in.
func (c *Client) Anonymous() bool { return c.cfg.User == "" }

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

// session makes sure the client is logged in and returns the login's
// generation.
func (c *Client) session(ctx context.Context) (uint64, error) {
	if c.Anonymous() {
		return 0, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loggedIn {
		return c.gen, nil
	}
	if err := c.loginLocked(ctx); err != nil {
		return 0, err
	}
	return c.gen, nil
}

func (c *Client) loginLocked(ctx context.Context) error {
	var tok struct {
		Query struct {
			Tokens struct {
				LoginToken string `json:"logintoken"`
			} `json:"tokens"`
		} `json:"query"`
	}
	if _, err := c.call(ctx, http.MethodGet, url.Values{
		"action": {"query"}, "meta": {"tokens"}, "type": {"login"},
	}, &tok); err != nil {
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
	warnings, err := c.call(ctx, http.MethodPost, url.Values{
		"action":     {"login"},
		"lgname":     {c.cfg.User},
		"lgpassword": {c.cfg.Password},
		"lgtoken":    {tok.Query.Tokens.LoginToken},
	}, &res)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if res.Login.Result != "Success" {
		return &LoginError{Result: res.Login.Result, Reason: res.Login.Reason.Text}
	}
	// MediaWiki 1.39 still accepts an account's main password here, with a
	// deprecation warning. Such a session carries every right of the account
	// instead of the grants the operator chose: refuse it.
	for _, w := range warnings {
		if w.Code == "deprecation" && strings.Contains(w.Text, "Main-account login") {
			c.call(ctx, http.MethodPost, url.Values{"action": {"logout"}}, nil) //nolint:errcheck // best effort
			return &LoginError{Result: "MainAccount"}
		}
	}
	c.loggedIn = true
	c.userName = res.Login.UserName
	c.gen++
	c.tokens = nil
	c.log.Info("logged in to the wiki", "user", res.Login.UserName)
	return nil
}

// sessionLost forgets the session of generation gen, unless another request
// has already replaced it.
func (c *Client) sessionLost(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.loggedIn = false
		c.tokens = nil
	}
}

// Token returns a token of the given type ("csrf", "createaccount"), from the
// cache when it holds one.
func (c *Client) Token(ctx context.Context, typ string) (string, error) {
	if _, err := c.session(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[typ]; ok {
		return t, nil
	}
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
	if _, err := c.call(ctx, http.MethodGet, url.Values{
		"action": {"query"}, "meta": {"tokens"}, "type": {strings.Join(types, "|")},
	}, &res); err != nil {
		return "", fmt.Errorf("tokens: %w", err)
	}
	c.tokens = make(map[string]string, len(types))
	for _, t := range types {
		if v, ok := res.Query.Tokens[t+"token"]; ok {
			c.tokens[t] = v
		}
	}
	t, ok := c.tokens[typ]
	if !ok {
		return "", fmt.Errorf("tokens: the wiki returned no %s token", typ)
	}
	return t, nil
}

func (c *Client) dropTokens() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens = nil
}

// Post sends a write request that needs a token of type tokenType, under the
// client's session, decoding the response into out. It asserts the session
// is logged in, and recovers once from a stale token and once from a lost
// session. It returns the wiki's warnings.
func (c *Client) Post(ctx context.Context, tokenType string, params url.Values, out any) ([]Message, error) {
	tokenParam := "token"
	if tokenType == "createaccount" {
		tokenParam = "createtoken"
	}
	freshToken, relogged := false, false
	for {
		gen, err := c.session(ctx)
		if err != nil {
			return nil, err
		}
		p := cloneValues(params)
		if tokenType != "" {
			tok, err := c.Token(ctx, tokenType)
			if err != nil {
				return nil, err
			}
			p.Set(tokenParam, tok)
		}
		if !c.Anonymous() {
			p.Set("assert", "user")
		}
		warnings, err := c.call(ctx, http.MethodPost, p, out)
		switch code := ErrorCode(err); {
		case code == "badtoken" && !freshToken && tokenType != "":
			c.log.Debug("token went stale; fetching a fresh one", "action", params.Get("action"))
			freshToken = true
			c.dropTokens()
			continue
		case (code == "assertuserfailed" || code == "assertnameduserfailed") && !relogged && !c.Anonymous():
			c.log.Info("wiki session lost; logging in again", "action", params.Get("action"))
			relogged = true
			c.sessionLost(gen)
			continue
		}
		return warnings, err
	}
}

// Get sends a read request under the client's session.
func (c *Client) Get(ctx context.Context, params url.Values, out any) ([]Message, error) {
	if _, err := c.session(ctx); err != nil {
		return nil, err
	}
	return c.call(ctx, http.MethodGet, params, out)
}

// Message is an error or warning as the wiki reports it.
type Message struct {
	Code   string `json:"code"`
	Text   string `json:"text"`
	Module string `json:"module"`
}

type envelope struct {
	Errors   []Message `json:"errors"`
	Warnings []Message `json:"warnings"`
}

// call sends one API call, retrying while the wiki is lagged.
func (c *Client) call(ctx context.Context, method string, params url.Values, out any) ([]Message, error) {
	for attempt := 0; ; attempt++ {
		warnings, err := c.send(ctx, method, params, out)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Code != "maxlag" || attempt >= c.cfg.MaxLagRetries {
			return warnings, err
		}
		wait := apiErr.RetryAfter
		if wait <= 0 {
			wait = time.Duration(attempt+1) * time.Second
		}
		wait = min(wait, c.cfg.MaxLagWait)
		c.log.Warn("wiki is lagged; waiting", "wait", wait, "attempt", attempt+1)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// send sends one HTTP request and decodes the response.
func (c *Client) send(ctx context.Context, method string, params url.Values, out any) (warnings []Message, err error) {
	p := cloneValues(params)
	p.Set("format", "json")
	p.Set("formatversion", "2")
	p.Set("errorformat", "plaintext")
	p.Set("maxlag", strconv.Itoa(c.cfg.MaxLag))

	var req *http.Request
	if method == http.MethodGet {
		req, err = http.NewRequestWithContext(ctx, method, c.api+"?"+p.Encode(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, c.api, strings.NewReader(p.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("mw: build request: %w", err)
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("Accept", "application/json")

	start := c.now()
	defer func() {
		if c.observe != nil {
			c.observe(RequestInfo{Action: params.Get("action"), Duration: c.now().Sub(start), ErrorCode: ErrorCode(err)})
		}
	}()

	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnavailableError{Err: scrubURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &UnavailableError{Status: resp.StatusCode, Err: fmt.Errorf("%s", http.StatusText(resp.StatusCode))}
	}
	// Read exactly one JSON value and stop: MediaWiki sends its answer and
	// then runs deferred updates before it ends the response, and waiting
	// for the end of the stream would add that time to every command.
	var body json.RawMessage
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&body); err != nil {
		return nil, &UnavailableError{Status: resp.StatusCode, Err: fmt.Errorf("response is not API JSON: %w", err)}
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &UnavailableError{Status: resp.StatusCode, Err: fmt.Errorf("response is not API JSON: %w", err)}
	}
	if len(env.Errors) > 0 {
		e := env.Errors[0]
		apiErr := &APIError{Code: e.Code, Text: e.Text, Module: e.Module}
		if s := resp.Header.Get("Retry-After"); s != "" {
			if n, err := strconv.Atoi(s); err == nil {
				apiErr.RetryAfter = time.Duration(n) * time.Second
			}
		}
		return env.Warnings, apiErr
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return env.Warnings, fmt.Errorf("mw: decode %s response: %w", params.Get("action"), err)
		}
	}
	return env.Warnings, nil
}

// scrubURLError drops the request URL from a transport error: for GET
// requests it holds the query string.
func scrubURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+6)
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
