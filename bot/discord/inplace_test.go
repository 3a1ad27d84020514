package discord_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/bot/discord"
)

// TestPressOnOwnMessageAnswersInPlace: a button on a message only the
// presser sees (their batch's preview or progress, which Discord marks
// ephemeral) is answered in that message's place (a deferred update, then
// an edit of it), so that its buttons are not left to press again; a
// button on a message the channel sees is answered in a new private
// message beside it (TestNotifyButtonRunsTheCommandAsThePresser).
func TestPressOnOwnMessageAnswersInPlace(t *testing.T) {
	f := newFixture(t, discord.ModeHTTP)
	_, token, body := press(member("D-HELPER"), "wm|help|command=protect")
	var i map[string]any
	if err := json.Unmarshal(body, &i); err != nil {
		t.Fatal(err)
	}
	i["message"] = map[string]any{"id": "M-PREVIEW", "channel_id": "C1", "flags": discordgo.MessageFlagsEphemeral, "content": ""}
	body, _ = json.Marshal(i)
	status, resp := f.post(t, body)
	if status != 200 || resp["type"] != float64(discordgo.InteractionResponseDeferredMessageUpdate) {
		t.Fatalf("press on an ephemeral message answered %d %v, want a deferred update (type 6)", status, resp)
	}
	if e := f.waitEdit(t, token); !strings.HasPrefix(e.Title, "/protect TITLE") {
		t.Errorf("the message now shows %+v", e)
	}
}
