// Command wikimod is a chat bot that lets a wiki's moderators run MediaWiki
// administration from Discord and Slack.
//
//	wikimod run      -config FILE            serve the configured chat platforms
//	wikimod console  -config FILE -as NAME [-wiki NAME] [-lang CODE]   type commands in a terminal
//	wikimod check    -config FILE            log in and report the bot's rights
//	wikimod audit    -config FILE [-n N] [-json] [-wiki NAME] [-wiki-user NAME]
//	wikimod discord register -config FILE [-guild ID]
//	wikimod slack manifest -config FILE [-host HOST]
//	wikimod storage copy -from-config OLD -to-config NEW   move the state to another database
//	wikimod demo                             a throwaway local wiki and a console
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/bot/console"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

func main() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

const usage = `wikimod: MediaWiki moderation from Discord and Slack

Usage:
  wikimod run      -config FILE              serve the configured platforms, /healthz and /metrics
  wikimod console  -config FILE -as NAME [-wiki NAME] [-lang CODE]
                                             type commands in a terminal as console user NAME,
                                             answered in language CODE (default: LC_ALL, LC_MESSAGES or LANG)
  wikimod check    -config FILE              log in; report the wiki and the rights the bot holds
  wikimod audit    -config FILE [-n N] [-json] [-wiki NAME] [-wiki-user NAME]
                                             print the audit log, newest first
  wikimod discord register -config FILE [-guild ID | -global] [-print]
                                             register the slash commands with Discord (-print: show the JSON only)
  wikimod slack manifest -config FILE [-host HOST]
                                             print the Slack app manifest for the commands, at HOST
  wikimod storage copy -from-config OLD -to-config NEW
                                             copy the audit log, links, reminders and security counts from OLD's
                                             [storage] into NEW's (say, SQLite into PostgreSQL), which must be empty;
                                             stop wikimod first
  wikimod demo     [-dir DIR] [-lang CODE]   start a throwaway local wiki and a console on it
  wikimod version
`

// Main runs wikimod with the given arguments and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stderr)
	case "console":
		err = cmdConsole(ctx, args[1:], stdin, stdout, stderr)
	case "check":
		err = cmdCheck(ctx, args[1:], stdout, stderr)
	case "audit":
		err = cmdAudit(ctx, args[1:], stdout)
	case "discord":
		err = cmdDiscord(ctx, args[1:], stdout, stderr)
	case "slack":
		err = cmdSlack(args[1:], stdout, stderr)
	case "storage":
		err = cmdStorage(ctx, args[1:], stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, args[1:], stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "wikimod", version)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "wikimod: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintln(stderr, "wikimod:", err)
		return 1
	}
	return 0
}

func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("wikimod "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "wikimod.toml", "config file")
	return fs, path
}

func cmdConsole(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, path := newFlags("console", stderr)
	as := fs.String("as", "", "console user to act as (mapped by [[access]] console_users)")
	prompt := fs.Bool("prompt", false, "print a prompt before each line")
	wiki := fs.String("wiki", "", "the wiki commands go to when they name none (wiki=NAME)")
	langFlag := fs.String("lang", "", "the language to answer in, a MediaWiki code such as tr or zh-hans (default: the one LC_ALL, LC_MESSAGES or LANG names)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lang, err := consoleLanguage(*langFlag, os.Getenv)
	if err != nil {
		return err
	}
	cfg, err := LoadConfig(*path)
	if err != nil {
		return err
	}
	return runConsole(ctx, cfg, *as, *wiki, lang, *prompt, stdin, stdout, stderr)
}

// consoleLanguage is the language of the person at the terminal, a
// MediaWiki code: -lang's, else the one the environment's locale names
// (the first of LC_ALL, LC_MESSAGES and LANG that is set decides, as
// POSIX reads them), else "", which leaves it to the wiki's.
func consoleLanguage(flag string, getenv func(string) string) (string, error) {
	if flag != "" {
		code := i18n.Normalize(flag)
		if !i18n.Known(code) {
			return "", fmt.Errorf("console: -lang %q is not a language code MediaWiki knows; use one such as en, zh-hans or tr", flag)
		}
		return code, nil
	}
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(name); v != "" {
			return i18n.FromPOSIX(v), nil
		}
	}
	return "", nil
}

