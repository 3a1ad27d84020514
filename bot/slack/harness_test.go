package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

var wiki *devwiki.Wiki

func TestMain(m *testing.M) { os.Exit(devwiki.Main(m, &wiki)) }

const (
	signingSecret = "test-signing-secret-0123456789ab"
	botToken      = "xoxb-test"
	noticeChannel = "C-NOTICE"
	userChannel   = "C-GENERAL"
)

// standIn is a local stand-in for Slack: the Web API methods the adapter
// calls, as documented (JSON answers with "ok"), and response URLs. It
// records every request.
type standIn struct {
	srv *httptest.Server

	mu         sync.Mutex
	calls      []apiCall
	webhooks   []webhook
	raw        []string // every request body, to look for secrets in
	groups     []slackapi.UserGroup
	groupsErr  string // when set, usergroups.list fails with it
	groupCalls int
	viewsErr   string // when set, views.open fails with it
	// locales are the users' Slack locales, as users.info gives them
	// ("en-US" for anyone not named); localeErr, when set, makes
	// users.info fail with it.
	locales   map[string]string
	localeErr string
}

// apiCall is one Web API call.
type apiCall struct {
	Method string
	Form   url.Values     // form-encoded calls
	JSON   map[string]any // JSON calls (views.open)
	Raw    string
}

// webhook is one post to a response URL.
type webhook struct {
	Path string
	Msg  map[string]any
	Raw  string
}

func newStandIn(t testing.TB) *standIn {
	s := &standIn{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.api)
	mux.HandleFunc("POST /response/{id}", s.response)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *standIn) api(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := apiCall{Method: r.PathValue("method"), Raw: string(body)}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		json.Unmarshal(body, &c.JSON)
	} else {
		c.Form, _ = url.ParseQuery(string(body))
		if t := c.Form.Get("token"); t != "" {
			token = t
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	s.raw = append(s.raw, c.Raw)
	w.Header().Set("Content-Type", "application/json")
	if token != botToken {
		io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	switch c.Method {
	case "views.open":
		if s.viewsErr != "" {
			fmt.Fprintf(w, `{"ok":false,"error":%q}`, s.viewsErr)
			return
		}
		io.WriteString(w, `{"ok":true,"view":{"id":"V-1","type":"modal"}}`)
	case "chat.postMessage":
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":"1700000000.000100"}`, c.Form.Get("channel"))
	case "chat.postEphemeral":
		io.WriteString(w, `{"ok":true,"message_ts":"1700000000.000200"}`)
	case "users.info":
		if s.localeErr != "" {
			fmt.Fprintf(w, `{"ok":false,"error":%q}`, s.localeErr)
			return
		}
		user := c.Form.Get("user")
		locale := s.locales[user]
		if locale == "" {
			locale = "en-US"
		}
		if c.Form.Get("include_locale") != "true" {
			locale = "" // Slack leaves it out unless asked
		}
		b, _ := json.Marshal(map[string]any{"ok": true, "user": map[string]any{"id": user, "name": strings.ToLower(user), "locale": locale}})
		w.Write(b)
	case "usergroups.list":
		s.groupCalls++
		if s.groupsErr != "" {
			fmt.Fprintf(w, `{"ok":false,"error":%q}`, s.groupsErr)
			return
		}
		b, _ := json.Marshal(map[string]any{"ok": true, "usergroups": s.groups})
		w.Write(b)
	default:
		io.WriteString(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

// response takes a post to a response URL. As Slack does, it takes at
// most five posts to one URL and refuses the rest.
func (s *standIn) response(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := webhook{Path: r.URL.Path, Raw: string(body)}
	json.Unmarshal(body, &h.Msg)
	s.mu.Lock()
	uses := 0
	for _, prev := range s.webhooks {
		if prev.Path == h.Path {
			uses++
		}
	}
	if uses >= 5 {
		s.mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "used_url")
		return
	}
	s.webhooks = append(s.webhooks, h)
	s.raw = append(s.raw, h.Raw)
	s.mu.Unlock()
	io.WriteString(w, "ok")
}

// waitWebhook waits for the post to a response URL.
func (s *standIn) waitWebhook(t testing.TB, responseURL string) webhook {
	t.Helper()
	path := strings.TrimPrefix(responseURL, s.srv.URL)
	var got webhook
	testwait.For(t, "a post to "+path, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, h := range s.webhooks {
			if h.Path == path {
				got = h
				return true
			}
		}
		return false
	})
	return got
}

// waitCall waits for the n-th call (counting from 1) of a Web API method.
func (s *standIn) waitCall(t testing.TB, method string, n int) apiCall {
	t.Helper()
	var got apiCall
	testwait.For(t, fmt.Sprintf("call %d of %s", n, method), func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		seen := 0
		for _, c := range s.calls {
			if c.Method == method {
				if seen++; seen == n {
					got = c
					return true
				}
			}
		}
		return false
	})
	return got
}

func (s *standIn) count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

func (s *standIn) webhookCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.webhooks)
}

// everything returns every body the stand-in received.
func (s *standIn) everything() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.raw, "\n")
}

// harness is a Slack adapter in HTTP mode wired to a real core on the test
// wiki, served by a local HTTP server, talking to a stand-in for Slack.
type harness struct {
	env   *testenv.Env
	slack *standIn
	ad    *wikislack.Adapter
	srv   *httptest.Server
	clock *testenv.Clock
	logs  *testenv.LogBuffer
	// replays is the replay guard's database.
	replays *storage.DB

	mu     sync.Mutex
	seq    int
	events []securityEvent // refused requests, oldest first
}

type securityEvent struct{ Kind, Remote, Detail string }

