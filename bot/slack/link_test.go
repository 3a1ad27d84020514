package slack_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/linktest"
	"github.com/wikimod/wikimod/internal/testenv"
)

// linker runs commands as one Slack user through the adapter's real HTTP
// handlers, and reads each reply from its response URL.
type linker struct {
	h    *harness
	user string
}

func (l *linker) Command(t testing.TB, name string, args map[string]string) string {
	t.Helper()
	var words []string
	for _, k := range slices.Sorted(maps.Keys(args)) {
		words = append(words, k+"="+commands.QuoteArg(args[k]))
	}
	return l.h.run(t, l.user, "/"+name, strings.Join(words, " ")).text()
}

// GiveCode runs /link without text: Slack opens a private form (a modal)
// for the code. A wrong code is answered in the form itself; anything else
// closes it and comes to the response URL.
func (l *linker) GiveCode(t testing.TB, code string) string {
	t.Helper()
	n := l.h.slack.count("views.open")
	form, _ := l.h.slash(t, l.user, "/link", "")
	open := l.h.slack.waitCall(t, "views.open", n+1)
	var view slackapi.View
	b, _ := json.Marshal(open.JSON["view"])
	if err := json.Unmarshal(b, &view); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"optional":true`) {
		t.Errorf("the code is optional in /link's form: %s", b)
	}
	status, body := l.h.interact(t, map[string]any{
		"type": "view_submission",
		"user": map[string]any{"id": l.user, "name": strings.ToLower(l.user)},
		"view": map[string]any{"id": "V-1", "type": "modal", "callback_id": view.CallbackID, "private_metadata": view.PrivateMetadata,
			"state": map[string]any{"values": map[string]any{"secret": map[string]any{"value": map[string]any{"type": "plain_text_input", "value": code}}}}},
	})
	if status != 200 {
		t.Fatalf("form submission: HTTP %d %s", status, body)
	}
	if body != "" {
		var resp slackapi.ViewSubmissionResponse
		if err := json.Unmarshal([]byte(body), &resp); err != nil || resp.ResponseAction != slackapi.RAErrors {
			t.Fatalf("form submission answered %s", body)
		}
		return resp.Errors["secret"]
	}
	return l.h.slack.waitWebhook(t, form.Get("response_url")).text()
}

// TestLinkOnSlack runs the linking scenario through Slack's slash commands
// and modals.
func TestLinkOnSlack(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	logs := &testenv.LogBuffer{}
	h := newHarness(t, testenv.Options{Linking: true, Now: clock.Now, Logger: logs.Logger()}, nil)
	linktest.Run(t, linktest.Env{Core: h.env, Clock: clock, Logs: func() string { return logs.String() + h.logs.String() }, Sent: h.slack.everything},
		&linker{h: h, user: "U-LINKER"})
}
