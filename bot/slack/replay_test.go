package slack_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

// TestReplayedRequestRunsNothing: the same signed /protect sent three times
// inside the signature window runs once; the copies are refused and
// counted. After a restart (a new adapter on a freshly opened database) the
// copy is still refused.
func TestReplayedRequestRunsNothing(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	title := testwait.Unique("Slack Replay ")
	form := h.slashForm("U-ADMIN", "/protect", `"`+title+`" create=sysop`)
	body := form.Encode()
	ts := h.clock.Now().Unix()
	headers := map[string]string{
		"X-Slack-Request-Timestamp": strconv.FormatInt(ts, 10),
		"X-Slack-Signature":         wikislack.Sign(signingSecret, ts, []byte(body)),
	}
	if code, _ := h.postRaw(t, "/slack/commands", body, headers); code != http.StatusOK {
		t.Fatalf("first: HTTP %d", code)
	}
	h.slack.waitWebhook(t, form.Get("response_url"))
	h.clock.Add(2 * time.Minute) // still inside the five minutes
	for range 2 {
		if code, _ := h.postRaw(t, "/slack/commands", body, headers); code != http.StatusUnauthorized {
			t.Errorf("replay: HTTP %d, want 401", code)
		}
	}
	// A restart: a new adapter and a new connection to the same file.
	db, err := storage.Open(h.replays.Path(), storage.Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var refusedAfterRestart []string
	ad, err := wikislack.New(wikislack.Config{Mode: wikislack.ModeHTTP, SigningSecret: signingSecret, BotToken: botToken,
		APIURL: h.slack.srv.URL + "/api", Service: h.env.Service, Replays: db, Now: h.clock.Now, Logger: slog.New(slog.DiscardHandler),
		OnSecurityEvent: func(_ context.Context, kind, _, _ string) { refusedAfterRestart = append(refusedAfterRestart, kind) }})
	if err != nil {
		t.Fatal(err)
	}
	defer ad.Close()
	mux := http.NewServeMux()
	ad.Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/slack/commands", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(refusedAfterRestart) != 1 || refusedAfterRestart[0] != wikislack.KindReplay {
		t.Errorf("replay after a restart: HTTP %d, events %v", resp.StatusCode, refusedAfterRestart)
	}

	recs, err := h.env.DB.Audit(context.Background(), storage.AuditFilter{Limit: 10})
	if err != nil || len(recs) != 1 || recs[0].Outcome != commands.OutcomeOK {
		t.Errorf("audit rows = %+v, %v (want one ok)", recs, err)
	}
	if n := h.slack.webhookCount(); n != 1 {
		t.Errorf("%d replies at the response URL, want 1", n)
	}
	evs := h.securityEvents()
	if len(evs) != 2 || evs[0].Kind != wikislack.KindReplay || evs[1].Kind != wikislack.KindReplay {
		t.Errorf("security events = %+v", evs)
	}
}

// TestPanicInACommandIsAnsweredOnSlack: a command that panics is answered
// at its response URL and audited as failed; the adapter keeps serving.
func TestPanicInACommandIsAnsweredOnSlack(t *testing.T) {
	h := newHarness(t, testenv.Options{Extra: []commands.Command{panicking}}, nil)
	res := h.run(t, "U-ADMIN", "/boom", "")
	if !strings.Contains(res.text(), "internal error") {
		t.Errorf("reply = %v", res.Msg)
	}
	if rec := h.env.LastAudit(t); rec.Command != "boom" || rec.Outcome != commands.OutcomeFailed || rec.Code != "internal" {
		t.Errorf("audit = %+v", rec)
	}
	if res := h.run(t, "U-ADMIN", "/wikimod", ""); !strings.Contains(res.text(), "/protect") {
		t.Errorf("after the panic, /wikimod answered %v", res.Msg)
	}
}

// panicking is a command that panics as a real bug would.
var panicking = commands.Command{Spec: commands.Spec{Name: "boom", Usage: "/boom"},
	Run: func(context.Context, *commands.Request) (commands.Reply, error) {
		var levels []string
		_ = levels[len(levels)-1]
		return commands.Reply{}, nil
	}}