func runConsole(ctx context.Context, cfg *Config, as, wiki, lang string, prompt bool, stdin io.Reader, stdout, stderr io.Writer) error {
	if as == "" {
		return errors.New("console: say who you are with -as NAME (a name listed in console_users)")
	}
	// The log shares the terminal with the prompt: its lines go on lines
	// of their own.
	screen := console.NewScreen(stdout)
	app, err := NewApp(cfg, AppOptions{LogOutput: screen.LogWriter(stderr), ConsoleWiki: wiki})
	if err != nil {
		return err
	}
	defer app.Close()
	con, err := console.New(console.Config{Service: app.service, User: as, Locale: lang, In: stdin, Out: stdout, Prompt: prompt, Screen: screen})
	if err != nil {
		return err
	}
	app.notifiers = append(app.notifiers, con)
	if err := app.startReminders(ctx); err != nil {
		return err
	}
	// The person at the terminal hears of edit wars as a notice channel
	// would, with the commands the alerts' buttons run.
	if err := app.startAlerts(ctx); err != nil {
		return err
	}
	return con.Run(ctx)
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs, path := newFlags("run", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	app, err := openApp(*path, stderr)
	if err != nil {
		return err
	}
	defer app.Close()
	return app.Run(ctx)
}

// openApp loads the config at path and builds the App, logging to logw.
func openApp(path string, logw io.Writer) (*App, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return NewApp(cfg, AppOptions{LogOutput: logw})
}

// startupWikiTimeout bounds what start-up asks of the wiki (the login and
// settling what a crash left unfinished).
const startupWikiTimeout = 10 * time.Second

// Run serves the configured adapters and the HTTP server until ctx is done.
func (a *App) Run(ctx context.Context) error {
	// With one wiki, log in now so that a wrong bot password shows at
	// start-up, not at the first command. A wiki that is down or slow is
	// not fatal: the bot retries with the first command, and it does not
	// wait long for it. A farm's wikis each log in at their first command
	// (wikimod check tries them all).
	startCtx, cancel := context.WithTimeout(ctx, startupWikiTimeout)
	defer cancel()
	if len(a.wikis) == 1 {
		if err := a.wikis[0].Client.Login(startCtx); err != nil {
			if strings.HasPrefix(mw.ErrorCode(err), "login-") {
				return fmt.Errorf("wiki login: %w", err)
			}
			a.log.Warn("wiki not reachable at start-up; will retry with the first command", "err", err)
		}
	}
	if a.shared() {
		// Replicas: this one's lease tells the others it lives; it settles
		// what the dead ones leave, from time to time (settleLoop).
		if err := a.holdInstance(ctx); err != nil {
			return err
		}
	}
	settleCtx, cancelSettle := context.WithTimeout(ctx, startupWikiTimeout)
	defer cancelSettle()
	if err := a.settle(settleCtx); err != nil {
		return err
	}
	go a.security.Run(ctx)
	a.closers = append(a.closers, func() error {
		a.security.Close()
		a.security.Wait()
		return nil
	})
	a.server = bot.NewServer(bot.ServerConfig{Listen: a.cfg.HTTP.Listen, AdminListen: a.cfg.HTTP.AdminListen, Profiling: a.cfg.HTTP.Profiling,
		Metrics: a.metrics, Checks: a.healthChecks(), Info: map[string]string{"storage": a.cfg.Storage.describe()}, Logger: a.log})
	if err := a.buildAdapters(); err != nil {
		return err
	}
	for _, ad := range a.adapters {
		if m, ok := ad.(bot.Mounter); ok {
			m.Mount(a.server.Mux())
		}
	}
	if err := a.server.Start(); err != nil {
		return fmt.Errorf("http: %w", err)
	}
	if err := a.startReminders(ctx); err != nil {
		return err
	}
	if err := a.startAlerts(ctx); err != nil {
		return err
	}
	// The requesters of what start-up settled are told once the adapters
	// are up; the loop stops before Run returns, and so before the
	// database closes.
	loopCtx, stopLoop := context.WithCancel(ctx)
	var loop sync.WaitGroup
	loop.Go(func() { a.settleLoop(loopCtx) })
	defer loop.Wait()
	defer stopLoop()
	a.log.Info("wikimod running", "version", version, "http", a.server.Addr(), "adapters", len(a.adapters))

	// The adapters run joined: the first to fail stops the others, and Run
	// returns only once every one has returned.
	g, gctx := errgroup.WithContext(ctx)
	for _, ad := range a.adapters {
		g.Go(func() error {
			if err := ad.Run(gctx); err != nil && gctx.Err() == nil {
				return fmt.Errorf("%s: %w", ad.Name(), err)
			}
			return nil
		})
	}
	<-gctx.Done()
	a.log.Info("shutting down", "timeout", a.cfg.HTTP.ShutdownTimeout.Duration)
	shutdown, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownTimeout.Duration)
	defer cancel()
	if err := a.server.Close(shutdown); err != nil {
		a.log.Warn("http shutdown", "err", err)
	}
	runErr := g.Wait()
	// Commands still running get what is left of the shutdown time; those
	// that do not end in it are cut short and answered "stopped". The
	// closers then finish the rest (Close is safe to call twice).
	if err := a.service.Close(shutdown); err != nil {
		a.log.Warn("commands cut short at shutdown", "err", err)
	}
	return runErr
}

// buildAdapters creates the adapters the config turns on.
func (a *App) buildAdapters() error {
	for _, p := range platforms {
		if p.adapter == nil {
			continue
		}
		ad, err := p.adapter(a)
		if err != nil {
			return err
		}
		if ad == nil {
			continue
		}
		a.adapters = append(a.adapters, ad)
		// Only an adapter with a notice channel can deliver notices: one
		// without must not count as having delivered a reminder.
		if n, ok := ad.(bot.Notifier); ok && a.noticeChannel(ad.Name()) != "" {
			a.notifiers = append(a.notifiers, n)
		}
	}
	if len(a.adapters) == 0 {
		a.log.Warn("no chat platform configured: set [discord] mode or [slack] mode; serving /healthz and /metrics only")
	}
	return nil
}

