package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/discord/discordtest"
	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/postgres"
)

// slackAPIStandIn stands in for Slack: it takes the posts to response
// URLs and the Web API's calls, keeping both.
type slackAPIStandIn struct {
	srv        *httptest.Server
	mu         sync.Mutex
	responses  map[string]int // response URL path -> posts
	ephemerals []url.Values   // chat.postEphemeral calls
}

func newSlackAPIStandIn(t testing.TB) *slackAPIStandIn {
	s := &slackAPIStandIn{responses: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/response/"):
			s.responses[r.URL.Path]++
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

// protect sends wikimod at base the signed Slack command `/protect "PREFIX
// i" create=sysop` from U-OPS in C-SLACK, with a response URL of the
// stand-in's, and reports whether it was acknowledged ("Working on"), with
// the acknowledgement.
func (s *slackAPIStandIn) protect(client *http.Client, base, prefix string, i int) (bool, string) {
	form := url.Values{"user_id": {"U-OPS"}, "user_name": {"ops"}, "channel_id": {"C-SLACK"}, "command": {"/protect"},
		"text": {fmt.Sprintf(`"%s %d" create=sysop`, prefix, i)}, "response_url": {s.srv.URL + "/response/" + strconv.Itoa(i)}, "team_id": {"T1"}}
	body := form.Encode()
	req, _ := http.NewRequest(http.MethodPost, base+"/slack/commands", strings.NewReader(body))
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", wikislack.Sign(e2eSecret, ts, []byte(body)))
	status, ack := postAck(client, req)
	return status == http.StatusOK && strings.Contains(ack, "Working on"), ack
}

// answered counts the posts to the response URL of command i.
func (s *slackAPIStandIn) answered(i int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.responses["/response/"+strconv.Itoa(i)]
}

// told is what the requesters of settled commands were sent: each message
// by the title of the page it is about, with its platform's details.
type toldMessage struct {
	platform, channel, user, title, text string
	mentions                             []string // Discord's allowed mentions
}

func (s *slackAPIStandIn) told(prefix string) []toldMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []toldMessage
	for _, f := range s.ephemerals {
		out = append(out, toldMessage{platform: "slack", channel: f.Get("channel"), user: f.Get("user"),
			title: titleIn(prefix, f.Get("text")), text: f.Get("text")})
	}
	return out
}

// discordTold returns the messages posted in channels.
func discordTold(t *testing.T, api *discordtest.Server, prefix string) []toldMessage {
	var out []toldMessage
	for _, r := range api.Requests() {
		channel, ok := strings.CutPrefix(r.Path, "/api/v9/channels/")
		if r.Method != http.MethodPost || !ok {
			continue
		}
		var m struct {
			Content string `json:"content"`
			Embeds  []struct {
				Title       string `json:"title"`
				Description string `json:"description"`
			} `json:"embeds"`
			AllowedMentions struct {
				Users []string `json:"users"`
			} `json:"allowed_mentions"`
		}
		r.JSON(t, &m)
		text := m.Content
		for _, e := range m.Embeds {
			text += "\n" + e.Title + "\n" + e.Description
		}
		out = append(out, toldMessage{platform: "discord", channel: strings.TrimSuffix(channel, "/messages"), user: m.Content,
			title: titleIn(prefix, text), text: text, mentions: m.AllowedMentions.Users})
	}
	return out
}

// titleIn finds the page title "PREFIX N" a message is about.
func titleIn(prefix, text string) string {
	return regexp.MustCompile(regexp.QuoteMeta(prefix) + ` \d+`).FindString(text)
}

// stallingWiki is a proxy to the test wiki that holds back the wiki's
// answer to every protection for a while after the wiki has applied it, so
// that a process killed meanwhile leaves a command that took effect
// unanswered.
type stallingWiki struct {
	srv      *httptest.Server
	stalled  atomic.Int64 // protections applied whose answer is held back now
	protects atomic.Int64 // protections sent to the wiki
}

func newStallingWiki(t testing.TB, stall time.Duration) *stallingWiki {
	s := &stallingWiki{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		protect := bytes.Contains(body, []byte("action=protect"))
		if protect {
			s.protects.Add(1)
		}
		// The wiki gets the request whole, even if the client is gone.
		out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, wiki.URL+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if protect {
			s.stalled.Add(1)
			select {
			case <-time.After(stall):
			case <-r.Context().Done():
			}
			s.stalled.Add(-1)
		}
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// postAck posts a request and returns its status and body.
func postAck(client *http.Client, req *http.Request) (int, string) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// toldLines returns the log lines of the passes that tell the requesters
// of settled commands at start-up.
func toldLines(t *testing.T, logPath string) []string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, `msg="told the requesters of settled commands"`) {
			out = append(out, l)
		}
	}
	return out
}

