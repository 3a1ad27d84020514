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
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// Runner runs commands; *commands.Service is one.
type Runner interface {
	// Submit queues a command; see commands.Service.Submit.
	Submit(ctx context.Context, job commands.Job) (commands.Reply, bool)
	// ActorLocalizer renders what the console says itself (notices) in
	// the language of the person at the terminal.
	ActorLocalizer(ctx context.Context, actor commands.Actor, wiki string) i18n.Localizer
	// TimeZone is the wiki's time zone, which the console writes times
	// in.
	TimeZone(ctx context.Context, actor commands.Actor, wiki string) *time.Location
}

// Config configures the console adapter.
type Config struct {
	Service Runner
	// User is the console user name commands run as; [[access]]
	// console_users map it to wiki groups.
	User string
	// Locale is the language the person at the terminal reads, a
	// MediaWiki code (wikimod console -lang, or the environment's LANG);
	// "" leaves it to the wiki's.
	Locale string
	In     io.Reader
	Out    io.Writer
	// Prompt prints a prompt before each line (for interactive use).
	Prompt bool
	// Screen, if set, is shared with the log (Screen.LogWriter), so that a
	// log line never lands on the prompt. Nil means a screen on Out.
	Screen *Screen
}

// Screen is the terminal the console writes to. Log lines written through
// LogWriter go on lines of their own: a prompt on screen is ended first and
// shown again after them.
type Screen struct {
	mu     sync.Mutex
	out    io.Writer
	prompt string // the prompt on screen, waiting for input; "" if none
}

// NewScreen returns a screen writing to out.
func NewScreen(out io.Writer) *Screen { return &Screen{out: out} }

func (s *Screen) write(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.out, text)
	s.prompt = ""
}

func (s *Screen) showPrompt(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.out, p)
	s.prompt = p
}

func (s *Screen) inputRead() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prompt = ""
}

// interject writes text that arrives on its own (a notice): on a line of
// its own, with the prompt shown again after it.
func (s *Screen) interject(text string) {
	logWriter{s, s.out}.Write([]byte(text))
}

// LogWriter returns a writer for the log that keeps log lines off the
// prompt. w is where the log goes (standard error): on a terminal it is the
// same screen as the console's output.
func (s *Screen) LogWriter(w io.Writer) io.Writer { return logWriter{s, w} }

type logWriter struct {
	s *Screen
	w io.Writer
}

func (l logWriter) Write(p []byte) (int, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if l.s.prompt != "" {
		io.WriteString(l.s.out, "\n")
	}
	n, err := l.w.Write(p)
	if l.s.prompt != "" {
		io.WriteString(l.s.out, l.s.prompt)
	}
	return n, err
}

// Adapter is the console adapter.
type Adapter struct {
	cfg    Config
	screen *Screen
}

// New returns a console adapter.
func New(cfg Config) (*Adapter, error) {
	if cfg.Service == nil || cfg.In == nil || cfg.Out == nil {
		return nil, errors.New("console: service, input and output are required")
	}
	if strings.TrimSpace(cfg.User) == "" {
		return nil, errors.New("console: no user name (-as NAME)")
	}
	screen := cfg.Screen
	if screen == nil {
		screen = NewScreen(cfg.Out)
	}
	return &Adapter{cfg: cfg, screen: screen}, nil
}

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return PlatformName }

// PlatformName is the console's name among the platforms (Actor.Platform).
const PlatformName = "console"

// Platform is the console as the command service names it.
var Platform = commands.Platform{Name: PlatformName, Title: i18n.M("wikimod-platform-console"), Noun: i18n.M("wikimod-platform-console-noun")}

