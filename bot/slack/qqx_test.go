package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/qqx"
)

// TestFormsAndButtonsHaveNoEnglish renders, in the qqx pseudo-language,
// the private form Slack opens for a secret (/validatepassword,
// /createaccount with an email address, /link's code) and a notice's
// buttons and footer: every word must come from a catalogue.
func TestFormsAndButtonsHaveNoEnglish(t *testing.T) {
	l := i18n.Localizer{Lang: "qqx"}
	specs := []struct {
		spec commands.Spec
		args commands.Args
	}{
		{commands.Spec{Name: "validatepassword", Summary: i18n.M("wikimod-command-validatepassword-summary"), AskSecret: "password",
			Params: []commands.Param{{Name: "password", Description: i18n.M("wikimod-param-validatepassword-password"), Secret: true}}}, commands.Args{}},
		{commands.Spec{Name: "createaccount", Summary: i18n.M("wikimod-command-createaccount-summary"), AskSecret: "password", SecretOptionalWith: []string{"email"},
			Params: []commands.Param{{Name: "password", Description: i18n.M("wikimod-param-createaccount-password"), Secret: true}, {Name: "email"}, {Name: "username"}}},
			commands.Args{Named: map[string]string{"email": "qqx@example.test", "username": "Qqxuser"}}},
		{commands.Spec{Name: "link", Summary: i18n.M("wikimod-command-link-summary"), AskSecret: "code",
			Params: []commands.Param{{Name: "code", Description: i18n.M("wikimod-param-link-code"), Secret: true}}}, commands.Args{}},
	}
	for _, s := range specs {
		b, err := json.Marshal(secretView(s.spec, s.args, "m", l))
		if err != nil {
			t.Fatal(err)
		}
		// What a person reads: every "text" of the view. Slack cuts the
		// buttons' to 24 characters, which in qqx cuts their keys.
		var view any
		if err := json.Unmarshal(b, &view); err != nil {
			t.Fatal(err)
		}
		for _, text := range texts(view) {
			text = strings.TrimSuffix(text, "…")
			if !strings.HasSuffix(text, ")") && strings.HasPrefix(text, "(wikimod-") {
				text += ")"
			}
			if left := qqx.English(text, "qqx@example.test", "Qqxuser", "/"+s.spec.Name, "email", "username"); len(left) > 0 {
				t.Errorf("/%s form: English left in %q: %q", s.spec.Name, text, left)
			}
		}
	}

	r := commands.Reply{
		Command: "reminder", Title: i18n.M("wikimod-reminder-dismissed-title", "Qqx Page"), URL: "https://wiki.example.test/wiki/Qqx_Page",
		Actions:   []commands.Action{{Label: i18n.M("wikimod-reminder-dismiss"), Command: "reminder", Args: map[string]string{"id": "1"}}},
		Localizer: l,
	}
	got := render(r, i18n.Localizer{})
	blocks, err := json.Marshal(withFooter(headBlocks(got), got, "U1"))
	if err != nil {
		t.Fatal(err)
	}
	if left := qqx.English(got.plain+" "+got.open+" "+got.labels[0], "Qqx Page"); len(left) > 0 {
		t.Errorf("notice: English left: %q\n%s", left, blocks)
	}
}

// texts returns every "text" value in a decoded Block Kit view.
func texts(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "text" {
				out = append(out, s)
			} else {
				out = append(out, texts(x)...)
			}
		}
	case []any:
		for _, x := range v {
			out = append(out, texts(x)...)
		}
	}
	return out
}
