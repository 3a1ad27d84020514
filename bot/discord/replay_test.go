package discord_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/bot/discord"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/storage"
)

// TestReplayAfterRestartIsRefused: the record of interactions taken lives
// in the database, so a captured interaction replayed to a restarted
// wikimod (a new adapter, the database opened anew) runs nothing.
func TestReplayAfterRestartIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guard.db")
	guard, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, discord.ModeHTTP, func(c *discord.Config) { c.Replays = guard })
	_, token, body := slash(member("D-ADMIN"), "help")
	status, resp := f.post(t, body)
	deferred(t, status, resp)
	f.waitEdit(t, token)
	f.adapter.Close()
	guard.Close()

	reopened, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	g := newFixture(t, discord.ModeHTTP, func(c *discord.Config) {
		c.Replays = reopened
		c.PublicKey = f.signer.PublicKeyHex() // the same application
	})
	status, _ = g.do(t, f.signer.Request(g.srv.URL+discord.InteractionsPath, body, f.clock.Now()))
	if status != http.StatusUnauthorized {
		t.Fatalf("replay after a restart answered %d, want 401", status)
	}
	if evs := g.securityEvents(); len(evs) != 1 || evs[0].kind != "replayed-interaction" {
		t.Errorf("security events = %v", evs)
	}
	if n := g.auditCount(t); n != 0 {
		t.Errorf("the restarted bot audited %d commands; the replay must run nothing", n)
	}
}

// TestPanicInACommandIsAnsweredOnDiscord: a command that panics edits the
// deferred response with an answer and is audited as failed.
func TestPanicInACommandIsAnsweredOnDiscord(t *testing.T) {
	boom := commands.Command{Spec: commands.Spec{Name: "boom", Usage: "/boom"},
		Run: func(context.Context, *commands.Request) (commands.Reply, error) {
			var m map[string]int
			m["x"] = 1 // assignment to a nil map
			return commands.Reply{}, nil
		}}
	f := newFixtureEnv(t, testenv.Options{Extra: []commands.Command{boom}})
	_, token, body := slash(member("D-ADMIN"), "boom")
	status, resp := f.post(t, body)
	deferred(t, status, resp)
	if e := f.waitEdit(t, token); !strings.Contains(e.Description, "internal error") {
		t.Errorf("embed = %+v", e)
	}
	if rec := f.env.LastAudit(t); rec.Command != "boom" || rec.Outcome != commands.OutcomeFailed || rec.Code != "internal" {
		t.Errorf("audit = %+v", rec)
	}
}
