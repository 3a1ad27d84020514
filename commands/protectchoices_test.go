package commands_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

func TestParseExpiryOptions(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []commands.Choice
	}{
		{"1 hour:1 hour,infinite:infinite", []commands.Choice{{Label: "1 hour", Value: "1 hour"}, {Label: "infinite", Value: "infinite"}}},
		{"1 hafta:1 week, süresiz : infinite ", []commands.Choice{{Label: "1 hafta", Value: "1 week"}, {Label: "süresiz", Value: "infinite"}}},
		// An entry without a colon is both label and value; empty ones
		// and repeats are left out; past a second colon is ignored, as
		// MediaWiki does.
		{"2 weeks,,1周:1 week,again:1 week,x:3 days:junk", []commands.Choice{{Label: "2 weeks", Value: "2 weeks"}, {Label: "1周", Value: "1 week"}, {Label: "x", Value: "3 days"}}},
		{"-", nil}, // the wiki offers no choices
		{"", nil},
	} {
		if got := commands.ParseExpiryOptions(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("ParseExpiryOptions(%q) = %+v, want %+v", tc.text, got, tc.want)
		}
	}
}

func TestParseReasonDropdown(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []commands.Choice
	}{
		{"*Common protection reasons\n** Excessive vandalism\n** Edit warring", []commands.Choice{
			{Label: "Excessive vandalism", Value: "Excessive vandalism", Group: "Common protection reasons"},
			{Label: "Edit warring", Value: "Edit warring", Group: "Common protection reasons"}}},
		// Two groups, a reason before any group, a line outside a group
		// (which ends the group), blank lines and a repeat.
		{"** Loose\n*A\n** a1\n\n*  B \n**b1\n** a1\nplain line\n** after", []commands.Choice{
			{Label: "Loose", Value: "Loose"},
			{Label: "a1", Value: "a1", Group: "A"},
			{Label: "b1", Value: "b1", Group: "B"},
			{Label: "plain line", Value: "plain line"},
			{Label: "after", Value: "after"}}},
		{"", nil},
		{"*\n**", nil},
	} {
		if got := commands.ParseReasonDropdown(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("ParseReasonDropdown(%q) = %+v, want %+v", tc.text, got, tc.want)
		}
	}
}

// TestWikiChoicesOnlyForProtect: the expiry and reason of /protect take the
// wiki's choices, nothing else does.
func TestWikiChoicesOnlyForProtect(t *testing.T) {
	for _, tc := range []struct {
		command, param string
		want           commands.ChoiceList
	}{
		{"protect", "expiry", commands.ExpiryChoices},
		{"protect", "edit_expiry", commands.ExpiryChoices},
		{"protect", "upload_expiry", commands.ExpiryChoices},
		{"protect", "reason", commands.ReasonChoices},
		{"protect", "watchlistexpiry", commands.NoChoices},
		{"protect", "title", commands.NoChoices},
		{"createaccount", "reason", commands.NoChoices},
	} {
		if got := commands.WikiChoices(tc.command, tc.param); got != tc.want {
			t.Errorf("WikiChoices(%q, %q) = %v, want %v", tc.command, tc.param, got, tc.want)
		}
	}
}

// labels lists what a reader is shown of choices.
func labels(cs []commands.Choice) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Label)
	}
	return out
}

// choiceFor returns the choice shown as label, and whether there is one.
func choiceFor(cs []commands.Choice, label string) (commands.Choice, bool) {
	i := slices.IndexFunc(cs, func(c commands.Choice) bool { return c.Label == label })
	if i < 0 {
		return commands.Choice{}, false
	}
	return cs[i], true
}

