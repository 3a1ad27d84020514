package slack

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/qqx"
)

// TestProtectFormHasNoEnglish renders the protect form, in the qqx
// pseudo-language, for a page and for /protect alone, and the problems it
// shows: every word must come from a catalogue or the wiki.
func TestProtectFormHasNoEnglish(t *testing.T) {
	l := i18n.Localizer{Lang: "qqx"}
	reasons := []commands.Choice{{Label: "Qqxloose", Value: "Qqxloose"}, {Label: "Qqxreason", Value: "Qqxreason", Group: "Qqxgroup"}}
	given := []string{"Qqx Page", "Qqxloose", "Qqxreason", "Qqxgroup", "/protect", "Qqxweek"}
	for _, form := range []commands.ProtectForm{
		{Wiki: "default", Page: "Qqx Page", Types: []commands.FormProtection{{Type: "edit", Level: "sysop", Expiry: "infinity"}, {Type: "move"}},
			Levels: []string{"", "autoconfirmed", "sysop"}, CanCascade: true, Cascade: true, Reasons: reasons,
			Expiries: []commands.Choice{{Label: "Qqxweek", Value: "1 week"}}, Localizer: l},
		{Wiki: "default", Types: []commands.FormProtection{{Type: "create"}, {Type: "edit"}}, Levels: []string{"", "sysop"}, CanCascade: true, Reasons: reasons, Localizer: l},
	} {
		b, err := json.Marshal(protectView(form, "m"))
		if err != nil {
			t.Fatal(err)
		}
		var view any
		if err := json.Unmarshal(b, &view); err != nil {
			t.Fatal(err)
		}
		for _, text := range texts(view) {
			// Slack cuts the title and buttons to 24 characters, which in
			// qqx cuts their keys.
			text = strings.TrimSuffix(text, "…")
			if !strings.HasSuffix(text, ")") && strings.HasPrefix(text, "(wikimod-") {
				text += ")"
			}
			if left := qqx.English(text, given...); len(left) > 0 {
				t.Errorf("form for %q: English left in %q: %q", form.Page, text, left)
			}
		}
	}

	selected := func(v string) map[string]slack.BlockAction {
		return map[string]slack.BlockAction{formAction: {SelectedOption: slack.OptionBlockObject{Value: v}}}
	}
	typed := func(v string) map[string]slack.BlockAction {
		return map[string]slack.BlockAction{formAction: {Value: v}}
	}
	for _, values := range []map[string]map[string]slack.BlockAction{
		{},
		{formLevelBlock + "create": selected("sysop"), formExpiryBlock: selected(otherExpiry)},
		{formLevelBlock + "create": selected("sysop"), formExpiryBlock: selected("1 week"), formExpiryTextBlock: typed("3 days")},
	} {
		_, problems := protectFormArgs(protectFormState{Wiki: "default", Types: []string{"create"}}, values, l)
		if len(problems) == 0 {
			t.Errorf("%v: no problem shown", values)
		}
		for block, text := range problems {
			if left := qqx.English(text); len(left) > 0 {
				t.Errorf("problem under %s: English left in %q: %q", block, text, left)
			}
		}
	}
}

// TestProtectFormWithinBlockKitLimits: a wiki with more choices than a
// select takes, a reason longer than an option's value and labels longer
// than an option's text still give a form Slack accepts: at most 100
// options a select, texts cut to 75 characters, and a choice whose value
// does not fit left out.
func TestProtectFormWithinBlockKitLimits(t *testing.T) {
	long, wide := strings.Repeat("v", maxOptionValue+1), strings.Repeat("w", 2*maxOptionText)
	reasons := []commands.Choice{{Label: long, Value: long, Group: "G"}, {Label: wide, Value: "wide", Group: wide}}
	var expiries []commands.Choice
	for i := range 150 {
		reasons = append(reasons, commands.Choice{Label: fmt.Sprint("reason ", i), Value: fmt.Sprint("reason ", i), Group: "G"})
		expiries = append(expiries, commands.Choice{Label: fmt.Sprint(i, " days ", wide), Value: fmt.Sprint(i, " days")})
	}
	expiries = append(expiries, commands.Choice{Label: long, Value: long})
	form := commands.ProtectForm{Wiki: "default", Page: "P", Types: []commands.FormProtection{{Type: "edit"}}, Levels: []string{"", "sysop"},
		Expiries: expiries, Reasons: reasons, Localizer: i18n.Localizer{Lang: "en"}}
	view := protectView(form, "m")
	seen := 0
	for _, b := range view.Blocks.BlockSet {
		in, ok := b.(*slack.InputBlock)
		if !ok {
			continue
		}
		sel, ok := in.Element.(*slack.SelectBlockElement)
		if !ok {
			continue
		}
		seen++
		options := sel.Options
		for _, g := range sel.OptionGroups {
			if n := utf8.RuneCountInString(g.Label.Text); n > maxOptionText {
				t.Errorf("%s: a heading of %d characters", in.BlockID, n)
			}
			options = append(options, g.Options...)
		}
		if len(options) > maxOptions || len(sel.OptionGroups) > maxOptions {
			t.Errorf("%s: %d options in %d groups", in.BlockID, len(options), len(sel.OptionGroups))
		}
		for _, o := range options {
			if n := utf8.RuneCountInString(o.Text.Text); n > maxOptionText {
				t.Errorf("%s: an option text of %d characters", in.BlockID, n)
			}
			if n := utf8.RuneCountInString(o.Value); n > maxOptionValue {
				t.Errorf("%s: an option value of %d characters", in.BlockID, n)
			}
		}
		switch in.BlockID {
		case formExpiryBlock:
			if len(options) != maxOptions || options[len(options)-1].Value != otherExpiry {
				t.Errorf("expiries: %d options, the last %+v; want 100, the typed one last", len(options), options[len(options)-1])
			}
		case formReasonBlock:
			if options[0].Value != "wide" || !strings.HasSuffix(options[0].Text.Text, "…") {
				t.Errorf("reasons start with %+v, want the wide one cut and the long one left out", options[0])
			}
		}
	}
	if seen != 3 {
		t.Errorf("%d selects, want edit's levels, expiries and reasons", seen)
	}
}

