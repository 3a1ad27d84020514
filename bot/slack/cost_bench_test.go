package slack_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

// BenchmarkProtectInProcess runs signed /protect commands, one at a time,
// through the real Slack handler into the command service wired as wikimod
// runs by default (reminders tracking, linking on), against the real wiki.
// It is for profiles of the bot's own work (-cpuprofile, -memprofile);
// cmd/wikimod's BenchmarkCommandCost gives the figures of the binary alone.
//
//	go test ./bot/slack -run '^$' -bench ProtectInProcess -benchtime 300x -cpuprofile cpu.out
func BenchmarkProtectInProcess(b *testing.B) {
	h := newHarness(b, testenv.Options{Linking: true, Extend: func(env *testenv.Env) ([]commands.Command, func(context.Context, commands.Actor, *commands.ProtectOutcome) error) {
		s, err := reminders.New(reminders.Config{Store: env.DB, Wikis: []reminders.Wiki{{Name: commands.DefaultWiki, Client: env.Bot}}})
		if err != nil {
			b.Fatal(err)
		}
		return s.Commands(), s.OnProtect
	}}, nil)
	stamp := testwait.Unique("")
	for i := range 20 {
		h.run(b, "U-ADMIN", "/protect", fmt.Sprintf(`"Warm %s %d" create=sysop expiry="1 day"`, stamp, i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		h.run(b, "U-ADMIN", "/protect", fmt.Sprintf(`"InProc %s %d" create=sysop expiry="1 day" reason="benchmark"`, stamp, i))
	}
}
