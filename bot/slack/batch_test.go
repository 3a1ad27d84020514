package slack_test

import (
	"strings"
	"testing"

	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

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
	actionID, value := replyButton(t, preview, "Confirm: protect 2 pages")
	responseURL := h.press(t, "U-ADMIN", "trigger-confirm-"+testwait.Unique(""), actionID, value, true)
	summary := h.slack.waitWebhook(t, responseURL)
	if !strings.Contains(summary.text(), "2") || summary.Msg["replace_original"] != true {
		t.Errorf("the summary does not replace the preview: %v", summary.Msg)
	}
	if strings.Contains(summary.blocks(), `"type":"actions"`) {
		t.Errorf("the summary leaves buttons: %s", summary.blocks())
	}
	for _, title := range []string{a, b} {
		if p := h.env.Protections(t, title)["create"]; p.Level != "sysop" {
			t.Errorf("%s: create protection %+v", title, p)
		}
	}
}
