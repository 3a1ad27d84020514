// Package console is a terminal adapter for local use: it reads one command
// per line, runs it as a configured console user, and prints each reply.
// Notices (protect announcements, reminders) are printed too.
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/wikimod/wikimod/commands"
)

// Runner runs commands; *commands.Service is one.
type Runner interface {
	// Submit queues a command; see commands.Service.Submit.
	Submit(ctx context.Context, job commands.Job) (commands.Reply, bool)
}

// Config configures the console adapter.
type Config struct {
	Service Runner
	// User is the console user name commands run as; [[access]]
	// console_users map it to wiki groups.
	User string
	In   io.Reader
	Out  io.Writer
	// Prompt prints a prompt before each line (for interactive use).
	Prompt bool
}

// Adapter is the console adapter.
type Adapter struct {
	cfg Config
	mu  sync.Mutex // serialises writes to Out
}

// New returns a console adapter.
func New(cfg Config) (*Adapter, error) {
	if cfg.Service == nil || cfg.In == nil || cfg.Out == nil {
		return nil, errors.New("console: service, input and output are required")
	}
	if strings.TrimSpace(cfg.User) == "" {
		return nil, errors.New("console: no user name (-as NAME)")
	}
	return &Adapter{cfg: cfg}, nil
}

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return commands.PlatformConsole }

// Run reads commands until the input ends or ctx is done. It returns nil at
// the end of the input.
func (a *Adapter) Run(ctx context.Context) error {
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(a.cfg.In)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
		close(lines)
	}()
	actor := commands.Actor{Platform: commands.PlatformConsole, UserID: a.cfg.User, UserName: a.cfg.User, Channel: "console"}
	a.prompt()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				return <-errc
			}
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				a.prompt()
				continue
			}
			if line == "quit" || line == "exit" {
				return nil
			}
			a.print(a.run(ctx, actor, line).Plain() + "\n\n")
			a.prompt()
		}
	}
}

// run queues a line as a command, in the same queue as every platform's,
// and waits for its reply. If ctx ends first, the command still runs and is
// audited; its reply is printed when it comes.
func (a *Adapter) run(ctx context.Context, actor commands.Actor, line string) commands.Reply {
	replies := make(chan commands.Reply, 1)
	refusal, ok := a.cfg.Service.Submit(ctx, commands.Job{Actor: actor, Line: line,
		Deliver: func(_ context.Context, r commands.Reply) { replies <- r }})
	if !ok {
		return refusal
	}
	select {
	case r := <-replies:
		return r
	case <-ctx.Done():
		return commands.Reply{Title: "Stopping; the command's reply follows if it ends in time."}
	}
}

// Notify implements bot.Notifier by printing the notice.
func (a *Adapter) Notify(_ context.Context, r commands.Reply) error {
	var b strings.Builder
	b.WriteString("[notice] " + r.Plain())
	for _, act := range r.Actions {
		fmt.Fprintf(&b, "\n  [%s] /%s%s", act.Label, act.Command, formatArgs(act.Args))
	}
	a.print(b.String() + "\n\n")
	return nil
}

func formatArgs(args map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(args)) {
		v := args[k]
		if strings.ContainsAny(v, " \"") || v == "" {
			v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	return b.String()
}

func (a *Adapter) prompt() {
	if a.cfg.Prompt {
		a.print("wikimod> ")
	}
}

func (a *Adapter) print(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	io.WriteString(a.cfg.Out, s)
}
