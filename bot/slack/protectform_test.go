package slack_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

// The Block Kit JSON of a modal as views.open receives it (Slack's
// documented fields), read by the tests without slack-go.
type (
	formText   struct{ Text string }
	formOption struct {
		Text  formText `json:"text"`
		Value string   `json:"value"`
	}
	formBlock struct {
		Type     string   `json:"type"`
		BlockID  string   `json:"block_id"`
		Label    formText `json:"label"`
		Optional bool     `json:"optional"`
		Element  struct {
			Type         string       `json:"type"`
			ActionID     string       `json:"action_id"`
			Options      []formOption `json:"options"`
			OptionGroups []struct {
				Label   formText     `json:"label"`
				Options []formOption `json:"options"`
			} `json:"option_groups"`
			InitialOption  *formOption  `json:"initial_option"`
			InitialOptions []formOption `json:"initial_options"`
		} `json:"element"`
	}
	formView struct {
		CallbackID      string      `json:"callback_id"`
		PrivateMetadata string      `json:"private_metadata"`
		Blocks          []formBlock `json:"blocks"`
	}
)

// block returns the view's input block with id, or fails the test.
func (v formView) block(t testing.TB, id string) formBlock {
	t.Helper()
	for _, b := range v.Blocks {
		if b.BlockID == id {
			return b
		}
	}
	t.Fatalf("the form has no block %q", id)
	return formBlock{}
}

func (v formView) has(id string) bool {
	return slices.ContainsFunc(v.Blocks, func(b formBlock) bool { return b.BlockID == id })
}

// options are all a select offers, headed or not.
func (b formBlock) options() []formOption {
	out := slices.Clone(b.Element.Options)
	for _, g := range b.Element.OptionGroups {
		out = append(out, g.Options...)
	}
	return out
}

// option returns the option shown as label.
func (b formBlock) option(label string) (formOption, bool) {
	os := b.options()
	i := slices.IndexFunc(os, func(o formOption) bool { return o.Text.Text == label })
	if i < 0 {
		return formOption{}, false
	}
	return os[i], true
}

func (b formBlock) labels() []string {
	var out []string
	for _, o := range b.options() {
		out = append(out, o.Text.Text)
	}
	return out
}

