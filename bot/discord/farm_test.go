package discord_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/bot/discord"
	"github.com/wikimod/wikimod/bot/discord/discordtest"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// TestWikiOptionAndTitlesFromTheChosenWiki: with two wikis, every command
// offers wiki as an option with the wikis as choices, and /protect's title
// suggestions come from the wiki chosen in the form.
func TestWikiOptionAndTitlesFromTheChosenWiki(t *testing.T) {
	devwiki.Need(t, wiki2)
	f := newFixtureEnv(t, testenv.Options{Farm: []testenv.FarmWiki{{Name: "de", Wiki: wiki2}, {Name: "en", Wiki: wiki}}})
	cmds := discord.ApplicationCommands(f.env.Service.Specs(), mw.Restrictions{Types: []string{"edit"}, Levels: []string{"", "sysop"}}, f.env.Service.Wikis(), discord.Words{})
	for _, c := range cmds {
		i := slices.IndexFunc(c.Options, func(o *discordgo.ApplicationCommandOption) bool { return o.Name == "wiki" })
		if i < 0 {
			t.Errorf("/%s has no wiki option", c.Name)
			continue
		}
		var names []string
		for _, ch := range c.Options[i].Choices {
			names = append(names, ch.Value.(string))
		}
		if fmt.Sprint(names) != "[de en]" || c.Options[i].Required {
			t.Errorf("/%s wiki option = %+v", c.Name, c.Options[i])
		}
	}

	title := testwait.Unique("Only On De ")
	var res struct{ Edit struct{ Result string } }
	if _, err := f.env.Wikis["de"].Client.Post(context.Background(), "csrf", map[string][]string{
		"action": {"edit"}, "title": {title}, "text": {"A page on de only."}}, &res); err != nil {
		t.Fatal(err)
	}
	suggest := func(wiki string) []string {
		t.Helper()
		opts := []ix{{"name": "title", "type": 3, "value": title[:12], "focused": true}}
		if wiki != "" {
			opts = append(opts, opt("wiki", wiki))
		}
		_, _, body := interaction(discordgo.InteractionApplicationCommandAutocomplete, guildID, member("D-ADMIN"), ix{
			"id": "C-protect", "name": "protect", "type": 1, "options": opts})
		_, resp := f.post(t, body)
		var titles []string
		data, _ := resp["data"].(map[string]any)
		choices, _ := data["choices"].([]any)
		for _, c := range choices {
			titles = append(titles, c.(map[string]any)["value"].(string))
		}
		return titles
	}
	if got := suggest("de"); !slices.Contains(got, title) {
		t.Errorf("suggestions on de = %v, want %q among them", got, title)
	}
	if got := suggest("en"); slices.Contains(got, title) {
		t.Errorf("suggestions on en = %v: the de page is among them", got)
	}
	if got := suggest(""); len(got) != 0 {
		t.Errorf("suggestions with no wiki chosen and no default = %v", got)
	}
}

// TestManyWikisAreSuggestedNotListed: past Discord's 25 choices, the wiki
// option is suggested as it is typed.
func TestManyWikisAreSuggestedNotListed(t *testing.T) {
	var names []string
	for i := range 30 {
		names = append(names, fmt.Sprintf("w%02d", i))
	}
	specs := []commands.Spec{{Name: "protect", Params: []commands.Param{{Name: "title", Required: true}, {Name: "wiki", Wiki: true}}}}
	cmds := discord.ApplicationCommands(specs, mw.Restrictions{}, names, discord.Words{})
	o := cmds[0].Options[1]
	if o.Name != "wiki" || len(o.Choices) != 0 || !o.Autocomplete {
		t.Errorf("wiki option with 30 wikis = %+v", o)
	}
}

// TestFormSubmittedThroughAnotherReplica: a password form opened through
// one wikimod is submitted through another sharing its database, as
// behind a load balancer; the command runs once.
func TestFormSubmittedThroughAnotherReplica(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	other := f.replica(t)
	_, _, body := slash(member("D-HELPER"), "validatepassword", opt("user", "Replica Newcomer"))
	status, resp := f.post(t, body)
	formID := modal(t, status, resp, "password", true)
	_, token, body := modalSubmit(member("D-HELPER"), formID, "password", "Replica-form-pass-5521")
	status, resp = other.post(t, body)
	deferred(t, status, resp)
	if e := f.waitEdit(t, token); !strings.Contains(e.Title+e.Description, "accepts this password") {
		t.Errorf("embed = %+v", e)
	}
	// Submitted again through the first, the form is gone.
	_, _, body = modalSubmit(member("D-HELPER"), formID, "password", "Replica-form-pass-5521")
	if _, resp := f.post(t, body); !strings.Contains(fmt.Sprint(resp["data"]), "expired") {
		t.Errorf("a second submission answered %v", resp)
	}
}