// TestProtectFormArgs: the form sends what the person changed, as they
// would have typed it: a type whose level changed, with the expiry; an
// expiry alone for every protection the page has; cascading alone with the
// page's protections as they are; on a form that asked for the page, only
// the types chosen.
func TestProtectFormArgs(t *testing.T) {
	l := i18n.Localizer{Lang: "en"}
	page := protectFormState{Wiki: "w", Page: "P", Types: []string{"edit", "move"},
		Levels:   map[string]string{"edit": "sysop", "move": ""},
		Expiries: map[string]string{"edit": "2030-01-01T00:00:00Z", "move": ""}}
	cascading := page
	cascading.Cascade = true
	alone := protectFormState{Wiki: "w", Types: []string{"create", "edit"}}
	pick := func(v string) map[string]slack.BlockAction {
		return map[string]slack.BlockAction{formAction: {SelectedOption: slack.OptionBlockObject{Value: v}}}
	}
	text := func(v string) map[string]slack.BlockAction {
		return map[string]slack.BlockAction{formAction: {Value: v}}
	}
	box := func(on bool) map[string]slack.BlockAction {
		var sel []slack.OptionBlockObject
		if on {
			sel = []slack.OptionBlockObject{{Value: cascadeOn}}
		}
		return map[string]slack.BlockAction{formAction: {SelectedOptions: sel}}
	}
	for _, tc := range []struct {
		name   string
		st     protectFormState
		values map[string]map[string]slack.BlockAction
		want   map[string]string
	}{
		{"a level changed", page, map[string]map[string]slack.BlockAction{
			formLevelBlock + "edit": pick("sysop"), formLevelBlock + "move": pick("sysop"), formExpiryBlock: pick("1 week"),
			formReasonBlock: pick("Vandalism"), formReasonTextBlock: text("again"), formCascadeBlock: box(false)},
			map[string]string{"wiki": "w", "title": "P", "move": "sysop", "expiry": "1 week", "reason": "Vandalism: again"}},
		{"an expiry alone", page, map[string]map[string]slack.BlockAction{
			formLevelBlock + "edit": pick("sysop"), formLevelBlock + "move": pick("all"), formExpiryTextBlock: text("3 days")},
			map[string]string{"wiki": "w", "title": "P", "edit": "sysop", "expiry": "3 days"}},
		{"a lift", page, map[string]map[string]slack.BlockAction{
			formLevelBlock + "edit": pick("all"), formLevelBlock + "move": pick("all"), formReasonTextBlock: text("calm")},
			map[string]string{"wiki": "w", "title": "P", "edit": "all", "reason": "calm"}},
		{"cascading alone", cascading, map[string]map[string]slack.BlockAction{
			formLevelBlock + "edit": pick("sysop"), formLevelBlock + "move": pick("all"), formCascadeBlock: box(false)},
			map[string]string{"wiki": "w", "title": "P", "edit": "sysop", "edit_expiry": "2030-01-01T00:00:00Z", "cascade": "false"}},
		{"a page named", alone, map[string]map[string]slack.BlockAction{
			formPageBlock: text(" New page "), formLevelBlock + "create": pick("autoconfirmed"), formExpiryBlock: pick("1 day"), formCascadeBlock: box(false)},
			map[string]string{"wiki": "w", "title": "New page", "create": "autoconfirmed", "expiry": "1 day"}},
	} {
		args, problems := protectFormArgs(tc.st, tc.values, l)
		if len(problems) > 0 || !maps.Equal(args.Named, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, args.Named, problems, tc.want)
		}
	}
}