// openedForm waits for the n-th views.open and returns its view, checking
// that it was opened with trigger.
func (h *harness) openedForm(t testing.TB, n int, trigger string) formView {
	t.Helper()
	open := h.slack.waitCall(t, "views.open", n)
	if open.JSON["trigger_id"] != trigger {
		t.Errorf("views.open trigger_id = %v, want %q", open.JSON["trigger_id"], trigger)
	}
	b, _ := json.Marshal(open.JSON["view"])
	var v formView
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// submitForm submits the form as user, as Slack sends it: every input
// block with what it shows (a select its initial option), changed by
// chosen (block id to an option value) and typed (block id to text).
func (h *harness) submitForm(t testing.TB, user string, v formView, chosen, typed map[string]string) (int, string) {
	t.Helper()
	values := map[string]any{}
	for _, b := range v.Blocks {
		if b.Type != "input" {
			continue
		}
		state := map[string]any{"type": b.Element.Type}
		switch b.Element.Type {
		case "static_select":
			var selected any
			if b.Element.InitialOption != nil {
				selected = *b.Element.InitialOption
			}
			if value, ok := chosen[b.BlockID]; ok {
				i := slices.IndexFunc(b.options(), func(o formOption) bool { return o.Value == value })
				if i < 0 {
					t.Fatalf("block %s offers no %q: %v", b.BlockID, value, b.options())
				}
				selected = b.options()[i]
			}
			state["selected_option"] = selected
		case "checkboxes":
			state["selected_options"] = b.Element.InitialOptions
			if value, ok := chosen[b.BlockID]; ok {
				state["selected_options"] = []formOption{}
				if value != "" {
					state["selected_options"] = []formOption{{Value: value}}
				}
			}
		case "plain_text_input":
			state["value"] = nil
			if text, ok := typed[b.BlockID]; ok {
				state["value"] = text
			}
		}
		values[b.BlockID] = map[string]any{b.Element.ActionID: state}
	}
	return h.interact(t, map[string]any{
		"type": "view_submission",
		"user": map[string]any{"id": user, "name": strings.ToLower(user)},
		"team": map[string]any{"id": "T-TEAM"},
		"view": map[string]any{"id": "V-1", "type": "modal", "callback_id": v.CallbackID, "private_metadata": v.PrivateMetadata,
			"state": map[string]any{"values": values}},
	})
}

// expiresIn checks that an expiry the wiki reports is d from now.
func expiresIn(t testing.TB, what, expiry string, d time.Duration) {
	t.Helper()
	at, err := time.Parse(time.RFC3339, expiry)
	if off := time.Until(at) - d; err != nil || off < -10*time.Minute || off > 10*time.Minute {
		t.Errorf("%s expires %q, want in %v", what, expiry, d)
	}
}

// TestProtectViewOffersFormInReadersLanguage: /protect TITLE alone shows
// the page with a button that opens a form (views.open with the press's
// trigger id) offering, in the reader's Slack language, the wiki's own
// words: each type the page can take with the wiki's levels, set to the
// page's level now; the wiki's expiries and reasons; cascading. Submitting
// it with a chosen expiry and reason protects the page on the wiki as
// chosen, changes only the type changed, is audited as the person's
// /protect and answered once where the form was asked for.
func TestProtectViewOffersFormInReadersLanguage(t *testing.T) {
	for _, tc := range []struct {
		lang, locale        string
		sysop, week, reason string // the wiki's words, as a check of h.in
	}{
		{"tr", "tr-TR", "Yalnızca hizmetlilere izin verilir", "1 hafta", "Değişiklik savaşı"},
		{"zh-hans", "zh-CN", "仅允许管理员", "1周", "编辑战"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			h := newHarness(t, testenv.Options{}, nil)
			h.slack.mu.Lock()
			h.slack.locales = map[string]string{"U-ADMIN": tc.locale}
			h.slack.mu.Unlock()
			ctx := context.Background()
			title := testwait.Unique("Slack Form " + tc.lang + " ")
			if err := wiki.EditAs(ctx, "Admin", devwiki.AdminPassword, title, "text"); err != nil {
				t.Fatal(err)
			}
			h.run(t, "U-ADMIN", "/protect", `"`+title+`" edit=sysop expiry="2 days"`)
			before := h.env.Protections(t, title)["edit"]

			view := h.run(t, "U-ADMIN", "/protect", `"`+title+`"`)
			actionID, value := replyButton(t, view, h.in(t, tc.lang, i18n.M("wikimod-slack-protect-form-button")))
			trigger := "trigger-form-" + tc.lang
			responseURL := h.press(t, "U-ADMIN", trigger, actionID, value, true)
			form := h.openedForm(t, 1, trigger)

			if form.has("protect-level-create") || form.has("protect-level-upload") || form.has("protect-page") {
				t.Errorf("a page that exists is offered create or upload protection, or asked for: %+v", form.Blocks)
			}
			edit, move := form.block(t, "protect-level-edit"), form.block(t, "protect-level-move")
			if edit.Label.Text != h.in(t, tc.lang, commands.TypeName("edit")) {
				t.Errorf("edit's label = %q", edit.Label.Text)
			}
			sysop := h.in(t, tc.lang, commands.LevelName("sysop"))
			if !strings.Contains(sysop, tc.sysop) {
				t.Fatalf("the wiki's %s word for sysop = %q", tc.lang, sysop)
			}
			var want []string
			for _, l := range []string{"", "autoconfirmed", "sysop"} {
				want = append(want, h.in(t, tc.lang, commands.LevelName(l)))
			}
			if got := move.labels(); !slices.Equal(got, want) {
				t.Errorf("move's levels = %q, want the wiki's %q", got, want)
			}
			if o := edit.Element.InitialOption; o == nil || o.Value != "sysop" || o.Text.Text != sysop {
				t.Errorf("edit starts at %+v, want the page's sysop", o)
			}
			if o := move.Element.InitialOption; o == nil || o.Value != "all" {
				t.Errorf("move starts at %+v, want none", o)
			}
			expiry := form.block(t, "protect-expiry")
			if o, ok := expiry.option(tc.week); !ok || o.Value != "1 week" {
				t.Errorf("expiries %q: no %q sending 1 week", expiry.labels(), tc.week)
			}
			if o := expiry.options(); len(o) == 0 || o[len(o)-1].Value != "othertime" || o[len(o)-1].Text.Text != h.in(t, tc.lang, i18n.M("wikimod-slack-protect-form-expiry-other")) {
				t.Errorf("the last expiry is %+v, want the other expiry, typed", o)
			}
			reasons := form.block(t, "protect-reason")
			if o, ok := reasons.option(tc.reason); !ok || o.Value != tc.reason || len(reasons.Element.OptionGroups) == 0 {
				t.Errorf("reasons %q: no %q under the wiki's heading", reasons.labels(), tc.reason)
			}
			if !form.has("protect-cascade") || !form.has("protect-expiry-text") || !form.has("protect-reason-text") {
				t.Errorf("the form lacks cascading or free text: %+v", form.Blocks)
			}

			code, body := h.submitForm(t, "U-ADMIN", form, map[string]string{"protect-level-move": "sysop", "protect-expiry": "1 week", "protect-reason": tc.reason}, nil)
			if code != 200 || body != "" {
				t.Fatalf("submission: HTTP %d %q, want the form closed", code, body)
			}
			res := h.slack.waitWebhook(t, responseURL)
			if res.Msg["response_type"] != "ephemeral" || !strings.Contains(res.text(), tc.reason) {
				t.Errorf("reply = %v", res.Msg)
			}
			now := h.env.Protections(t, title)
			if now["move"].Level != "sysop" {
				t.Errorf("move = %+v, want sysop", now["move"])
			}
			expiresIn(t, "move", now["move"].Expiry, 7*24*time.Hour)
			if now["edit"] != before {
				t.Errorf("edit = %+v, want it kept as %+v", now["edit"], before)
			}
			rec := h.env.LastAudit(t)
			if rec.Command != "protect" || rec.UserID != "U-ADMIN" || rec.Outcome != commands.OutcomeOK || rec.Args["move"] != "sysop" || rec.Args["expiry"] != "1 week" {
				t.Errorf("audit = %+v", rec)
			}
			if n := h.slack.webhookCount(); n != 3 { // the two typed commands' and the form's
				t.Errorf("%d replies, want one for the form", n-2)
			}
		})
	}
}

