package discord_test

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/bot/discord"
)

// TestNewMetricsStartAtZero: the Discord adapter's metrics are served under
// their names and help texts, with a series at zero for every interaction
// type and every kind of post, before the first event.
func TestNewMetricsStartAtZero(t *testing.T) {
	m := bot.NewMetrics()
	dm := discord.NewMetrics(m.Registerer())
	var b strings.Builder
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"# HELP wikimod_discord_ack_seconds Time from receiving a Discord interaction to sending its first response, by interaction type.",
		"# TYPE wikimod_discord_ack_seconds histogram",
		// The series the adapter observes: it names a type by its String.
		`wikimod_discord_ack_seconds_count{type="` + discordgo.InteractionApplicationCommand.String() + `"} 0`,
		`wikimod_discord_ack_seconds_count{type="` + discordgo.InteractionMessageComponent.String() + `"} 0`,
		`wikimod_discord_ack_seconds_count{type="` + discordgo.InteractionModalSubmit.String() + `"} 0`,
		`wikimod_discord_ack_seconds_count{type="` + discordgo.InteractionApplicationCommandAutocomplete.String() + `"} 0`,
		`wikimod_discord_ack_seconds_bucket{type="ModalSubmit",le="0.005"} 0`,
		`wikimod_discord_ack_seconds_bucket{type="ModalSubmit",le="30"} 0`,
		`wikimod_discord_ack_seconds_bucket{type="ModalSubmit",le="+Inf"} 0`,
		"# HELP wikimod_discord_posts_failed_total Results and notices that could not be posted to Discord, by kind.",
		"# TYPE wikimod_discord_posts_failed_total counter",
		`wikimod_discord_posts_failed_total{kind="announcement"} 0`,
		`wikimod_discord_posts_failed_total{kind="notice"} 0`,
		`wikimod_discord_posts_failed_total{kind="requester"} 0`,
		`wikimod_discord_posts_failed_total{kind="response"} 0`,
		`wikimod_discord_posts_failed_total{kind="result"} 0`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := strings.Count(text, "\nwikimod_discord_ack_seconds_count{"); n != 4 {
		t.Errorf("%d interaction types at zero, want 4", n)
	}
	if n := strings.Count(text, "\nwikimod_discord_ack_seconds_bucket{"); n != 4*13 {
		t.Errorf("%d buckets at zero, want 13 for each of 4 types", n)
	}
	if n := strings.Count(text, "\nwikimod_discord_posts_failed_total{"); n != 5 {
		t.Errorf("%d kinds of post at zero, want 5", n)
	}
	dm.PostsFailed.WithLabelValues("result").Inc()
	if v := m.Value("wikimod_discord_posts_failed_total", "kind", "result"); v != 1 {
		t.Errorf("posts failed = %v, want 1", v)
	}
}