func (h *harness) securityEvents() []securityEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]securityEvent(nil), h.events...)
}

// openDB opens a database in a temporary directory, closed with the test.
func openDB(t testing.TB, now func() time.Time) *storage.DB {
	t.Helper()
	db, err := storage.Open(filepath.Join(t.TempDir(), "wikimod.db"), storage.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newHarness(t testing.TB, envOpts testenv.Options, mod func(*wikislack.Config)) *harness {
	t.Helper()
	h := &harness{
		env:   testenv.New(t, wiki, envOpts),
		clock: testenv.NewClock(time.Unix(1_780_000_000, 0)),
		logs:  &testenv.LogBuffer{},
	}
	h.slack = newStandIn(t)
	// The replay guard keeps the adapter's (test) clock.
	h.replays = openDB(t, h.clock.Now)
	cfg := wikislack.Config{
		Mode:          wikislack.ModeHTTP,
		SigningSecret: signingSecret,
		BotToken:      botToken,
		NoticeChannel: noticeChannel,
		APIURL:        h.slack.srv.URL + "/api",
		Service:       h.env.Service,
		SubmitWait:    30 * time.Second, // the wiki's answer, not Slack's deadline, is under test
		Now:           h.clock.Now,
		Logger:        slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Replays:       h.replays,
		OnSecurityEvent: func(ctx context.Context, kind, remote, detail string) {
			h.env.Metrics.SecurityEvent("slack", kind)
			h.mu.Lock()
			defer h.mu.Unlock()
			h.events = append(h.events, securityEvent{kind, remote, detail})
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	var err error
	h.ad, err = wikislack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.ad.Mount(mux)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	t.Cleanup(func() { h.ad.Close() })
	return h
}

func (h *harness) next() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	return h.seq
}

// slashForm is the form Slack posts for a slash command.
func (h *harness) slashForm(user, command, text string) url.Values {
	n := strconv.Itoa(h.next())
	return url.Values{
		"token":        {"deprecated-verification-token"},
		"team_id":      {"T-TEAM"},
		"team_domain":  {"wikimods"},
		"channel_id":   {userChannel},
		"channel_name": {"general"},
		"user_id":      {user},
		"user_name":    {strings.ToLower(user)},
		"command":      {command},
		"text":         {text},
		"api_app_id":   {"A-APP"},
		"response_url": {h.slack.srv.URL + "/response/" + n},
		"trigger_id":   {"trigger-" + n},
	}
}

// post sends body to path, signed as Slack would sign it at the clock's
// time.
func (h *harness) post(t testing.TB, path string, body string) (int, string) {
	t.Helper()
	ts := h.clock.Now().Unix()
	return h.postRaw(t, path, body, map[string]string{
		"X-Slack-Request-Timestamp": strconv.FormatInt(ts, 10),
		"X-Slack-Signature":         wikislack.Sign(signingSecret, ts, []byte(body)),
	})
}

func (h *harness) postRaw(t testing.TB, path, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// slash runs a slash command through the HTTP handler, checks it was
// acknowledged, and returns the form it sent and the acknowledgement.
func (h *harness) slash(t testing.TB, user, command, text string) (url.Values, string) {
	t.Helper()
	form := h.slashForm(user, command, text)
	code, body := h.post(t, "/slack/commands", form.Encode())
	if code != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d %s", command, text, code, body)
	}
	return form, body
}

// run runs a slash command and waits for its result at the response URL.
func (h *harness) run(t testing.TB, user, command, text string) webhook {
	t.Helper()
	form, _ := h.slash(t, user, command, text)
	return h.slack.waitWebhook(t, form.Get("response_url"))
}

// interact posts an interaction payload, signed.
func (h *harness) interact(t testing.TB, payload any) (int, string) {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return h.post(t, "/slack/interactions", url.Values{"payload": {string(b)}}.Encode())
}

// text returns a webhook's fallback text and its blocks as JSON, for
// looking into.
func (w webhook) text() string { s, _ := w.Msg["text"].(string); return s }

func (w webhook) blocks() string { b, _ := json.Marshal(w.Msg["blocks"]); return string(b) }

// replyButton returns the action id and value of the reply's button
// labelled label.
func replyButton(t testing.TB, res webhook, label string) (actionID, value string) {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			ActionID string   `json:"action_id"`
			Value    string   `json:"value"`
			Text     formText `json:"text"`
		} `json:"elements"`
	}
	json.Unmarshal([]byte(res.blocks()), &blocks)
	for _, b := range blocks {
		for _, e := range b.Elements {
			if b.Type == "actions" && e.Text.Text == label {
				return e.ActionID, e.Value
			}
		}
	}
	t.Fatalf("no button %q under the reply: %s", label, res.blocks())
	return "", ""
}

// press presses a button as user, on a message in the user's channel that
// only they see (ephemeral) or that the channel sees, and returns the
// response URL of the press.
func (h *harness) press(t testing.TB, user, trigger, actionID, value string, ephemeral bool) string {
	t.Helper()
	responseURL := h.slack.srv.URL + "/response/" + trigger
	code, body := h.interact(t, map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "name": strings.ToLower(user)},
		"team":         map[string]any{"id": "T-TEAM"},
		"channel":      map[string]any{"id": userChannel},
		"container":    map[string]any{"type": "message", "channel_id": userChannel, "is_ephemeral": ephemeral},
		"response_url": responseURL,
		"trigger_id":   trigger,
		"actions":      []map[string]any{{"action_id": actionID, "block_id": "b", "type": "button", "value": value, "action_ts": "1"}},
	})
	if code != 200 || body != "" {
		t.Fatalf("press: HTTP %d %q", code, body)
	}
	return responseURL
}