// TestWikiChoicesInReadersLanguage: a reader is offered the wiki's own
// expiries and reasons in their language (MediaWiki's translations, as the
// real wiki serves them), what they typed first so that free text stays
// possible, and the choices that contain it.
func TestWikiChoicesInReadersLanguage(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		lang                 string
		week, forever        string // labels of "1 week" and "infinite"
		editWar, weekPrefix  string // a reason, and part of the week's label
		wantFilteredWeekToBe []string
	}{
		{"en", "1 week", "infinite", "Edit warring", "week", []string{"week", "1 week", "2 weeks"}},
		{"tr", "1 hafta", "süresiz", "Değişiklik savaşı", "hafta", []string{"hafta", "1 hafta", "2 hafta"}},
		{"zh-hans", "1周", "不限期", "编辑战", "周", []string{"周", "1周", "2周"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			a := admin
			a.Locale = tc.lang
			expiries := env.Service.SuggestChoices(ctx, a, "", "protect", "expiry", "", 25)
			if c, ok := choiceFor(expiries, tc.week); !ok || c.Value != "1 week" {
				t.Errorf("expiry choices %q: no %q sending 1 week", labels(expiries), tc.week)
			}
			if c, ok := choiceFor(expiries, tc.forever); !ok || c.Value != "infinite" {
				t.Errorf("expiry choices %q: no %q sending infinite", labels(expiries), tc.forever)
			}
			perType := env.Service.SuggestChoices(ctx, a, "", "protect", "move_expiry", "", 25)
			if !slices.Equal(perType, expiries) {
				t.Errorf("move_expiry choices %q differ from expiry's %q", labels(perType), labels(expiries))
			}
			reasons := env.Service.SuggestChoices(ctx, a, "", "protect", "reason", "", 25)
			if c, ok := choiceFor(reasons, tc.editWar); !ok || c.Value != tc.editWar || c.Group == "" {
				t.Errorf("reason choices %q: no %q in a group", labels(reasons), tc.editWar)
			}

			got := env.Service.SuggestChoices(ctx, a, "", "protect", "expiry", tc.weekPrefix, 25)
			if !slices.Equal(labels(got), tc.wantFilteredWeekToBe) {
				t.Errorf("typing %q offers %q, want %q", tc.weekPrefix, labels(got), tc.wantFilteredWeekToBe)
			}
			// Free text is offered as typed; a typed value that is a
			// choice is shown in the wiki's words.
			if got := env.Service.SuggestChoices(ctx, a, "", "protect", "expiry", "10 days", 25); len(got) != 1 || got[0].Value != "10 days" {
				t.Errorf("typing 10 days offers %+v, want that alone", got)
			}
			if got := env.Service.SuggestChoices(ctx, a, "", "protect", "expiry", "1 week", 25); len(got) == 0 || got[0] != (commands.Choice{Label: tc.week, Value: "1 week"}) {
				t.Errorf("typing 1 week offers %+v first, want %q", got, tc.week)
			}
			if got := env.Service.SuggestChoices(ctx, a, "", "protect", "reason", "my own words", 25); len(got) != 1 || got[0].Value != "my own words" {
				t.Errorf("a reason of one's own offers %+v, want that alone", got)
			}
		})
	}
	// At most limit, what was typed counted.
	if got := env.Service.SuggestChoices(ctx, admin, "", "protect", "expiry", "1", 3); len(got) != 3 || got[0].Value != "1" {
		t.Errorf("limit 3 offers %+v", got)
	}
	// A parameter without choices offers what was typed only, asking
	// nothing of the wiki.
	if got := env.Service.SuggestChoices(ctx, admin, "", "protect", "tags", "x", 25); len(got) != 1 {
		t.Errorf("tags offers %+v", got)
	}
}

// TestChosenExpiryProtects: an expiry chosen from a Turkish reader's
// choices is what /protect sends, and the wiki protects for that long.
func TestChosenExpiryProtects(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	a := admin
	a.Locale = "tr"
	choices := env.Service.SuggestChoices(context.Background(), a, "", "protect", "expiry", "", 25)
	c, ok := choiceFor(choices, "1 hafta")
	if !ok {
		t.Fatalf("no 1 hafta among %q", labels(choices))
	}
	title := testwait.Unique("Choice Expiry ")
	start := time.Now()
	if r := run(t, env, a, `/protect "`+title+`" create=sysop expiry="`+c.Value+`" reason=choices`); !r.OK() {
		t.Fatalf("/protect with the chosen expiry: %s", r.String())
	}
	got := env.Protections(t, title)["create"]
	until, err := time.Parse(time.RFC3339, got.Expiry)
	if err != nil {
		t.Fatalf("the wiki's expiry %q: %v", got.Expiry, err)
	}
	if want := start.Add(7 * 24 * time.Hour); until.Before(want.Add(-time.Minute)) || until.After(want.Add(time.Minute)) {
		t.Errorf("protected until %s, want a week from %s", until, start)
	}
}

// TestCustomisedDropdown: reasons a wiki's administrators wrote into
// MediaWiki:Protect-dropdown are what its readers are offered.
func TestCustomisedDropdown(t *testing.T) {
	ctx := context.Background()
	env := testenv.New(t, wiki, testenv.Options{})
	stock, err := env.Bot.Messages(ctx, "en", mw.MsgProtectDropdown)
	if err != nil {
		t.Fatal(err)
	}
	reason := testwait.Unique("Sockpuppet wave ")
	custom := "*Our reasons\n** " + reason + "\n** Template under attack\n*Other\n** Ask on the noticeboard first"
	if err := wiki.EditAs(ctx, "Admin", devwiki.AdminPassword, "MediaWiki:Protect-dropdown", custom); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := wiki.EditAs(ctx, "Admin", devwiki.AdminPassword, "MediaWiki:Protect-dropdown", stock[mw.MsgProtectDropdown]); err != nil {
			t.Errorf("restoring the dropdown: %v", err)
		}
	})
	// A new service, whose client has not cached the wiki's messages.
	env = testenv.New(t, wiki, testenv.Options{})
	got := env.Service.SuggestChoices(ctx, admin, "", "protect", "reason", "", 25)
	want := []commands.Choice{
		{Label: reason, Value: reason, Group: "Our reasons"},
		{Label: "Template under attack", Value: "Template under attack", Group: "Our reasons"},
		{Label: "Ask on the noticeboard first", Value: "Ask on the noticeboard first", Group: "Other"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("after customising, reasons = %+v, want %+v", got, want)
	}
	if got := env.Service.SuggestChoices(ctx, admin, "", "protect", "reason", "template", 25); !slices.Equal(labels(got), []string{"template", "Template under attack"}) {
		t.Errorf("typing template offers %q", labels(got))
	}
}
