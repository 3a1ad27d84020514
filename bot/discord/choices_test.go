package discord_test

import (
	"slices"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/bot/discord"
)

// TestExpiryAndReasonAutocomplete: typing /protect's expiry or reason
// offers the wiki's own choices in the member's language (their Discord
// locale), what they typed first, so that free text stays possible, and
// each choice sends the value the wiki takes.
func TestExpiryAndReasonAutocomplete(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	suggest := func(locale, option, typed string) (names, values []string) {
		t.Helper()
		_, _, body := interaction(discordgo.InteractionApplicationCommandAutocomplete, guildID, member("D-ADMIN"), ix{
			"id": "C-protect", "name": "protect", "type": 1,
			"options": []ix{opt("title", "Main Page"), {"name": option, "type": 3, "value": typed, "focused": true}},
		})
		status, resp := f.post(t, inLocale(t, body, locale))
		if status != 200 || resp["type"] != float64(discordgo.InteractionApplicationCommandAutocompleteResult) {
			t.Fatalf("autocomplete response = %d %v", status, resp)
		}
		data, _ := resp["data"].(map[string]any)
		choices, _ := data["choices"].([]any)
		for _, c := range choices {
			c := c.(map[string]any)
			names = append(names, c["name"].(string))
			values = append(values, c["value"].(string))
		}
		return names, values
	}
	names, values := suggest("tr", "expiry", "hafta")
	if !slices.Equal(names, []string{"hafta", "1 hafta", "2 hafta"}) || !slices.Equal(values, []string{"hafta", "1 week", "2 weeks"}) {
		t.Errorf("tr expiry choices for hafta: %q sending %q", names, values)
	}
	names, values = suggest("zh-CN", "edit_expiry", "")
	if i := slices.Index(names, "不限期"); i < 0 || values[i] != "infinite" {
		t.Errorf("zh-CN expiry choices: %q sending %q, want 不限期 sending infinite", names, values)
	}
	names, _ = suggest("zh-CN", "reason", "")
	if !slices.Contains(names, "编辑战") {
		t.Errorf("zh-CN reasons: %q, want the wiki's 编辑战 among them", names)
	}
	names, values = suggest("tr", "reason", "kendi gerekçem")
	if len(names) != 1 || values[0] != "kendi gerekçem" {
		t.Errorf("a reason of one's own: %q sending %q, want it alone", names, values)
	}
}