// Run reads commands until the input ends, quit, or ctx is done. It returns
// nil at the end of the input. Lines are read in Run's own goroutine, so
// nothing is left reading when it returns; if ctx ends while it waits for a
// line, it closes the input (when that is an io.Closer) to stop waiting.
func (a *Adapter) Run(ctx context.Context) error {
	done := make(chan struct{})
	defer close(done)
	defer a.screen.inputRead() // no prompt waits once Run has returned
	go func() {
		select {
		case <-ctx.Done():
			if c, ok := a.cfg.In.(io.Closer); ok {
				c.Close()
			}
		case <-done:
		}
	}()
	actor := a.actor()
	sc := bufio.NewScanner(a.cfg.In)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	a.prompt()
	// asked is the question the last reply asked (a batch's preview): the
	// next line answers it, y for yes and anything else no.
	var asked *commands.Confirmation
	for sc.Scan() {
		a.screen.inputRead()
		if ctx.Err() != nil {
			return nil
		}
		line := strings.TrimSpace(sc.Text())
		if q := asked; q != nil {
			asked = nil
			act := q.No
			if strings.EqualFold(line, "y") {
				act = q.Yes
			}
			line = "/" + act.Command + formatArgs(act.Args)
		}
		if line == "" || strings.HasPrefix(line, "#") {
			a.prompt()
			continue
		}
		if line == "quit" || line == "exit" {
			return nil
		}
		r := a.run(ctx, actor, line)
		l := a.withTimes(context.WithoutCancel(ctx), r.Localizer, r.Wiki)
		if r.Confirm != nil {
			asked = r.Confirm
			a.print(r.Plain(l) + "\n" + l.T("wikimod-console-confirm") + "\n\n")
		} else {
			a.print(r.Plain(l) + "\n\n")
		}
		a.prompt()
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

// run queues a line as a command, in the same queue as every platform's,
// and waits for its reply. If ctx ends first, the command still runs and is
// audited; its reply is printed when it comes.
func (a *Adapter) run(ctx context.Context, actor commands.Actor, line string) commands.Reply {
	replies := make(chan commands.Reply, 1)
	refusal, ok := a.cfg.Service.Submit(ctx, commands.Job{Actor: actor, Line: line,
		Deliver: func(_ context.Context, r commands.Reply) { replies <- r },
		// A long command's progress is printed as it goes.
		Progress: func(ctx context.Context, r commands.Reply) {
			a.screen.interject(r.Plain(a.withTimes(ctx, r.Localizer, r.Wiki)) + "\n\n")
		}})
	if !ok {
		return refusal
	}
	select {
	case r := <-replies:
		return r
	case <-ctx.Done():
		return commands.Reply{Title: i18n.M("wikimod-console-stopping"),
			Localizer: a.cfg.Service.ActorLocalizer(context.WithoutCancel(ctx), actor, "")}
	}
}

// actor is the person at the terminal.
func (a *Adapter) actor() commands.Actor {
	return commands.Actor{Platform: PlatformName, UserID: a.cfg.User, UserName: a.cfg.User, Channel: "console", Locale: a.cfg.Locale}
}

// Notify implements bot.Notifier by printing the notice, in the language
// of the person at the terminal: the console is their own channel.
func (a *Adapter) Notify(ctx context.Context, r commands.Reply) error {
	l := a.withTimes(ctx, a.cfg.Service.ActorLocalizer(ctx, a.actor(), r.Wiki), r.Wiki)
	var b strings.Builder
	b.WriteString(l.T("wikimod-console-notice") + " " + r.Plain(l))
	for _, act := range r.Actions {
		fmt.Fprintf(&b, "\n  [%s] /%s%s", l.Text(act.Label), act.Command, formatArgs(act.Args))
	}
	a.screen.interject(b.String() + "\n\n")
	return nil
}

// withTimes is l writing times as the console shows them: in the wiki's
// time zone, with its offset, since a terminal cannot show each reader
// their own as Discord and Slack do.
func (a *Adapter) withTimes(ctx context.Context, l i18n.Localizer, wiki string) i18n.Localizer {
	loc := a.cfg.Service.TimeZone(ctx, a.actor(), wiki)
	plain := l
	l.Time = func(t i18n.Time) string {
		switch t.Style {
		case i18n.TimeDate:
			return t.T.In(loc).Format("2006-01-02")
		case i18n.TimeRelative:
			if plain.Now != nil {
				return plain.Text(i18n.Relative(t.T, plain.Now()))
			}
		}
		return wikiTime(t.T.In(loc))
	}
	return l
}

// wikiTime writes t in its zone, naming the zone by its offset from UTC
// ("2026-12-10 15:00 (UTC+03:00)"), or as UTC.
func wikiTime(t time.Time) string {
	if _, offset := t.Zone(); offset == 0 {
		return t.Format("2006-01-02 15:04") + " UTC"
	}
	return t.Format("2006-01-02 15:04 (UTC-07:00)")
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
		a.screen.showPrompt("wikimod> ")
	}
}

func (a *Adapter) print(s string) { a.screen.write(s) }