// TestProtectFormAlone: /protect with nothing opens the form with an input
// for the page and every type the wiki has; what cannot be right is shown
// in the form in catalogue words and runs nothing; a typed expiry
// protects the page for that long.
func TestProtectFormAlone(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	slash, ack := h.slash(t, "U-ADMIN", "/protect", "")
	if ack != "" {
		t.Errorf("ack = %q, want an empty body", ack)
	}
	form := h.openedForm(t, 1, slash.Get("trigger_id"))
	for _, typ := range []string{"create", "edit", "move", "upload"} {
		if b := form.block(t, "protect-level-"+typ); b.Element.InitialOption != nil || !b.Optional {
			t.Errorf("%s is set before a page is known: %+v", typ, b)
		}
	}
	if page := form.block(t, "protect-page"); page.Optional || page.Label.Text != "Page" {
		t.Errorf("page input = %+v", page)
	}

	title := testwait.Unique("Slack Form Alone ")
	problem := func(chosen, typed map[string]string, block, want string) {
		t.Helper()
		code, body := h.submitForm(t, "U-ADMIN", form, chosen, typed)
		var resp struct {
			ResponseAction string            `json:"response_action"`
			Errors         map[string]string `json:"errors"`
		}
		if err := json.Unmarshal([]byte(body), &resp); code != 200 || err != nil || resp.ResponseAction != "errors" || resp.Errors[block] != want {
			t.Errorf("HTTP %d %s, want %q under %s", code, body, want, block)
		}
	}
	en := func(key string, params ...any) string { return h.in(t, "en", i18n.M(key, params...)) }
	problem(nil, map[string]string{"protect-page": title}, "protect-level-create", en("wikimod-slack-protect-form-nothing"))
	problem(map[string]string{"protect-level-create": "sysop", "protect-expiry": "othertime"}, map[string]string{"protect-page": title},
		"protect-expiry-text", en("wikimod-slack-protect-form-expiry-missing"))
	problem(map[string]string{"protect-level-create": "sysop", "protect-expiry": "1 week"}, map[string]string{"protect-page": title, "protect-expiry-text": "3 days"},
		"protect-expiry-text", en("wikimod-slack-protect-form-expiry-both", en("wikimod-slack-protect-form-expiry-other")))
	if n := h.slack.webhookCount(); n != 0 {
		t.Errorf("a form refused in place also replied (%d)", n)
	}
	if ps := h.env.Protections(t, title); len(ps) != 0 {
		t.Errorf("protections = %+v", ps)
	}

	code, body := h.submitForm(t, "U-ADMIN", form, map[string]string{"protect-level-create": "sysop", "protect-expiry": "othertime"},
		map[string]string{"protect-page": title, "protect-expiry-text": "3 days", "protect-reason-text": "typed in the form"})
	if code != 200 || body != "" {
		t.Fatalf("submission: HTTP %d %q", code, body)
	}
	res := h.slack.waitWebhook(t, slash.Get("response_url"))
	if !strings.Contains(res.text(), "Protection of "+title+" changed.") || !strings.Contains(res.text(), "typed in the form") {
		t.Errorf("reply = %q", res.text())
	}
	p := h.env.Protections(t, title)["create"]
	if p.Level != "sysop" {
		t.Errorf("create = %+v", p)
	}
	expiresIn(t, "create", p.Expiry, 3*24*time.Hour)

	// An expiry the wiki refuses comes back as a typed command's would.
	code, body = h.submitForm(t, "U-ADMIN", form, map[string]string{"protect-level-create": "autoconfirmed"},
		map[string]string{"protect-page": title, "protect-expiry-text": "the day after never"})
	if code != 200 || body != "" {
		t.Fatalf("bad expiry: HTTP %d %q", code, body)
	}
	typed := h.run(t, "U-ADMIN", "/protect", `"`+title+`" create=autoconfirmed expiry="the day after never"`)
	testwait.For(t, "the form's reply to a bad expiry", func() bool { return h.slack.webhookCount() == 3 })
	h.slack.mu.Lock()
	fromForm := h.slack.webhooks[1]
	if fromForm.Path == typed.Path {
		fromForm = h.slack.webhooks[2]
	}
	h.slack.mu.Unlock()
	if fromForm.text() != typed.text() || !strings.Contains(typed.text(), "the day after never") {
		t.Errorf("the form's reply to a bad expiry = %q, a typed command's = %q", fromForm.text(), typed.text())
	}
	if p := h.env.Protections(t, title)["create"]; p.Level != "sysop" {
		t.Errorf("create after a bad expiry = %+v", p)
	}
}

