package slack_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// noService takes no command: telling a requester runs none.
type noService struct{}

func (noService) Submit(context.Context, commands.Job) (commands.Reply, bool) {
	return commands.Reply{}, false
}
func (noService) Authorize(context.Context, commands.Actor, string, commands.Args) (commands.Reply, bool) {
	return commands.Reply{}, true
}
func (noService) Spec(string) (commands.Spec, bool) { return commands.Spec{}, false }

// teller is a Slack adapter for telling requesters, posting to apiURL.
func teller(t *testing.T, apiURL string) *wikislack.Adapter {
	t.Helper()
	ad, err := wikislack.New(wikislack.Config{Mode: wikislack.ModeHTTP, SigningSecret: signingSecret, BotToken: botToken,
		APIURL: apiURL, Service: noService{}, Replays: openDB(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ad.Close() })
	return ad
}

var settledReply = commands.Reply{Command: "protect", Outcome: commands.OutcomeInterrupted, Code: "not-run",
	Title: i18n.Raw("Your command did not run."), Text: i18n.Raw("wikimod stopped before your `/protect \"Main Page\" edit=sysop` had its turn.")}

// TestTellRequesterPostsEphemeral: the requester of a settled command is
// told with chat.postEphemeral, to them alone in the channel of the
// command, with the bot token, and nothing goes to a response URL.
func TestTellRequesterPostsEphemeral(t *testing.T) {
	s := newStandIn(t)
	ad := teller(t, s.srv.URL+"/api")
	to := commands.Actor{Platform: "slack", UserID: "U-ALICE", Channel: "C-MODS"}
	if err := ad.TellRequester(context.Background(), to, settledReply); err != nil {
		t.Fatal(err)
	}
	c := s.waitCall(t, "chat.postEphemeral", 1)
	if c.Form.Get("channel") != "C-MODS" || c.Form.Get("user") != "U-ALICE" {
		t.Errorf("posted to channel %q, user %q", c.Form.Get("channel"), c.Form.Get("user"))
	}
	if !strings.Contains(c.Form.Get("text"), "Your command did not run.") || !strings.Contains(c.Form.Get("blocks"), "Main Page") {
		t.Errorf("message = %v", c.Form)
	}
	if n := s.webhookCount(); n != 0 {
		t.Errorf("%d posts to response URLs", n)
	}
	if n := s.count("chat.postMessage"); n != 0 {
		t.Errorf("%d public messages", n)
	}
}

// TestTellRequesterErrors: what Slack refuses for good is undeliverable;
// anything else may be tried again.
func TestTellRequesterErrors(t *testing.T) {
	answer := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, <-answer)
	}))
	t.Cleanup(srv.Close)
	ad := teller(t, srv.URL+"/api")
	to := commands.Actor{Platform: "slack", UserID: "U-ALICE", Channel: "C-GONE"}
	for _, c := range []struct {
		answer string
		gone   bool
	}{
		{`{"ok":false,"error":"channel_not_found"}`, true},
		{`{"ok":false,"error":"user_not_in_channel"}`, true},
		{`{"ok":false,"error":"is_archived"}`, true},
		{`{"ok":false,"error":"internal_error"}`, false},
		{`{"ok":false,"error":"invalid_auth"}`, false},
	} {
		answer <- c.answer
		err := ad.TellRequester(context.Background(), to, settledReply)
		if err == nil || errors.Is(err, commands.ErrUndeliverable) != c.gone {
			t.Errorf("Slack answers %s: error %v, undeliverable %v; want undeliverable %v", c.answer, err,
				errors.Is(err, commands.ErrUndeliverable), c.gone)
		}
	}
	if err := ad.TellRequester(context.Background(), commands.Actor{Platform: "slack", UserID: "U-ALICE"}, settledReply); !errors.Is(err, commands.ErrUndeliverable) {
		t.Errorf("no channel: %v, want undeliverable", err)
	}
}
