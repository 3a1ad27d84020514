package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testwait"
)

// batchSlack stands in for Slack in a batch's test: it keeps what is
// posted to each response URL and the private messages
// (chat.postEphemeral).
type batchSlack struct {
	srv        *httptest.Server
	mu         sync.Mutex
	responses  map[string][]string // response URL path -> bodies
	ephemerals []url.Values
}

func newBatchSlack(t testing.TB) *batchSlack {
	s := &batchSlack{responses: map[string][]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/response/"):
			s.responses[r.URL.Path] = append(s.responses[r.URL.Path], string(b))
		case r.URL.Path == "/api/chat.postEphemeral":
			form, _ := url.ParseQuery(string(b))
			s.ephemerals = append(s.ephemerals, form)
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// posted returns the bodies posted to a response URL's path.
func (s *batchSlack) posted(path string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.responses[path]...)
}

// told returns the private messages sent to requesters.
func (s *batchSlack) told() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.ephemerals...)
}

// confirmButton finds the Confirm button's value in a preview posted to a
// response URL.
func confirmButton(t *testing.T, body string) map[string]any {
	t.Helper()
	var msg struct {
		Blocks []struct {
			Type     string `json:"type"`
			Elements []struct {
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		t.Fatalf("the preview: %v\n%s", err, body)
	}
	for _, b := range msg.Blocks {
		for _, e := range b.Elements {
			if strings.Contains(e.Value, `"do":"confirm"`) {
				return map[string]any{"action_id": e.ActionID, "value": e.Value, "type": "button", "block_id": "b"}
			}
		}
	}
	t.Fatalf("no Confirm button in the preview:\n%s", body)
	return nil
}

// TestKilledBatchEndedAndToldOnce runs the wikimod binary for Slack
// against a slowed wiki, has U-OPS preview and confirm a /protect of 12
// pages, and kills the process with SIGKILL while the batch runs: after
// its first progress message, with a page's protection applied on the
// wiki and its answer held back. The next start ends the batch as
// interrupted and tells U-OPS once, privately, what was done, what was
// not and how to finish; no page is protected again, and a second start
// tells nothing.
func TestKilledBatchEndedAndToldOnce(t *testing.T) {
	slow := newStallingWiki(t, 1500*time.Millisecond)
	s := newBatchSlack(t)
	config := writeConfig(t, fmt.Sprintf(`slack_users = ["U-OPS"]

[slack]
mode = "http"
signing_secret = %q
bot_token = "xoxb-e2e"
api_url = %q
`, e2eSecret, s.srv.URL+"/api"))
	cfg, err := LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	rewriteConfig(t, config, cfg.Wiki.APIURL, slow.srv.URL+"/api.php", "")
	logPath := filepath.Join(filepath.Dir(config), "wikimod.log")
	p := startProcess(t, config)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("wikimod's log:\n%s", readAll(t, logPath))
		}
	})
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(path, contentType, body string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, p.base+path, strings.NewReader(body))
		ts := time.Now().Unix()
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", wikislack.Sign(e2eSecret, ts, []byte(body)))
		status, ack := postAck(client, req)
		if status != http.StatusOK {
			t.Fatalf("%s answered %d: %s", path, status, ack)
		}
		return ack
	}

	prefix := testwait.Unique("Killed batch ")
	var titles []string
	for i := range 12 {
		titles = append(titles, fmt.Sprintf("%s %02d", prefix, i))
	}
	form := url.Values{"user_id": {"U-OPS"}, "user_name": {"ops"}, "channel_id": {"C-SLACK"}, "command": {"/protect"}, "team_id": {"T1"},
		"text": {fmt.Sprintf(`titles=%q create=sysop`, strings.Join(titles, "|"))}, "response_url": {s.srv.URL + "/response/preview"}}
	if ack := post("/slack/commands", "application/x-www-form-urlencoded", form.Encode()); !strings.Contains(ack, "Working on") {
		t.Fatalf("/protect not acknowledged: %s", ack)
	}
	testwait.For(t, "the preview", func() bool { return len(s.posted("/response/preview")) == 1 })
	preview := s.posted("/response/preview")[0]
	if !strings.Contains(preview, "Protect 12 pages?") {
		t.Fatalf("not a preview of 12 pages:\n%s", preview)
	}
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "U-OPS", "name": "ops"}, "team": map[string]any{"id": "T1"},
		"channel": map[string]any{"id": "C-SLACK"}, "response_url": s.srv.URL + "/response/press",
		"trigger_id": "t1", "actions": []any{confirmButton(t, preview)},
	})
	post("/slack/interactions", "application/x-www-form-urlencoded", url.Values{"payload": {string(payload)}}.Encode())
	testwait.For(t, "the first progress message, and a protection applied but not answered", func() bool {
		shown := false
		for _, b := range s.posted("/response/press") {
			shown = shown || strings.Contains(b, "Protecting pages")
		}
		return shown && slow.stalled.Load() > 0
	})
	p.kill()
	sent := slow.protects.Load()
	if got := s.posted("/response/press"); strings.Contains(got[len(got)-1], "Batch done") {
		t.Fatalf("the batch ended before the kill:\n%s", got[len(got)-1])
	}

	passes := len(toldLines(t, logPath))
	p2 := startProcess(t, config)
	testwait.For(t, "the start-up's telling pass", func() bool { return len(toldLines(t, logPath)) == passes+1 })
	p2.stop(t)

	told := s.told()
	if len(told) != 1 {
		t.Fatalf("U-OPS was told %d times, want once: %v", len(told), told)
	}
	msg := told[0]
	text := msg.Get("text") + msg.Get("blocks")
	if msg.Get("user") != "U-OPS" || msg.Get("channel") != "C-SLACK" {
		t.Errorf("told %s in %s", msg.Get("user"), msg.Get("channel"))
	}
	for _, want := range []string{"Batch cut short: ", "titles=", "To finish, run the same `/protect` again"} {
		if !strings.Contains(text, want) {
			t.Errorf("the message lacks %q:\n%s", want, text)
		}
	}
	if got := slow.protects.Load(); got != sent {
		t.Errorf("%d protections sent after the kill", got-sent)
	}

	db := openStorage(t, cfg.Storage.Path)
	recs, err := db.Audit(t.Context(), commands.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	pages, changed := map[string]int{}, 0
	var batchID string
	for _, r := range recs {
		switch {
		case r.Outcome == commands.OutcomeQueued || r.Outcome == commands.OutcomePending:
			t.Errorf("%s %v left %s after the restart", r.Command, r.Args, r.Outcome)
		case r.Command == "batch" && r.Args["do"] == "confirm":
			batchID = r.Args["id"]
			if r.Outcome != commands.OutcomeInterrupted || r.Code != "batch-interrupted" {
				t.Errorf("the confirmation's row: %s/%s", r.Outcome, r.Code)
			}
		case r.Command == "protect" && r.Args["batch"] != "":
			pages[r.Args["title"]]++
			if r.Outcome == commands.OutcomeOK {
				changed++
			}
		}
	}
	for title, n := range pages {
		if n != 1 {
			t.Errorf("%s has %d audit rows", title, n)
		}
	}
	id, _ := strconv.ParseInt(batchID, 10, 64)
	b, err := db.Batch(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Changed int
		NotDone int `json:"not_done"`
		Stopped string
	}
	json.Unmarshal(b.Summary, &sum)
	if b.State != commands.BatchDone || sum.Stopped != "interrupted" || sum.Changed != changed || sum.Changed+sum.NotDone != 12 || sum.NotDone == 0 {
		t.Errorf("the batch after the restart: %s %s; %d pages changed by their rows", b.State, b.Summary, changed)
	}
	if !strings.Contains(text, fmt.Sprintf("Batch cut short: %d changed, 0 already so, 0 refused, %d not done", sum.Changed, sum.NotDone)) {
		t.Errorf("the message does not say what the batch did (%s):\n%s", b.Summary, text)
	}
	db.Close()

	// Once told, told for good.
	p3 := startProcess(t, config)
	testwait.For(t, "the second start-up's telling pass", func() bool { return len(toldLines(t, logPath)) == passes+2 })
	p3.stop(t)
	if line := toldLines(t, logPath)[passes+1]; !strings.Contains(line, "sent=0 ") {
		t.Errorf("the second start logged %s, want nothing sent", line)
	}
	if n := len(s.told()); n != 1 {
		t.Errorf("after the second start, %d messages", n)
	}
	t.Logf("killed after %d protections; the batch summed up as %s", sent, b.Summary)
}