// TestProtectFormRefusedWithoutRight: someone without the protect right
// who presses the button is refused at once, audited, with no form; a
// form they submit anyway is refused as their typed /protect would be, and
// audited.
func TestProtectFormRefusedWithoutRight(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	title := testwait.Unique("Slack Form Refused ")
	view := h.run(t, "U-ADMIN", "/protect", `"`+title+`"`)
	actionID, value := replyButton(t, view, "Change protection…")

	responseURL := h.press(t, "U-HELPER", "trigger-helper", actionID, value, true)
	res := h.slack.waitWebhook(t, responseURL)
	if !strings.Contains(res.text(), "You need the wiki right `protect`") {
		t.Errorf("helper's press = %q", res.text())
	}
	if rec := h.env.LastAudit(t); rec.UserID != "U-HELPER" || rec.Outcome != commands.OutcomeDenied || rec.Command != "protect" {
		t.Errorf("audit = %+v", rec)
	}
	if n := h.slack.count("views.open"); n != 0 {
		t.Errorf("a form was opened for someone who may not protect")
	}

	responseURL = h.press(t, "U-ADMIN", "trigger-admin", actionID, value, true)
	form := h.openedForm(t, 1, "trigger-admin")
	code, body := h.submitForm(t, "U-HELPER", form, map[string]string{"protect-level-create": "sysop"}, nil)
	if code != 200 || body != "" {
		t.Fatalf("helper's submission: HTTP %d %q", code, body)
	}
	res = h.slack.waitWebhook(t, responseURL)
	typed := h.run(t, "U-HELPER", "/protect", `"`+title+`" create=sysop`)
	if res.text() != typed.text() || !strings.Contains(res.text(), "You need the wiki right `protect`") {
		t.Errorf("helper's form = %q, typed = %q", res.text(), typed.text())
	}
	if ps := h.env.Protections(t, title); len(ps) != 0 {
		t.Errorf("protections = %+v", ps)
	}
	recs, err := h.env.DB.Audit(context.Background(), storage.AuditFilter{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || recs[1].UserID != "U-HELPER" || recs[1].Outcome != commands.OutcomeDenied || recs[1].Args["create"] != "sysop" {
		t.Errorf("audit = %+v", recs)
	}
}