// TestKilledCommandsRequestersToldOnce runs the wikimod binary for Slack
// and Discord against a slowed wiki, gives it 20 /protect commands from
// both at once, and kills it with SIGKILL once a few are answered, most of
// the others still waiting. The next start settles what the kill left
// against the wiki's protect log, and tells each requester of a settled
// command, once, what became of it: on Slack an ephemeral message in the
// channel of the command (chat.postEphemeral), on Discord a message in
// its channel that mentions them alone. A requester answered before the
// kill hears nothing more. A second start tells nobody anything.
func TestKilledCommandsRequestersToldOnce(t *testing.T) {
	slow := newStallingWiki(t, 300*time.Millisecond)
	s := newSlackAPIStandIn(t)
	api := discordtest.NewServer(t)
	signer := discordtest.NewSigner()
	t.Setenv("WIKIMOD_DISCORD_BOT_TOKEN", "")
	config := writeConfig(t, fmt.Sprintf(`slack_users = ["U-OPS"]
discord_users = ["D-OPS"]

[slack]
mode = "http"
signing_secret = %q
bot_token = "xoxb-e2e"
api_url = %q

[discord]
mode = "http"
application_id = "APP7"
public_key = %q
bot_token = "e2e-bot-token"
guild_ids = ["G1"]
api_url = %q
`, e2eSecret, s.srv.URL+"/api", signer.PublicKeyHex(), api.URL))
	cfg, err := LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	rewriteConfig(t, config, cfg.Wiki.APIURL, slow.srv.URL+"/api.php", "")
	logPath := filepath.Join(filepath.Dir(config), "wikimod.log")
	p := startProcess(t, config)
	client := &http.Client{Timeout: 10 * time.Second}
	prefix := testwait.Unique("Told ")

	slash := func(i int) (bool, string) { return s.protect(client, p.base, prefix, i) }
	interaction := func(i int) (bool, string) {
		body := []byte(fmt.Sprintf(`{"id":"%d%d","application_id":"APP7","type":2,"token":"tok-%d","version":1,"guild_id":"G1","channel_id":"C-DISCORD",
			"member":{"user":{"id":"D-OPS","username":"ops"},"roles":[]},
			"data":{"id":"c","name":"protect","type":1,"options":[{"name":"title","type":3,"value":"%s %d"},{"name":"create","type":3,"value":"sysop"}]}}`,
			time.Now().UnixNano(), i, i, prefix, i))
		status, ack := postAck(client, signer.Request(p.base+"/discord/interactions", body, time.Now()))
		return status == http.StatusOK && strings.Contains(ack, `"type":5`), ack
	}
	onDiscord := func(i int) bool { return i%3 == 0 }

	// A first command logs the bot in and warms its caches.
	if ok, ack := slash(1000); !ok {
		t.Fatalf("warm-up not acknowledged: %s", ack)
	}
	testwait.For(t, "the warm-up's reply", func() bool { return s.answered(1000) == 1 })

	const n = 20
	var wg sync.WaitGroup
	acked := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			var ack string
			if onDiscord(i) {
				acked[i], ack = interaction(i)
			} else {
				acked[i], ack = slash(i)
			}
			if !acked[i] {
				t.Errorf("command %d not acknowledged: %s", i, ack)
			}
		})
	}
	wg.Wait()
	answered := map[string]int{} // before the kill, by title
	countAnswers := func() int {
		clear(answered)
		total := 0
		for i := range n {
			title := fmt.Sprintf("%s %d", prefix, i)
			if onDiscord(i) {
				for _, r := range api.Requests() {
					if r.Method == http.MethodPatch && strings.Contains(r.Path, "/tok-"+strconv.Itoa(i)+"/") {
						answered[title]++
					}
				}
			} else {
				answered[title] = s.answered(i)
			}
			total += answered[title]
		}
		return total
	}
	// A few are answered, one is applied on the wiki and waits for its
	// answer, most still wait for their turn.
	testwait.For(t, "the first answers, and a protection applied but not answered", func() bool {
		return countAnswers() >= 3 && slow.stalled.Load() > 0
	})
	p.kill()
	countAnswers()

	// Each start logs its first pass, the killed one's too.
	passes := len(toldLines(t, logPath))
	p2 := startProcess(t, config)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("wikimod's log:\n%s", readAll(t, logPath))
		}
	})
	testwait.For(t, "the start-up's telling pass", func() bool { return len(toldLines(t, logPath)) == passes+1 })
	p2.stop(t)

	told := append(s.told(prefix), discordTold(t, api, prefix)...)
	byTitle := map[string][]toldMessage{}
	for _, m := range told {
		byTitle[m.title] = append(byTitle[m.title], m)
	}
	db := openStorage(t, cfg.Storage.Path)
	recs, err := db.Audit(context.Background(), storage.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	settled, applied, outcomes := 0, 0, map[string]int{}
	for _, r := range recs {
		title := r.Args["_"] + r.Args["title"]
		if !strings.HasPrefix(title, prefix+" ") || title == prefix+" 1000" {
			continue
		}
		outcomes[string(r.Outcome)+"/"+r.Code]++
		msgs := byTitle[title]
		if r.Outcome == "queued" || r.Outcome == "pending" {
			t.Errorf("%q left %s after the restart", title, r.Outcome)
		}
		if r.Outcome != "interrupted" && r.Code != "settled-from-log" {
			// Ended before the kill, and answered then (unless the kill
			// fell between the two): nothing more to tell.
			if len(msgs) != 0 || answered[title] > 1 {
				t.Errorf("%q ended %s/%s before the kill: answered %d times then, told %d times after", title, r.Outcome, r.Code, answered[title], len(msgs))
			}
			continue
		}
		settled++
		if r.Code == "settled-from-log" {
			applied++
		}
		if len(msgs) != 1 || answered[title] != 0 {
			t.Errorf("%q settled as %s/%s: answered %d times before the kill, told %d times after; want told once", title, r.Outcome, r.Code, answered[title], len(msgs))
			continue
		}
		m := msgs[0]
		want := map[string]string{"ok/settled-from-log": "Your command was carried out.", "interrupted/not-run": "Your command did not run."}[string(r.Outcome)+"/"+r.Code]
		if r.Code == "settled-from-log" && !strings.Contains(m.text, "protect log shows that it took effect: entry ") {
			t.Errorf("%q applied: the message names no log entry:\n%s", title, m.text)
		}
		if want == "" || !strings.Contains(m.text, want) || !strings.Contains(m.text, "/protect") || !strings.Contains(m.text, strconv.FormatInt(r.Time.Unix(), 10)) {
			t.Errorf("%q settled as %s/%s was told:\n%s", title, r.Outcome, r.Code, m.text)
		}
		switch m.platform {
		case "slack":
			if m.channel != "C-SLACK" || m.user != "U-OPS" || r.Platform != "slack" {
				t.Errorf("%q: told on Slack in %s to %s", title, m.channel, m.user)
			}
		case "discord":
			if m.channel != "C-DISCORD" || m.user != "<@D-OPS>" || len(m.mentions) != 1 || m.mentions[0] != "D-OPS" || r.Platform != "discord" {
				t.Errorf("%q: told on Discord in %s as %q, mentions %v", title, m.channel, m.user, m.mentions)
			}
		}
	}
	if len(told) != settled {
		t.Errorf("%d messages told for %d settled commands", len(told), settled)
	}
	if settled < 2 || applied != 1 {
		t.Fatalf("the kill left %d commands unfinished, %d of them applied; want more, one applied", settled, applied)
	}
	if line := toldLines(t, logPath)[passes]; !strings.Contains(line, fmt.Sprintf("sent=%d ", settled)) {
		t.Errorf("start-up logged %s, want sent=%d", line, settled)
	}
	t.Logf("%d commands, %d settled at the restart and their requesters told; rows: %v", n, settled, outcomes)

	// Once told, told for good.
	before := len(told)
	p3 := startProcess(t, config)
	testwait.For(t, "the second start-up's telling pass", func() bool { return len(toldLines(t, logPath)) == passes+2 })
	p3.stop(t)
	if line := toldLines(t, logPath)[passes+1]; !strings.Contains(line, "sent=0 ") {
		t.Errorf("the second start logged %s, want nothing sent", line)
	}
	if after := len(s.told(prefix)) + len(discordTold(t, api, prefix)); after != before {
		t.Errorf("the second start sent %d more messages", after-before)
	}
	if strings.Contains(readAll(t, logPath), "xoxb-e2e") || strings.Contains(readAll(t, logPath), "e2e-bot-token") {
		t.Error("the log holds a token")
	}
}

