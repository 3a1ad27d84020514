package discord_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/bot/discord"
	"github.com/wikimod/wikimod/bot/discord/discordtest"
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
func (noService) SuggestTitles(context.Context, commands.Actor, string, string, int) []string {
	return nil
}
func (noService) Wikis() []string                   { return nil }
func (noService) Spec(string) (commands.Spec, bool) { return commands.Spec{}, false }

// teller is a Discord adapter for telling requesters, its REST calls going
// to apiURL.
func teller(t *testing.T, apiURL, token string) *discord.Adapter {
	t.Helper()
	ad, err := discord.New(discord.Config{Mode: discord.ModeGateway, ApplicationID: appID, BotToken: token,
		GuildIDs: []string{guildID}, APIURL: apiURL, Service: noService{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ad.Close() })
	return ad
}

var settledReply = commands.Reply{Command: "protect", Outcome: commands.OutcomeInterrupted, Code: "not-run",
	Title: i18n.Raw("Your command did not run."), Text: i18n.Raw("wikimod stopped before your `/protect \"Main Page\" edit=sysop` had its turn.")}

// TestTellRequesterMentionsThemAlone: the requester of a settled command
// is told in the channel of the command, mentioned, with the message's
// mentions limited to them, through the bot's REST API (no interaction
// token).
func TestTellRequesterMentionsThemAlone(t *testing.T) {
	api := discordtest.NewServer(t)
	ad := teller(t, api.URL, "test-bot-token")
	to := commands.Actor{Platform: "discord", UserID: "D-ALICE", Channel: "CH7"}
	if err := ad.TellRequester(context.Background(), to, settledReply); err != nil {
		t.Fatal(err)
	}
	reqs := api.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/api/v9/channels/CH7/messages" {
		t.Fatalf("requests = %+v", reqs)
	}
	if auth := reqs[0].Header.Get("Authorization"); auth != "Bot test-bot-token" {
		t.Errorf("Authorization = %q", auth)
	}
	var msg discordgo.MessageSend
	reqs[0].JSON(t, &msg)
	if msg.Content != "<@D-ALICE>" {
		t.Errorf("content = %q, want the mention", msg.Content)
	}
	if am := msg.AllowedMentions; am == nil || len(am.Parse) != 0 || len(am.Roles) != 0 || len(am.Users) != 1 || am.Users[0] != "D-ALICE" {
		t.Errorf("allowed mentions = %+v, want D-ALICE alone", am)
	}
	if len(msg.Embeds) != 1 || msg.Embeds[0].Title != english(settledReply.Title) || !strings.Contains(msg.Embeds[0].Description, "Main Page") {
		t.Errorf("embeds = %+v", msg.Embeds)
	}
}

// TestTellRequesterErrors: what Discord refuses for good (the channel is
// gone or closed to the bot), and a missing bot token, are undeliverable;
// anything else may be tried again.
func TestTellRequesterErrors(t *testing.T) {
	status := make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(<-status)
		io.WriteString(w, `{"message":"refused","code":50001}`)
	}))
	t.Cleanup(srv.Close)
	ad := teller(t, srv.URL, "test-bot-token")
	to := commands.Actor{Platform: "discord", UserID: "D-ALICE", Channel: "CH7"}
	for _, c := range []struct {
		status int
		gone   bool
	}{
		{http.StatusForbidden, true},
		{http.StatusNotFound, true},
		{http.StatusInternalServerError, false},
		{http.StatusUnauthorized, false},
	} {
		status <- c.status
		err := ad.TellRequester(context.Background(), to, settledReply)
		if err == nil || errors.Is(err, commands.ErrUndeliverable) != c.gone {
			t.Errorf("HTTP %d: error %v; want undeliverable %v", c.status, err, c.gone)
		}
	}
	if err := ad.TellRequester(context.Background(), commands.Actor{Platform: "discord", UserID: "D-ALICE"}, settledReply); !errors.Is(err, commands.ErrUndeliverable) {
		t.Errorf("no channel: %v, want undeliverable", err)
	}
	httpMode, err := discord.New(discord.Config{Mode: discord.ModeHTTP, ApplicationID: appID, PublicKey: discordtest.NewSigner().PublicKeyHex(),
		GuildIDs: []string{guildID}, APIURL: srv.URL, Service: noService{}, Replays: noReplays{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := httpMode.TellRequester(context.Background(), to, settledReply); !errors.Is(err, commands.ErrUndeliverable) {
		t.Errorf("without a bot token: %v, want undeliverable", err)
	}
}

type noReplays struct{}

func (noReplays) FirstSeen(context.Context, string, string, time.Time) (bool, error) {
	return true, nil
}
