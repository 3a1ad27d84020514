package console_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/console"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/linktest"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

var wiki *devwiki.Wiki

func TestMain(m *testing.M) { os.Exit(devwiki.Main(m, &wiki)) }

// typist types lines into a running console and reads back each reply.
type typist struct {
	in  *io.PipeWriter
	out *testenv.LogBuffer
}

// line types a command and returns what the console printed for it: the
// reply, ended by a blank line.
func (p *typist) line(t testing.TB, text string) string {
	t.Helper()
	before := len(p.out.String())
	if _, err := io.WriteString(p.in, text+"\n"); err != nil {
		t.Fatal(err)
	}
	var out string
	testwait.For(t, fmt.Sprintf("the reply to %q", text), func() bool {
		out = p.out.String()[before:]
		return strings.HasSuffix(out, "\n\n")
	})
	return out
}

func (p *typist) Command(t testing.TB, name string, args map[string]string) string {
	t.Helper()
	line := "/" + name
	for _, k := range slices.Sorted(maps.Keys(args)) {
		line += " " + k + "=" + commands.QuoteArg(args[k])
	}
	return p.line(t, line)
}

func (p *typist) GiveCode(t testing.TB, code string) string {
	t.Helper()
	return p.line(t, "/link code="+code)
}

// TestLinkOnTheConsole runs the linking scenario typed on the console.
func TestLinkOnTheConsole(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	logs := &testenv.LogBuffer{}
	env := testenv.New(t, wiki, testenv.Options{Linking: true, Now: clock.Now, Logger: logs.Logger()})
	in, w := io.Pipe()
	out := &testenv.LogBuffer{}
	a, err := console.New(console.Config{Service: env.Service, User: "link-tester", In: in, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background()) }()
	defer func() {
		w.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	linktest.Run(t, linktest.Env{Core: env, Clock: clock, Logs: logs.String}, &typist{in: w, out: out})
}
