package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/discord/discordtest"
	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

// slackStandIn records what wikimod posts to Slack's Web API and to
// response URLs.
type slackStandIn struct {
	*httptest.Server
	mu    sync.Mutex
	posts []url.Values // chat.postMessage calls
	hooks map[string][]byte
}

func newSlackStandIn(t *testing.T) *slackStandIn {
	s := &slackStandIn{hooks: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/chat.postMessage"):
			form, _ := url.ParseQuery(string(b))
			s.posts = append(s.posts, form)
		case strings.HasPrefix(r.URL.Path, "/response/"):
			s.hooks[r.URL.Path] = b
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"channel":"C-NOTICE","ts":"1.0"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// reminders returns the notices with buttons posted to a channel.
func (s *slackStandIn) reminders(channel string) []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []url.Values
	for _, p := range s.posts {
		if p.Get("channel") == channel && strings.Contains(p.Get("blocks"), "wikimod-run-") {
			out = append(out, p)
		}
	}
	return out
}

func (s *slackStandIn) waitHook(t *testing.T, path string) string {
	t.Helper()
	var b []byte
	testwait.For(t, "a post to "+path, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		var ok bool
		b, ok = s.hooks[path]
		return ok
	})
	return string(b)
}

// TestReminderThroughSlackAndDiscord runs wikimod as `run` does, with Slack
// and Discord both on and their APIs stood in for: a protection set with
// /protect on Slack is reminded of in both moderators' channels at the
// lead time of the injected clock, once, with buttons; pressing Extend on
// Slack extends it on the wiki by the same length again.
func TestReminderThroughSlackAndDiscord(t *testing.T) {
	clk := testenv.NewClock(time.Now().UTC())
	clock, setClock := clk.Now, clk.Set

	slackAPI := newSlackStandIn(t)
	discordAPI := discordtest.NewServer(t)
	signer := discordtest.NewSigner()
	const secret = "e2e-signing-secret"
	path := writeConfig(t, fmt.Sprintf(`slack_users = ["U-OPS"]
discord_users = ["D-OPS"]

[slack]
mode = "http"
signing_secret = %q
bot_token = "xoxb-e2e"
notice_channel = "C-NOTICE"
api_url = %q

[discord]
mode = "http"
application_id = "APP1"
public_key = %q
bot_token = "discord-e2e-token"
guild_ids = ["G1"]
notice_channel = "D-NOTICE"
api_url = %q

[reminders]
lead_times = ["1h"]
`, secret, slackAPI.URL+"/api", signer.PublicKeyHex(), discordAPI.URL))
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	app, base, _ := startApp(t, cfg, AppOptions{Now: clock})
	ctx := context.Background()

	signedPost := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		ts := clock().Unix()
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", wikislack.Sign(secret, ts, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: HTTP %d", path, resp.StatusCode)
		}
	}

	const title = "E2E Reminder Page"
	signedPost("/slack/commands", url.Values{"user_id": {"U-OPS"}, "user_name": {"ops"}, "channel_id": {"C-MODS"},
		"command": {"/protect"}, "text": {`"` + title + `" create=sysop expiry="3 hours" reason="e2e vandal"`},
		"response_url": {slackAPI.URL + "/response/1"}, "trigger_id": {"t1"}}.Encode())
	if reply := slackAPI.waitHook(t, "/response/1"); !strings.Contains(reply, "Protection of "+title+" changed.") {
		t.Fatalf("protect reply = %s", reply)
	}
	wikiExpiry := func() time.Time {
		c, _ := mw.New(mw.Config{APIURL: wiki.APIURL})
		ps, err := c.PageProtections(context.Background(), title)
		if err != nil || len(ps) != 1 {
			t.Fatalf("protections of %s: %+v, %v", title, ps, err)
		}
		exp, err := time.Parse(time.RFC3339, ps[0].Expiry)
		if err != nil {
			t.Fatalf("expiry %q: %v", ps[0].Expiry, err)
		}
		return exp
	}
	expiry := wikiExpiry()
	discordReminders := func() int {
		n := 0
		for _, r := range discordAPI.Requests() {
			if r.Method == http.MethodPost && r.Path == "/api/v9/channels/D-NOTICE/messages" && strings.Contains(string(r.Body), "wm|reminder|") {
				n++
			}
		}
		return n
	}

	// Just before the lead time: nothing is due.
	setClock(expiry.Add(-time.Hour - time.Minute))
	if err := app.rem.scheduler.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n, d := len(slackAPI.reminders("C-NOTICE")), discordReminders(); n != 0 || d != 0 {
		t.Fatalf("reminders before the lead time: slack %d, discord %d", n, d)
	}

	// At the lead time: one reminder in each channel.
	setClock(expiry.Add(-time.Hour + 30*time.Second))
	if err := app.rem.scheduler.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	msg := discordAPI.Wait(t, "the Discord reminder", func(r discordtest.Request) bool {
		return r.Path == "/api/v9/channels/D-NOTICE/messages" && strings.Contains(string(r.Body), "wm|reminder|")
	})
	if body := string(msg.Body); !strings.Contains(body, title) || !strings.Contains(body, "e2e vandal") || !strings.Contains(body, "sysop") {
		t.Errorf("Discord reminder lacks the page, reason or level: %s", body)
	}
	slackReminders := slackAPI.reminders("C-NOTICE")
	if len(slackReminders) != 1 {
		t.Fatalf("%d Slack reminders, want 1", len(slackReminders))
	}
	if text := slackReminders[0].Get("text"); !strings.Contains(text, title) || !strings.Contains(text, "expires") {
		t.Errorf("Slack reminder text = %q", text)
	}

	// Another tick repeats nothing.
	setClock(expiry.Add(-time.Hour + 90*time.Second))
	if err := app.rem.scheduler.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n, d := len(slackAPI.reminders("C-NOTICE")), discordReminders(); n != 1 || d != 1 {
		t.Errorf("after a second tick: slack %d, discord %d reminders, want 1 and 1", n, d)
	}

	// Press Extend on Slack.
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			ActionID string          `json:"action_id"`
			Value    string          `json:"value"`
			Text     json.RawMessage `json:"text"` // an object on buttons, a string elsewhere
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(slackReminders[0].Get("blocks")), &blocks); err != nil {
		t.Fatal(err)
	}
	var action map[string]any
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			var label struct{ Text string }
			json.Unmarshal(e.Text, &label)
			if strings.HasPrefix(label.Text, "Extend") {
				action = map[string]any{"action_id": e.ActionID, "value": e.Value, "type": "button", "block_id": "b"}
			}
		}
	}
	if action == nil {
		t.Fatalf("no Extend button in %s", slackReminders[0].Get("blocks"))
	}
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U-OPS", "name": "ops"},
		"channel": map[string]any{"id": "C-NOTICE"}, "response_url": slackAPI.URL + "/response/2",
		"trigger_id": "t2", "actions": []any{action},
	})
	signedPost("/slack/interactions", url.Values{"payload": {string(payload)}}.Encode())
	if reply := slackAPI.waitHook(t, "/response/2"); !strings.Contains(reply, "xtended") {
		t.Errorf("extend reply = %s", reply)
	}
	if got, want := wikiExpiry(), expiry.Add(3*time.Hour); got.Sub(want).Abs() > 2*time.Minute {
		t.Errorf("expiry after Extend = %s, want about %s", got, want)
	}
	recs, err := app.db.Audit(ctx, storage.AuditFilter{Command: "reminder", Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].UserID != "U-OPS" || recs[0].Outcome != "ok" {
		t.Errorf("the press is not audited as U-OPS's: %+v, %v", recs, err)
	}
}
