package discord_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/internal/linktest"
	"github.com/wikimod/wikimod/internal/testenv"
)

// linker runs commands as one Discord member through the adapter's real
// handler, and reads each reply from the edit of the deferred response.
type linker struct {
	f    *fixture
	user string
}

func (l *linker) Command(t testing.TB, name string, args map[string]string) string {
	t.Helper()
	var opts []ix
	for _, k := range slices.Sorted(maps.Keys(args)) {
		opts = append(opts, opt(k, args[k]))
	}
	_, token, body := slash(member(l.user), name, opts...)
	status, resp := l.f.post(t, body)
	deferred(t, status, resp)
	return embedText(l.f.waitEdit(t, token))
}

// GiveCode runs /link without options: Discord asks for the code in a
// private form (a modal), where it is required.
func (l *linker) GiveCode(t testing.TB, code string) string {
	t.Helper()
	_, _, body := slash(member(l.user), "link")
	status, resp := l.f.post(t, body)
	formID := modal(t, status, resp, "code", true)
	_, token, body := modalSubmit(member(l.user), formID, "code", code)
	status, resp = l.f.post(t, body)
	deferred(t, status, resp)
	return embedText(l.f.waitEdit(t, token))
}

func embedText(e discordgo.MessageEmbed) string {
	var b strings.Builder
	b.WriteString(e.Title + "\n" + e.Description)
	for _, f := range e.Fields {
		b.WriteString("\n" + f.Name + ": " + f.Value)
	}
	return b.String()
}

// TestLinkOnDiscord runs the linking scenario through Discord interactions.
func TestLinkOnDiscord(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	logs := &testenv.LogBuffer{}
	f := newFixtureWith(t, testenv.Options{Linking: true, Now: clock.Now, Logger: logs.Logger()}, "http")
	sent := func() string {
		var b strings.Builder
		for _, r := range f.api.Requests() {
			b.Write(r.Body)
		}
		return b.String()
	}
	linktest.Run(t, linktest.Env{Core: f.env, Clock: clock, Logs: func() string { return logs.String() + f.logs.String() }, Sent: sent},
		&linker{f: f, user: "D-LINKER"})
}
