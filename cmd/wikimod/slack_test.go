package main

import (
	"bytes"
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

	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

// TestRunServesSlack runs `wikimod run` with [slack] mode = "http": the
// shared server answers Slack's slash commands, an unsigned request is
// refused and lands in the security events and the metrics, and a signed
// one runs as the Slack user the [[access]] rule names, with the reply
// posted to the response URL.
func TestRunServesSlack(t *testing.T) {
	var (
		mu      sync.Mutex
		replies []string
	)
	slackStandIn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		replies = append(replies, r.URL.Path+" "+string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer slackStandIn.Close()

	const secret = "cmd-test-signing-secret"
	path := writeConfig(t, fmt.Sprintf(`slack_users = ["U-OPS"]

[slack]
mode = "http"
signing_secret = %q
bot_token = "xoxb-cmd-test"
api_url = %q
`, secret, slackStandIn.URL+"/api"))
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	app, base, stop := startApp(t, cfg, AppOptions{LogOutput: &logs})
	ctx := context.Background()

	form := url.Values{"user_id": {"U-OPS"}, "user_name": {"ops"}, "channel_id": {"C1"}, "command": {"/protect"},
		"text": {`"Slack Run Page" create=sysop expiry="1 day"`}, "response_url": {slackStandIn.URL + "/response/1"}, "trigger_id": {"t1"}}
	body := form.Encode()
	resp, err := http.Post(base+"/slack/commands", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: HTTP %d", resp.StatusCode)
	}
	app.security.Flush(ctx)
	events, err := app.db.SecurityCounts(ctx, time.Time{}, 5)
	if err != nil || len(events) != 1 || events[0].Kind != "missing-signature" || events[0].Platform != "slack" || events[0].Count != 1 {
		t.Errorf("security events = %+v, %v", events, err)
	}
	if v := app.metrics.Value("wikimod_security_events_total", "platform", "slack", "kind", "missing-signature"); v != 1 {
		t.Errorf("security event metric = %v", v)
	}

	req, _ := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", wikislack.Sign(secret, ts, []byte(body)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signed: HTTP %d", resp.StatusCode)
	}
	var reply string
	testwait.For(t, "the reply at /response/1", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range replies {
			if strings.HasPrefix(r, "/response/1 ") {
				reply = r
			}
		}
		return reply != ""
	})
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	json.Unmarshal([]byte(strings.TrimPrefix(reply, "/response/1 ")), &msg)
	if msg.ResponseType != "ephemeral" || !strings.Contains(msg.Text, "Protection of Slack Run Page changed.") {
		t.Errorf("reply = %q", reply)
	}
	var metrics strings.Builder
	app.metrics.WriteTo(&metrics)
	if !strings.Contains(metrics.String(), `wikimod_slack_ack_seconds_count{kind="command"} 1`) {
		t.Errorf("the acknowledgement time is not in the metrics")
	}
	recs, err := app.db.Audit(ctx, storage.AuditFilter{Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].Platform != "slack" || recs[0].UserID != "U-OPS" || recs[0].Outcome != "ok" {
		t.Errorf("audit = %+v, %v", recs, err)
	}

	stop()
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), "xoxb-cmd-test") {
		t.Error("the log contains a Slack secret")
	}
}

// TestSlackConfigErrors: a Slack section that cannot work is refused when
// the config is loaded, with the field named, before anything starts.
func TestSlackConfigErrors(t *testing.T) {
	path := writeConfig(t, "\n[slack]\nmode = \"http\"\nbot_token = \"xoxb-x\"\n")
	t.Setenv("WIKIMOD_SLACK_SIGNING_SECRET", "")
	_, err := LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), "slack.signing_secret is empty") {
		t.Errorf("LoadConfig = %v", err)
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"run", "-config", path}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "slack.signing_secret is empty") {
		t.Errorf("run: exit %d, %q", code, errOut.String())
	}
}
