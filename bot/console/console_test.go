package console_test

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/wikimod/wikimod/bot/console"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

// echo records what it was asked and answers with the line.
type echo struct {
	mu     sync.Mutex
	actors []commands.Actor
	lines  []string
}

func (e *echo) Submit(ctx context.Context, job commands.Job) (commands.Reply, bool) {
	e.mu.Lock()
	e.actors = append(e.actors, job.Actor)
	e.lines = append(e.lines, job.Line)
	e.mu.Unlock()
	go job.Deliver(ctx, commands.Reply{Title: i18n.Raw("ran " + job.Line)})
	return commands.Reply{}, true
}

func TestRunReadsLinesUntilEOF(t *testing.T) {
	svc := &echo{}
	var out bytes.Buffer
	in := strings.NewReader("/help\n\n# comment\n   /protect x edit=sysop  \nquit\n/never\n")
	a, err := console.New(console.Config{Service: svc, User: "alice", In: in, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(svc.lines, "|"); got != "/help|/protect x edit=sysop" {
		t.Errorf("lines run = %q", got)
	}
	if svc.actors[0].Platform != "console" || svc.actors[0].UserID != "alice" {
		t.Errorf("actor = %+v", svc.actors[0])
	}
	if out.String() != "ran /help\n\nran /protect x edit=sysop\n\n" {
		t.Errorf("output = %q", out.String())
	}
}

func TestPromptAndNotify(t *testing.T) {
	var out bytes.Buffer
	a, err := console.New(console.Config{Service: &echo{}, User: "alice", In: strings.NewReader("/help\n"), Out: &out, Prompt: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out.String() != "wikimod> ran /help\n\nwikimod> " {
		t.Errorf("output = %q", out.String())
	}
	out.Reset()
	a.Notify(context.Background(), commands.Reply{Title: i18n.Raw("Expires soon"), Actions: []commands.Action{
		{Label: i18n.Raw("Extend"), Command: "reminder", Args: map[string]string{"do": "extend", "id": "7"}},
	}})
	if want := "[notice] Expires soon\n  [Extend] /reminder do=extend id=7\n\n"; out.String() != want {
		t.Errorf("notice = %q, want %q", out.String(), want)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := console.New(console.Config{Service: &echo{}, In: strings.NewReader(""), Out: &bytes.Buffer{}}); err == nil {
		t.Error("no user accepted")
	}
	if _, err := console.New(console.Config{User: "a", In: strings.NewReader(""), Out: &bytes.Buffer{}}); err == nil {
		t.Error("no service accepted")
	}
}

// TestLogLinesStayOffThePrompt: a log line written while the prompt waits
// for input goes on a line of its own, and the prompt is shown again.
func TestLogLinesStayOffThePrompt(t *testing.T) {
	out := &testenv.LogBuffer{}
	screen := console.NewScreen(out)
	in, feed := io.Pipe()
	a, err := console.New(console.Config{Service: &echo{}, User: "alice", In: in, Out: out, Prompt: true, Screen: screen})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- a.Run(context.Background()) }()
	testwait.For(t, "the prompt", func() bool { return out.String() == "wikimod> " })
	screen.LogWriter(out).Write([]byte("level=INFO msg=\"logged in\"\n"))
	feed.Write([]byte("quit\n"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "wikimod> \nlevel=INFO msg=\"logged in\"\nwikimod> " {
		t.Errorf("screen = %q", got)
	}
}

// TestRunLeavesNoReader: after quit, or after ctx ends while waiting for a
// line, Run has returned and no goroutine is left reading the input.
func TestRunLeavesNoReader(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, quit := range []bool{true, false} {
		in, feed := io.Pipe()
		a, _ := console.New(console.Config{Service: &echo{}, User: "alice", In: in, Out: io.Discard})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		if quit {
			feed.Write([]byte("quit\n"))
		} else {
			cancel()
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	testwait.For(t, "the goroutines Run started to end", func() bool { return runtime.NumGoroutine() <= before })
}
