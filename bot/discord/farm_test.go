package discord_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/bot/discord"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/mw"
)

// TestWikiOptionAndTitlesFromTheChosenWiki: with two wikis, every command
// offers wiki as an option with the wikis as choices, and /protect's title
// suggestions come from the wiki chosen in the form.
func TestWikiOptionAndTitlesFromTheChosenWiki(t *testing.T) {
	devwiki.Need(t, wiki2)
	f := newFixtureEnv(t, testenv.Options{Farm: []testenv.FarmWiki{{Name: "de", Wiki: wiki2}, {Name: "en", Wiki: wiki}}})
	cmds := discord.ApplicationCommands(f.env.Service.Specs(), mw.Restrictions{Types: []string{"edit"}, Levels: []string{"", "sysop"}}, f.env.Service.Wikis())
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

	title := fresh("Only On De")
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
	cmds := discord.ApplicationCommands(specs, mw.Restrictions{}, names)
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