func readAll(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDeadReplicasRequestersToldOnce runs three wikimod replicas on one
// PostgreSQL database, gives one of them 12 Slack /protect commands behind
// a slowed wiki, and kills it with SIGKILL once a few are answered. When
// its lease runs out, a survivor settles what it left, and the requester of
// each settled command is told once, on Slack, though both survivors tell
// requesters.
func TestDeadReplicasRequestersToldOnce(t *testing.T) {
	dsn := postgresDSN(t)
	slow := newStallingWiki(t, 300*time.Millisecond)
	s := newSlackAPIStandIn(t)
	var procs []*process
	for range 3 {
		config := writeConfig(t, fmt.Sprintf(`slack_users = ["U-OPS"]

[slack]
mode = "http"
signing_secret = %q
bot_token = "xoxb-e2e"
api_url = %q
`, e2eSecret, s.srv.URL+"/api"))
		text, err := os.ReadFile(config)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(config)
		if err != nil {
			t.Fatal(err)
		}
		replaced := strings.Replace(string(text), cfg.Wiki.APIURL, slow.srv.URL+"/api.php", 1)
		writeFile(t, config, strings.Replace(replaced, "[storage]\n", fmt.Sprintf("[storage]\ndriver = \"postgres\"\ndsn = %q\n", dsn), 1))
		procs = append(procs, startProcess(t, config))
	}
	client := &http.Client{Timeout: 10 * time.Second}
	prefix := testwait.Unique("Replica told ")
	doomed := procs[1]
	if ok, ack := s.protect(client, doomed.base, prefix, 1000); !ok {
		t.Fatalf("warm-up not acknowledged: %s", ack)
	}
	testwait.For(t, "the warm-up's reply", func() bool { return s.answered(1000) == 1 })
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if ok, ack := s.protect(client, doomed.base, prefix, i); !ok {
				t.Errorf("command %d not acknowledged: %s", i, ack)
			}
		})
	}
	wg.Wait()
	answered := func() int {
		total := 0
		for i := range n {
			total += s.answered(i)
		}
		return total
	}
	testwait.For(t, "the first answers, and a protection applied but not answered", func() bool {
		return answered() >= 3 && slow.stalled.Load() > 0
	})
	doomed.kill()

	db, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var recs []commands.AuditRecord
	settledRows := func() (settled, open int) {
		recs, err = db.Audit(context.Background(), storage.AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if !strings.HasPrefix(r.Args["_"], prefix+" ") {
				continue
			}
			switch {
			case r.Outcome == commands.OutcomeQueued || r.Outcome == commands.OutcomePending:
				open++
			case r.Outcome == commands.OutcomeInterrupted || r.Code == "settled-from-log":
				settled++
			}
		}
		return settled, open
	}
	// The lease runs out in 15 s, a survivor's sweep comes within 10 s
	// more; telling follows at once.
	testwait.For(t, "the survivors to settle the dead one's commands and tell their requesters", func() bool {
		settled, open := settledRows()
		return open == 0 && len(s.told(prefix)) == settled
	})
	for _, p := range []*process{procs[0], procs[2]} {
		p.stop(t)
	}
	settled, _ := settledRows()
	byTitle := map[string]int{}
	for _, m := range s.told(prefix) {
		byTitle[m.title]++
	}
	for _, r := range recs {
		title := r.Args["_"]
		if !strings.HasPrefix(title, prefix+" ") || title == prefix+" 1000" {
			continue
		}
		want := 0
		if r.Outcome == commands.OutcomeInterrupted || r.Code == "settled-from-log" {
			want = 1
		}
		if byTitle[title] != want {
			t.Errorf("%q (%s/%s) told %d times, want %d", title, r.Outcome, r.Code, byTitle[title], want)
		}
	}
	if settled < 2 {
		t.Fatalf("the kill left %d commands unfinished; the test shows little", settled)
	}
	// Nothing is left to tell, nor told again.
	if left, err := db.ClaimNotices(context.Background(), "test", time.Now().Add(24*time.Hour), time.Now().Add(25*time.Hour), 100); err != nil || len(left) != 0 {
		t.Errorf("notices left to tell: %d, %v", len(left), err)
	}
	t.Logf("3 replicas, one killed: %d of its commands settled by a survivor, each requester told once", settled)
}
