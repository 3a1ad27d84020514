// Package mw is a client for the MediaWiki Action API. It keeps one session
// (a bot password login, or an anonymous session), caches its tokens and the
// wiki's site information, and recovers by itself when a token or the session
// goes stale, so that with a warm session each write costs one request.
//
// It knows nothing of chat platforms or of wikimod's commands.
package mw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// HTTPClient sends the requests. Its cookie jar is not used: the client
	// keeps its session's cookies itself, so that answers to requests sent
	// under a session that has since been replaced cannot change the new
	// one's cookies. Nil means a client with a 30 second timeout; a nil
	// Transport means a copy of http.DefaultTransport that keeps enough idle
	// connections for MaxConcurrent requests.
	HTTPClient *http.Client
	// MaxConcurrent bounds how many requests the client has in flight to the
	// wiki at once; more wait for a free slot. A wiki serves a bot from a few
	// PHP workers, and a burst of commands beyond them only queues up there,
	// where it cannot be cancelled. Zero means 4.
	MaxConcurrent int
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
	// MessagesTTL is how long the wiki's interface messages (Messages) are
	// cached. They change only when the wiki is upgraded or an
	// administrator edits one on the wiki. Zero means 24 hours.
	MessagesTTL time.Duration
	// Now and Sleep are the clock. Nil means the real one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Observe, if set, is called after every HTTP request to the wiki. It
	// may be called from several goroutines at once.
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
	std     bool // http's transport is net/http's own, which reports connections to httptrace
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	log     *slog.Logger
	observe func(RequestInfo)

	// maxLag and userAgent are Config's, written once as requests carry
	// them. net/http only reads a request's header values, so every
	// request shares userAgent.
	maxLag    string
	userAgent []string

	// slots holds one value per request in flight (Config.MaxConcurrent).
	slots chan struct{}
	// loginSem is held while logging in, so that one lost session causes
	// one login; tokenSem while fetching tokens, so that a burst of commands
	// on a fresh session fetches them once. Channels rather than mutexes, so
	// that waiting respects ctx.
	loginSem chan struct{}
	tokenSem chan struct{}

	// mu guards the fields below. It is never held while waiting for the
	// wiki or for a slot, so that answers can always be taken in.
	mu       sync.Mutex
	loggedIn bool
	userName string            // the account the session is logged in as
	gen      uint64            // the session's generation: counts successful logins
	cookies  cookieStore       // the current generation's cookies
	tokens   map[string]string // token type -> token, for the current generation
	attempts uint64            // counts login attempts, so that waiters learn of one that failed
	loginErr error             // why the last login attempt failed, if it did for good

	siteMu sync.Mutex
	site   *SiteInfo
	siteAt time.Time

	// msgMu guards the interface messages and the fetches of them in
	// flight (see messages.go). It is never held while waiting for the
	// wiki.
	msgMu    sync.Mutex
	msgs     map[messageKey]cachedMessage
	fetching map[messageKey]*messageFetch
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
	if cfg.MaxConcurrent < 0 {
		return nil, fmt.Errorf("mw: MaxConcurrent %d: must not be negative", cfg.MaxConcurrent)
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 4
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
	if cfg.MessagesTTL < 0 {
		return nil, fmt.Errorf("mw: MessagesTTL %v: must not be negative", cfg.MessagesTTL)
	}
	if cfg.MessagesTTL == 0 {
		cfg.MessagesTTL = 24 * time.Hour
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "wikimod-mw/1 (Go MediaWiki client)"
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	hc.Jar = nil // the client keeps the cookies itself (see session.go)
	if hc.Transport == nil {
		hc.Transport = defaultTransport(cfg.MaxConcurrent)
	}
	_, std := hc.Transport.(*http.Transport)
	c := &Client{
		cfg:       cfg,
		api:       u.String(),
		http:      hc,
		std:       std,
		now:       cfg.Now,
		sleep:     cfg.Sleep,
		log:       cfg.Logger,
		observe:   cfg.Observe,
		maxLag:    strconv.Itoa(cfg.MaxLag),
		userAgent: []string{cfg.UserAgent},
		slots:     make(chan struct{}, cfg.MaxConcurrent),
		loginSem:  make(chan struct{}, 1),
		tokenSem:  make(chan struct{}, 1),
		cookies:   cookieStore{},
		msgs:      map[messageKey]cachedMessage{},
		fetching:  map[messageKey]*messageFetch{},
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

// defaultTransport is http.DefaultTransport with room for maxConcurrent idle
// connections to the wiki. Go keeps two by default, so a burst of commands
// would open a new connection (and TLS handshake) for most requests.
func defaultTransport(maxConcurrent int) http.RoundTripper {
	dt, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t := dt.Clone()
	t.MaxIdleConnsPerHost = max(maxConcurrent, t.MaxIdleConnsPerHost, http.DefaultMaxIdleConnsPerHost)
	if t.MaxIdleConns != 0 && t.MaxIdleConns < t.MaxIdleConnsPerHost {
		t.MaxIdleConns = t.MaxIdleConnsPerHost
	}
	return t
}

// Anonymous reports whether the client works without logging in.
func (c *Client) Anonymous() bool { return c.cfg.User == "" }

// Post sends a write request that needs a token of type tokenType, under the
// client's session, decoding the response into out. It asserts the session
// is logged in, and recovers once from a stale token and once from a lost
// session. It returns the wiki's warnings. When the request may have reached
// the wiki but its answer was lost, the error says so (see MaybeApplied).
func (c *Client) Post(ctx context.Context, tokenType string, params url.Values, out any) ([]Message, error) {
	tokenParam := "token"
	if tokenType == "createaccount" {
		tokenParam = "createtoken"
	}
	freshToken, relogged := false, false
	for {
		gen, tok, err := c.token(ctx, tokenType)
		if err != nil {
			return nil, err
		}
		req := &request{method: http.MethodPost, out: out, gen: gen, write: true, assert: !c.Anonymous()}
		if tokenType != "" {
			req.tokenParam, req.token = tokenParam, tok
		}
		warnings, err := c.call(ctx, req, params)
		switch code := ErrorCode(err); {
		case errors.Is(err, errStaleSession):
			// The session was replaced before the request left: it was
			// not sent, and is sent again under the new session.
			continue
		case code == "badtoken" && !freshToken && tokenType != "":
			c.log.Debug("token went stale; fetching a fresh one", "action", params.Get("action"))
			freshToken = true
			c.dropTokens(gen)
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
	return c.call(ctx, &request{method: http.MethodGet, out: out}, params)
}

// Ping asks the wiki for its general site information, for a health check.
// It neither logs in nor sends or keeps the session's cookies, so a probe
// can neither disturb the session nor be answered from it, and it omits
// maxlag: a wiki whose replicas lag is still up. It waits for a free request
// slot like every request, so bound it with ctx. It returns nil when the wiki
// answered as a MediaWiki API.
func (c *Client) Ping(ctx context.Context) error {
	var res struct {
		Query struct {
			General struct {
				Generator string `json:"generator"`
			} `json:"general"`
		} `json:"query"`
	}
	if _, err := c.send(ctx, &request{
		method:    http.MethodGet,
		out:       &res,
		noSession: true,
		noMaxLag:  true,
	}, url.Values{"action": {"query"}, "meta": {"siteinfo"}, "siprop": {"general"}}); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if res.Query.General.Generator == "" {
		return &UnavailableError{Err: errors.New("ping: the answer carries no site information; is the URL a wiki's api.php?")}
	}
	return nil
}

// Message is an error or warning as the wiki reports it. Text is in the
// language of the request's context (WithLang), or the wiki's default; decide
// by Code (and Feature), never by Text.
type Message struct {
	Code   string `json:"code"`
	Text   string `json:"text"`
	Module string `json:"module"`
	// Feature names what a deprecation warning is about (the wiki's
	// data.feature, e.g. "main-account-login"), so that it can be told
	// apart in any language.
	Feature string `json:"feature,omitempty"`
}

// UnmarshalJSON reads a message as the wiki writes it, with Feature from
// its data. A data of an unexpected shape leaves Feature empty rather than
// failing the whole answer.
func (m *Message) UnmarshalJSON(b []byte) error {
	var wire struct {
		Code   string          `json:"code"`
		Text   string          `json:"text"`
		Module string          `json:"module"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		return err
	}
	*m = Message{Code: wire.Code, Text: wire.Text, Module: wire.Module}
	var data struct {
		Feature string `json:"feature"`
	}
	if json.Unmarshal(wire.Data, &data) == nil {
		m.Feature = data.Feature
	}
	return nil
}

// envelope is what every answer may carry beside its result: errors and
// warnings, in the shape errorformat=plaintext gives them (an "errors" list,
// a "warnings" list), or in the older one a wiki answers with when it does
// not know errorformat (before MediaWiki 1.29) or a proxy drops it: one
// "error" object with "info", and "warnings" keyed by module.
type envelope struct {
	Errors   []Message       `json:"errors"`
	Error    *legacyError    `json:"error"`
	Warnings json.RawMessage `json:"warnings"`
}

// legacyError is an error in the older shape.
type legacyError struct {
	Code string `json:"code"`
	Info string `json:"info"`
}

// apiError returns the answer's first error, or nil.
func (env *envelope) apiError() *APIError {
	switch {
	case len(env.Errors) > 0:
		e := env.Errors[0]
		return &APIError{Code: e.Code, Text: e.Text, Module: e.Module}
	case env.Error != nil && env.Error.Code != "":
		return &APIError{Code: env.Error.Code, Text: env.Error.Info}
	}
	return nil
}

// warnings returns the answer's warnings in either shape. The older shape
// has one text per module (several warnings joined by newlines) and no
// codes.
func (env *envelope) warnings() ([]Message, error) {
	raw := bytes.TrimSpace(env.Warnings)
	if len(raw) == 0 {
		return nil, nil // most answers: no allocation
	}
	if raw[0] != '{' {
		// A list, null, or something else: a list is what
		// errorformat=plaintext gives, and anything else fails to decode
		// as one, as it should.
		var list []Message
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		return list, nil
	}
	var byModule map[string]struct {
		Warnings string `json:"warnings"`
		Star     string `json:"*"` // where formatversion=1 puts it
	}
	if err := json.Unmarshal(raw, &byModule); err != nil {
		return nil, err
	}
	modules := make([]string, 0, len(byModule))
	for m := range byModule {
		modules = append(modules, m)
	}
	slices.Sort(modules)
	list := make([]Message, 0, len(modules))
	for _, m := range modules {
		text := byModule[m].Warnings
		if text == "" {
			text = byModule[m].Star
		}
		list = append(list, Message{Text: text, Module: m})
	}
	return list, nil
}

// request is one API call and the session it belongs to. Its parameters
// travel beside it, as an argument of call and send: escape analysis
// follows a struct as a whole, so in a field they would go to the heap with
// the strings send hands to net/http, when most can stay on the caller's
// stack.
type request struct {
	method string
	out    any
	// tokenParam and token, when set, and assert=user when assert is set,
	// are sent as if Set on the parameters, which are left as the caller
	// made them.
	tokenParam, token string
	assert            bool
	// gen pins the request to a session generation: it is sent only while
	// that generation is current, else send returns errStaleSession without
	// sending it. Writes are pinned because their token belongs to one
	// session. Zero sends the request under whatever session is current.
	gen uint64
	// jar, when set, holds the cookies of a login in progress: the request
	// carries them and its answer's cookies go there, not to the current
	// session, which the login will replace.
	jar cookieStore
	// write marks the request whose effect the caller is waiting for, so a
	// lost answer to it is reported as perhaps applied. The requests of a
	// login or a token fetch are not.
	write bool
	// noSession sends no cookies and keeps none (Ping).
	noSession bool
	// noMaxLag leaves maxlag out (Ping).
	noMaxLag bool
	// noLang sends the request in the wiki's default language whatever
	// the context's (WithLang): the requests of a login or a token fetch
	// serve every caller waiting for them, so that the words of what they
	// answer (a login failure, which the client keeps and hands to later
	// callers too) must not depend on which caller happened to start them.
	noLang bool
}

// errStaleSession means a request pinned to a session generation was not
// sent because another session has replaced that one. It never leaves the
// package: Post and token send the request again.
var errStaleSession = errors.New("mw: the session was replaced before the request was sent")

// call sends one API call, retrying while the wiki is lagged.
func (c *Client) call(ctx context.Context, req *request, params url.Values) ([]Message, error) {
	for attempt := 0; ; attempt++ {
		warnings, err := c.send(ctx, req, params)
		apiErr, ok := errors.AsType[*APIError](err)
		if !ok || apiErr.Code != "maxlag" || attempt >= c.cfg.MaxLagRetries {
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

// acquire waits for a free request slot. The request has not been sent when
// it fails.
func (c *Client) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return &UnavailableError{Err: err}
	}
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &UnavailableError{Err: ctx.Err()}
	}
}

func (c *Client) release() { <-c.slots }

// send sends one HTTP request and decodes the response.
func (c *Client) send(ctx context.Context, req *request, params url.Values) (warnings []Message, err error) {
	// Learn whether the request left: until the transport has a connection,
	// nothing of it can have reached the wiki.
	conn := &connTrace{}
	conn.hooks.GetConn = func(string) { conn.traced.Store(true) }
	conn.hooks.GotConn = func(httptrace.GotConnInfo) { conn.traced.Store(true); conn.connected.Store(true) }
	tctx := httptrace.WithClientTrace(ctx, &conn.hooks)

	// Most queries fit the stack buffer: encoding one costs only the
	// string it becomes.
	var scratch [1 << 10]byte
	var hreq *http.Request
	lang := ""
	if !req.noLang && !req.noSession {
		lang = LangFrom(ctx)
	}
	if req.method == http.MethodGet {
		u := append(append(scratch[:0], c.api...), '?')
		hreq, err = http.NewRequestWithContext(tctx, req.method, string(c.appendQuery(u, req, lang, params)), nil)
	} else {
		form := string(c.appendQuery(scratch[:0], req, lang, params))
		hreq, err = http.NewRequestWithContext(tctx, req.method, c.api, strings.NewReader(form))
		if hreq != nil {
			hreq.Header["Content-Type"] = formContentType
		}
	}
	if err != nil {
		return nil, fmt.Errorf("mw: build request: %w", err)
	}
	hreq.Header["User-Agent"] = c.userAgent
	hreq.Header["Accept"] = acceptJSON

	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	// Take the session's cookies only now, after waiting for a slot, so
	// that the request goes out under the newest session.
	sentGen, err := c.attachCookies(hreq, req)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &UnavailableError{Err: err}
	}

	start := c.now()
	defer func() {
		if c.observe != nil {
			c.observe(RequestInfo{Action: params.Get("action"), Duration: c.now().Sub(start), ErrorCode: ErrorCode(err)})
		}
	}()
	// lost builds the error for a request whose answer did not arrive whole.
	mayHaveArrived := req.write && req.method == http.MethodPost
	lost := func(status int, sent bool, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		}
		return &UnavailableError{Status: status, Err: err, MaybeApplied: mayHaveArrived && sent}
	}

	resp, err := c.http.Do(hreq)
	if err != nil {
		err = scrubURLError(err)
		var sent bool
		switch {
		case conn.traced.Load() || c.std:
			// net/http reports every connection it uses: without one,
			// nothing was written.
			sent = conn.connected.Load()
		default:
			// Another transport: only a failed dial is sure to have sent
			// nothing.
			sent = !isDialError(err)
		}
		return nil, lost(0, sent, err)
	}
	defer resp.Body.Close()
	c.keepCookies(req, params, sentGen, resp)
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		// A 5xx comes from the wiki or a proxy in front of it after the
		// request arrived; the wiki may have acted before it failed.
		return nil, &UnavailableError{
			Status:       resp.StatusCode,
			Err:          fmt.Errorf("%s", http.StatusText(resp.StatusCode)),
			MaybeApplied: mayHaveArrived && resp.StatusCode >= 500,
		}
	}
	// Read exactly one JSON value and stop: MediaWiki sends its answer and
	// then runs deferred updates before it ends the response, and waiting
	// for the end of the stream would add that time to every command.
	var body json.RawMessage
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&body); err != nil {
		return nil, lost(resp.StatusCode, true, fmt.Errorf("response is not API JSON: %w", err))
	}
	if !resp.Close {
		// Where the server keeps the connection open, it has ended the
		// response already (MediaWiki closes the connection when it runs
		// deferred updates before ending it): read the rest so that the
		// connection can serve the next request.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, lost(resp.StatusCode, true, fmt.Errorf("response is not API JSON: %w", err))
	}
	warnings, err = env.warnings()
	if err != nil {
		return nil, lost(resp.StatusCode, true, fmt.Errorf("response is not API JSON: %w", err))
	}
	if apiErr := env.apiError(); apiErr != nil {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if n, err := strconv.Atoi(s); err == nil {
				apiErr.RetryAfter = time.Duration(n) * time.Second
			}
		}
		return warnings, apiErr
	}
	if req.out != nil {
		if err := json.Unmarshal(body, req.out); err != nil {
			return warnings, fmt.Errorf("mw: decode %s response: %w", params.Get("action"), err)
		}
	}
	return warnings, nil
}

// connTrace holds what net/http reported of one request's connection.
type connTrace struct {
	traced, connected atomic.Bool
	hooks             httptrace.ClientTrace
}

// Header values every request carries. net/http only reads them.
var (
	acceptJSON      = []string{"application/json"}
	formContentType = []string{"application/x-www-form-urlencoded"}
)

// param is a parameter the client adds to those of a request.
type param struct{ key, value string }

// alwaysSent are the parameters every request carries.
var alwaysSent = [...]param{{"format", "json"}, {"formatversion", "2"}, {"errorformat", "plaintext"}}

// appendQuery appends to b the request's parameters with those the client
// adds, form-encoded. It writes what url.Values.Encode would write for a
// copy of params with the added ones Set on it, without the copy. It is
// written out by hand because the copy and Encode cost a whole /protect
// command nearly 10 % more allocated bytes (docs/benchmarks.md, issue 18),
// which would take the bot past 1.3 times what the I/O alone costs. A
// language (see WithLang) asks for the wiki's errors, warnings and other
// texts in it.
func (c *Client) appendQuery(b []byte, req *request, lang string, params url.Values) []byte {
	var added [len(alwaysSent) + 5]param
	n := copy(added[:], alwaysSent[:])
	if lang != "" {
		added[n] = param{"errorlang", lang}
		added[n+1] = param{"uselang", lang}
		n += 2
	}
	if !req.noMaxLag {
		added[n] = param{"maxlag", c.maxLag}
		n++
	}
	if req.tokenParam != "" {
		added[n] = param{req.tokenParam, req.token}
		n++
	}
	if req.assert {
		added[n] = param{"assert", "user"}
		n++
	}
	return appendForm(b, params, added[:n])
}

// appendForm appends v to b as url.Values.Encode writes it: sorted by key,
// joined by &. Each of added takes the place of v's values for its key.
func appendForm(b []byte, v url.Values, added []param) []byte {
	var keyBuf [32]string
	keys := keyBuf[:0]
	for k := range v {
		if indexParam(added, k) < 0 {
			keys = append(keys, k)
		}
	}
	for _, p := range added {
		keys = append(keys, p.key)
	}
	slices.Sort(keys)
	start := len(b)
	pair := func(k, val string) {
		if len(b) > start {
			b = append(b, '&')
		}
		b = appendQueryEscape(b, k)
		b = append(b, '=')
		b = appendQueryEscape(b, val)
	}
	for _, k := range keys {
		if i := indexParam(added, k); i >= 0 {
			pair(k, added[i].value)
			continue
		}
		for _, val := range v[k] {
			pair(k, val)
		}
	}
	return b
}

func indexParam(ps []param, key string) int {
	for i, p := range ps {
		if p.key == key {
			return i
		}
	}
	return -1
}

// appendQueryEscape appends s to b escaped as url.QueryEscape escapes it.
func appendQueryEscape(b []byte, s string) []byte {
	const upperhex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			ch == '-', ch == '_', ch == '.', ch == '~':
			b = append(b, ch)
		case ch == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', upperhex[ch>>4], upperhex[ch&15])
		}
	}
	return b
}

// maxAnswer caps how much of an answer is read.
const maxAnswer = 32 << 20

// isDialError reports whether err is a failure to connect, which sends
// nothing.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
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