// identifies counts the gateway sessions opened (Identify payloads).
func identifies(f *fixture) []discordtest.Request {
	var out []discordtest.Request
	for _, r := range f.api.Requests() {
		if r.Method == discordtest.GatewayMethod && r.Path == "op2" {
			out = append(out, r)
		}
	}
	return out
}

// leaseTries passes the replicas' tries for the gateway lease on to the
// database, and notes when each was made and whether it won, so that a
// test can wait until a replica has been kept waiting for longer than an
// unrenewed lease lasts.
type leaseTries struct {
	store interface {
		TryLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error)
		ReleaseLease(ctx context.Context, name, holder string) error
	}
	mu      sync.Mutex
	refused map[string][]time.Time // by holder
	won     map[string]bool
}

func (l *leaseTries) TryLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error) {
	held, err := l.store.TryLease(ctx, name, holder, until, now)
	if err == nil {
		l.mu.Lock()
		if held {
			l.won[holder] = true
		} else {
			l.refused[holder] = append(l.refused[holder], now)
		}
		l.mu.Unlock()
	}
	return held, err
}

func (l *leaseTries) ReleaseLease(ctx context.Context, name, holder string) error {
	return l.store.ReleaseLease(ctx, name, holder)
}

// refusedFor returns how long holder has been refused the lease, from its
// first refusal to its last, and whether it has ever won it.
func (l *leaseTries) refusedFor(holder string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.refused[holder]
	if len(r) == 0 {
		return 0, l.won[holder]
	}
	return r[len(r)-1].Sub(r[0]), l.won[holder]
}

// TestOneReplicaHoldsTheGateway: replicas in gateway mode sharing a
// database take turns: one opens the gateway, the other waits, and takes
// over when the holder stops.
func TestOneReplicaHoldsTheGateway(t *testing.T) {
	f := newFixture(t, discord.ModeGateway, func(c *discord.Config) { c.PublicKey = "" })
	const ttl = 600 * time.Millisecond
	tries := &leaseTries{store: f.env.DB, refused: map[string][]time.Time{}, won: map[string]bool{}}
	replica := func(instance string) *discord.Adapter {
		a, err := discord.New(discord.Config{Mode: discord.ModeGateway, ApplicationID: appID, BotToken: "test-bot-token",
			GuildIDs: []string{guildID}, APIURL: f.api.URL, Service: f.env.Service, Replays: f.env.DB, Forms: f.env.DB, Now: time.Now,
			Gateway: &discord.GatewayLease{Store: tries, Instance: instance, TTL: ttl}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	run := func(a *discord.Adapter) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	stopOne := run(replica("one"))
	f.api.Wait(t, "the first replica's Identify", func(r discordtest.Request) bool {
		return r.Method == discordtest.GatewayMethod && r.Path == "op2"
	})
	stopTwo := run(replica("two"))
	defer stopTwo()
	// Two keeps being refused for longer than the lease lasts unless one
	// renews it: one has renewed it. Should two win it instead, its
	// session is waited for, so that the check below counts it.
	testwait.For(t, "the second replica to be refused the lease for longer than it lasts, or to win it", func() bool {
		d, won := tries.refusedFor("two")
		return d > ttl || won
	})
	if _, won := tries.refusedFor("two"); won {
		testwait.For(t, "the second replica's Identify", func() bool { return len(identifies(f)) >= 2 })
	}
	if n := len(identifies(f)); n != 1 {
		t.Fatalf("%d gateway sessions opened while one replica held the lease, want 1", n)
	}
	stopOne()
	testwait.For(t, "the second replica to take the gateway over", func() bool { return len(identifies(f)) >= 2 })
	if n := len(identifies(f)); n != 2 {
		t.Errorf("after the holder stopped, %d gateway sessions were opened in all, want 2 (the other took over)", n)
	}
}

// TestGatewayShard: a replica given its shard identifies with it.
func TestGatewayShard(t *testing.T) {
	f := newFixture(t, discord.ModeGateway, func(c *discord.Config) { c.PublicKey = ""; c.ShardID, c.ShardCount = 1, 2 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.adapter.Run(ctx) }()
	id := f.api.Wait(t, "the Identify", func(r discordtest.Request) bool {
		return r.Method == discordtest.GatewayMethod && r.Path == "op2"
	})
	var p struct {
		D struct {
			Shard []int `json:"shard"`
		} `json:"d"`
	}
	id.JSON(t, &p)
	if fmt.Sprint(p.D.Shard) != "[1 2]" {
		t.Errorf("identify shard = %v, want [1 2]", p.D.Shard)
	}
	cancel()
	<-done
	if _, err := discord.New(discord.Config{Mode: discord.ModeHTTP, ApplicationID: appID, PublicKey: f.signer.PublicKeyHex(),
		GuildIDs: []string{guildID}, Service: f.env.Service, Replays: f.env.DB, ShardID: 2, ShardCount: 2}); err == nil {
		t.Error("shard 2 of 2 was accepted")
	}
}