// noticeChannel returns the notice channel configured for a platform.
func (a *App) noticeChannel(name string) string {
	if p, ok := platformByName(name); ok && p.notice != nil {
		return p.notice(a.cfg)
	}
	return ""
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := newFlags("check", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	app, err := openApp(*path, stderr)
	if err != nil {
		return err
	}
	defer app.Close()
	return app.Check(ctx, stdout)
}

// Check logs in to every wiki and reports each, and which rights the
// configured commands need there that the bot holds or lacks. It returns an
// error naming the wikis that lack something.
func (a *App) Check(ctx context.Context, w io.Writer) error {
	if len(a.wikis) == 1 {
		if err := a.checkWiki(ctx, a.wikis[0], w); err != nil {
			return err
		}
		fmt.Fprintln(w, "all good")
		return nil
	}
	var failed []string
	for _, wk := range a.wikis {
		fmt.Fprintf(w, "== wiki %s\n", wk.Name)
		if err := a.checkWiki(ctx, wk, w); err != nil {
			fmt.Fprintf(w, "  PROBLEM on %s: %v\n", wk.Name, err)
			failed = append(failed, wk.Name+": "+err.Error())
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d wikis lack something: %s", len(failed), len(a.wikis), strings.Join(failed, "; "))
	}
	fmt.Fprintln(w, "all good")
	return nil
}

// checkWiki logs in to one wiki and reports it.
func (a *App) checkWiki(ctx context.Context, wk *commands.Wiki, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := wk.Client.Login(ctx); err != nil {
		return fmt.Errorf("wiki login: %w", err)
	}
	site, err := wk.Client.SiteInfo(ctx)
	if err != nil {
		return err
	}
	me, err := wk.Client.UserInfo(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "wiki:    %s (%s) at %s\n", site.Name, site.Generator, a.urls[wk.Name])
	fmt.Fprintf(w, "bot:     logged in as %s, groups: %s\n", me.Name, joinOr(me.Groups, "none"))
	have := map[string]bool{}
	for _, r := range me.Rights {
		have[r] = true
	}
	need := a.service.RequiredRights(wk.Name)
	missing := 0
	fmt.Fprintln(w, "rights the commands need:")
	for _, n := range slices.Sorted(maps.Keys(need)) {
		right := need[n]
		sp, _ := a.service.Spec(n)
		grant := grantFor(right)
		if grant == unknownGrant && sp.Grant != "" {
			grant = sp.Grant
		}
		switch {
		case sp.Anonymous && wk.Reset != wk.Client:
			fmt.Fprintf(w, "  /%-17s %-18s sent from an anonymous session (no bot grant carries it)\n", n, right)
		case have[right]:
			fmt.Fprintf(w, "  /%-17s %-18s ok\n", n, right)
		default:
			missing++
			fmt.Fprintf(w, "  /%-17s %-18s MISSING: add the grant %s to the bot password\n", n, right, grant)
		}
	}
	for _, extra := range []string{mw.RightEditProtected, mw.RightNoRateLimit} {
		if !have[extra] {
			fmt.Fprintf(w, "  note: the bot lacks %s; grant %s\n", extra, grantFor(extra))
		}
	}
	if a.cfg.Identity.Linking {
		// /link by mail sends from the bot's account: it needs the right,
		// and an address of its own (which the wiki shows as "emailable").
		account, _, _ := strings.Cut(me.Name, "@")
		self, err := wk.Client.User(ctx, account)
		switch {
		case err != nil:
			fmt.Fprintf(w, "mail:    cannot tell whether the bot can send /link codes: %v\n", err)
		case !have[mw.RightSendEmail]:
			fmt.Fprintf(w, "mail:    /link by mail cannot work: the bot lacks the right sendemail; grant %s. /link by page works without it.\n", grantFor(mw.RightSendEmail))
		case !self.Emailable:
			fmt.Fprintf(w, "mail:    /link by mail cannot work: the bot's account %s has no email address (or takes no mail); set one in its preferences. /link by page works without it.\n", account)
		default:
			fmt.Fprintf(w, "mail:    ok: the bot holds sendemail and its account %s has an email address, so /link can mail codes\n", account)
		}
	}
	if missing > 0 {
		return fmt.Errorf("the bot lacks %d right(s) the commands need", missing)
	}
	return nil
}

func cmdAudit(ctx context.Context, args []string, stdout io.Writer) error {
	fs, path := newFlags("audit", os.Stderr)
	n := fs.Int("n", 20, "how many entries")
	wikiUser := fs.String("wiki-user", "", "only the entries of chat users linked to this wiki account")
	wiki := fs.String("wiki", "", "only the entries of this wiki")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := LoadStorageConfig(*path)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg.Storage, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	recs, err := db.Audit(ctx, storage.AuditFilter{Limit: *n, Wiki: *wiki, WikiUser: *wikiUser})
	if err != nil {
		return err
	}
	return printAudit(stdout, recs, *asJSON)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
