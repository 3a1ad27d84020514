package slack_test

import (
	"encoding/json"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"

	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

// buttonsOf returns the buttons of a posted message's blocks, by label.
func buttonsOf(t *testing.T, w webhook) map[string]*slackapi.ButtonBlockElement {
	t.Helper()
	var blocks slackapi.Blocks
	if err := json.Unmarshal([]byte(w.blocks()), &blocks); err != nil {
		t.Fatal(err)
	}
	out := map[string]*slackapi.ButtonBlockElement{}
	for _, b := range blocks.BlockSet {
		if ab, ok := b.(*slackapi.ActionBlock); ok {
			for _, e := range ab.Elements.ElementSet {
				if btn, ok := e.(*slackapi.ButtonBlockElement); ok {
					out[btn.Text.Text] = btn
				}
			}
		}
	}
	return out
}

// TestBatchOnSlackEndsInPlace: a batch /protect previewed on Slack and
// confirmed with its button runs, and its summary replaces the message
// whose button was pressed (the person's own preview, which only they
// see), so that no Confirm or Stop button is left behind to press again.
// A press on a message the channel sees (a notice) is answered in a new
// message instead (TestNotifyButtonsRunAsPresser).
func TestBatchOnSlackEndsInPlace(t *testing.T) {
	h := newHarness(t, testenv.Options{}, nil)
	a, b := testwait.Unique("Slack Batch A "), testwait.Unique("Slack Batch B ")
	preview := h.run(t, "U-ADMIN", "/protect", `titles="`+a+`|`+b+`" create=sysop expiry="1 day" reason="slack batch"`)
	confirm, ok := buttonsOf(t, preview)["Confirm: protect 2 pages"]
	if !ok {
		t.Fatalf("the preview has no Confirm button: %s\n%s", preview.text(), preview.blocks())
	}
	responseURL := h.slack.srv.URL + "/response/confirm-" + testwait.Unique("")
	code, body := h.interact(t, map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": "U-ADMIN", "name": "u-admin"},
		"channel":      map[string]any{"id": userChannel},
		"container":    map[string]any{"type": "message", "channel_id": userChannel, "is_ephemeral": true},
		"response_url": responseURL,
		"trigger_id":   "trigger-confirm",
		"actions":      []map[string]any{{"action_id": confirm.ActionID, "block_id": "b", "type": "button", "value": confirm.Value, "action_ts": "1"}},
	})
	if code != 200 || body != "" {
		t.Fatalf("confirm: HTTP %d %q", code, body)
	}
	summary := h.slack.waitWebhook(t, responseURL)
	if !strings.Contains(summary.text(), "2") || summary.Msg["replace_original"] != true {
		t.Errorf("the summary does not replace the preview: %v", summary.Msg)
	}
	if left := buttonsOf(t, summary); len(left) != 0 {
		t.Errorf("the summary leaves buttons: %v", left)
	}
	for _, title := range []string{a, b} {
		if p := h.env.Protections(t, title)["create"]; p.Level != "sysop" {
			t.Errorf("%s: create protection %+v", title, p)
		}
	}
}
