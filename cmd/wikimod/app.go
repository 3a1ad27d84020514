package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/bot/alerts"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/mw"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// App is a wired wikimod: everything the subcommands need, built from the
// config, closed in reverse order of construction.
type App struct {
	cfg     *Config
	log     *slog.Logger
	metrics *bot.Metrics
	db      Store
	// wikis are the configured wikis, sorted by name: each with its
	// bot-password session and its session for resets.
	wikis   []*commands.Wiki
	urls    map[string]string // each wiki's API URL, for messages
	health  *wikiHealth
	service *commands.Service
	server  *bot.Server
	// security counts the requests refused before they became commands.
	security *bot.SecurityLog

	// rem holds the reminders' runtime; reminderRuntime is defined in
	// reminders.go.
	rem *reminderRuntime
	// alerts follows the wikis for edit wars (alerts.go); nil when off.
	alerts *alerts.Follower

	adapters  []bot.Adapter
	notifiers []bot.Notifier
	closers   []func() error
	now       func() time.Time
	// instance names this process among replicas sharing the database.
	instance string
	// lease watches this process's instance lease (replicas.go).
	lease leaseWatch
}

// AppOptions adjust how an App is built.
type AppOptions struct {
	LogOutput io.Writer
	Now       func() time.Time
	// Extra commands and hooks, for the reminders.
	Extra []commands.Command
	// ConsoleWiki is the console's default wiki (wikimod console -wiki).
	ConsoleWiki string
}

func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// NewApp builds the core: database, wiki sessions, command service.
// Adapters and the HTTP server are added by the subcommands that need them.
func NewApp(cfg *Config, opts AppOptions) (*App, error) {
	a := &App{cfg: cfg, metrics: bot.NewMetrics(), now: opts.Now, instance: newInstanceID()}
	if a.now == nil {
		a.now = time.Now
	}
	if opts.LogOutput == nil {
		opts.LogOutput = io.Discard
	}
	a.log = newLogger(cfg.Log, opts.LogOutput)
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	var err error
	a.db, err = openStore(context.Background(), cfg.Storage, a.now)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.db.Close)

	a.security = bot.NewSecurityLog(bot.SecurityConfig{Sink: a.db, Metrics: a.metrics, Now: a.now,
		Logger: a.log.With("component", "security")})

	if err := a.openWikis(); err != nil {
		return nil, err
	}
	if len(a.wikis) == 1 && a.wikis[0].Name != commands.DefaultWiki {
		// One wiki under a name of its own: what a single-wiki config
		// kept as "default" is its.
		if err := a.db.AdoptWiki(context.Background(), a.wikis[0].Name); err != nil {
			return nil, err
		}
	}
	hooks, err := a.setupReminders()
	if err != nil {
		return nil, err
	}
	if err := a.setupAlerts(&hooks); err != nil {
		return nil, err
	}
	policy, err := commands.NewPolicy(cfg.accessRules())
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	identity := commands.IdentityConfig{RequireLink: cfg.Identity.RequireLink, RightsTTL: cfg.Identity.RightsTTL.Duration}
	if cfg.Identity.Linking {
		identity.Links = a.db
	}
	workers := cfg.Commands.Workers
	if workers == 0 {
		workers = a.wikis[0].MaxConcurrent
		if len(a.wikis) > 1 {
			workers = 32
		}
	}
	if opts.ConsoleWiki != "" && a.wiki(opts.ConsoleWiki) == nil {
		return nil, fmt.Errorf("-wiki %q: no such wiki (wikis: %s)", opts.ConsoleWiki, strings.Join(a.wikiNames(), ", "))
	}
	a.service, err = commands.New(commands.Config{
		Wikis:      a.wikis,
		Routes:     cfg.routes(opts.ConsoleWiki),
		Policy:     policy,
		Identity:   identity,
		Rights:     cfg.Commands.Rights,
		Audit:      a.db,
		Extra:      append(hooks.Extra, opts.Extra...),
		OnProtect:  hooks.OnProtect,
		Observe:    a.metrics.ObserveCommand,
		Timeout:    cfg.Commands.Timeout.Duration,
		UserLimit:  commands.UserLimit{Rate: cfg.Commands.UserRate, Burst: cfg.Commands.UserBurst},
		Platforms:  platformInfos(),
		OnRefusal:  a.security.Record,
		Languages:  cfg.languages(a.db),
		Batches:    a.db,
		BatchLimit: cfg.Commands.BatchLimit,
		Queue: commands.QueueConfig{
			Workers:  workers,
			Capacity: cfg.Commands.QueueSize,
			MaxWait:  cfg.Commands.MaxWait.Duration,
		},
		Instance: a.instance,
		Now:      a.now,
		Logger:   a.log.With("component", "commands"),
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// Every command's series exist from the start, at zero.
	var names []string
	for _, sp := range a.service.Specs() {
		names = append(names, sp.Name)
	}
	a.metrics.InitCommands(a.wikiNames(), names...)
	a.metrics.InitWikis(a.wikiNames())
	for _, p := range platforms {
		a.metrics.InitSecurity(p.info.Name, commands.KindRateLimited)
	}
	gauges := promauto.With(a.metrics.Registerer())
	gauges.NewGaugeFunc(prometheus.GaugeOpts{Name: "wikimod_commands_waiting", Help: "Commands waiting in the queue for their turn at the wiki."}, func() float64 {
		waiting, _ := a.service.QueueLen()
		return float64(waiting)
	})
	gauges.NewGaugeFunc(prometheus.GaugeOpts{Name: "wikimod_commands_running", Help: "Commands running against the wikis now."}, func() float64 {
		_, running := a.service.QueueLen()
		return float64(running)
	})
	// Closed before the database: the queue's last replies are audited.
	a.closers = append(a.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout.Duration)
		defer cancel()
		return a.service.Close(ctx)
	})
	ok = true
	return a, nil
}

// openWikis makes the sessions of every configured wiki. Nothing is asked
// of a wiki yet: each logs in at its first command, so a farm of a
// thousand wikis starts at once and keeps idle wikis cheap.
func (a *App) openWikis() error {
	// One transport for every wiki, keeping enough idle connections per
	// host for each wiki's requests at once (Go's default keeps 2).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 32
	a.urls = map[string]string{}
	a.health = newWikiHealth(nil, a.urls, a.now) // observed from the first request on
	contact := ""
	for _, w := range a.cfg.Farm() {
		if contact = w.Contact; contact != "" {
			break
		}
	}
	for _, w := range a.cfg.Farm() {
		ua := fmt.Sprintf("wikimod/%s (https://github.com/wikimod/wikimod; %s)", version, cmp.Or(w.Contact, contact))
		hc := &http.Client{Timeout: w.Timeout.Duration, Transport: tr}
		log := a.log.With("component", "wiki", "wiki", w.Name)
		name, count := w.Name, a.metrics.WikiObserver(w.Name)
		observe := func(info mw.RequestInfo) {
			count(info)
			a.health.observe(name, info)
		}
		client, err := mw.New(mw.Config{
			APIURL: w.APIURL, User: w.BotUser, Password: w.BotPassword, HTTPClient: hc,
			UserAgent: ua, MaxLag: w.MaxLag, MaxConcurrent: w.MaxConcurrent, Observe: observe, Now: a.now, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("wiki %s: %w", w.Name, err)
		}
		cw := &commands.Wiki{Name: w.Name, Client: client, Rights: w.Rights, Timeout: a.cfg.Commands.Timeout.Duration, MaxConcurrent: w.MaxConcurrent}
		if !w.ResetWithBotSession {
			cw.Reset, err = mw.New(mw.Config{APIURL: w.APIURL, UserAgent: ua, MaxLag: w.MaxLag, HTTPClient: hc,
				MaxConcurrent: w.MaxConcurrent, Observe: observe, Now: a.now, Logger: log.With("session", "anonymous")})
			if err != nil {
				return fmt.Errorf("wiki %s: %w", w.Name, err)
			}
		}
		a.wikis = append(a.wikis, cw)
		a.urls[w.Name] = w.APIURL
	}
	a.health.wikis = a.wikis
	return nil
}

// wiki returns the named wiki, or nil.
func (a *App) wiki(name string) *commands.Wiki {
	i, ok := slices.BinarySearchFunc(a.wikis, name, func(w *commands.Wiki, n string) int { return strings.Compare(w.Name, n) })
	if !ok {
		return nil
	}
	return a.wikis[i]
}

func (a *App) wikiNames() []string {
	out := make([]string, len(a.wikis))
	for i, w := range a.wikis {
		out[i] = w.Name
	}
	return out
}

// recordRefusal is the adapters' OnSecurityEvent: refused requests are
// counted and logged at a bounded rate.
func (a *App) recordRefusal(platform string) func(ctx context.Context, kind, remote, detail string) {
	return func(_ context.Context, kind, remote, detail string) {
		a.security.Record(platform, kind, remote, detail)
	}
}

// settle finishes the audit records a crash or kill left unfinished,
// against the wikis' own logs, before any command is taken: every one that
// another process began, with SQLite (only one process uses the file); with
// a shared database, those whose process is gone.
func (a *App) settle(ctx context.Context) error {
	if a.shared() {
		return a.settleWith(ctx, a.ownerGone(ctx))
	}
	return a.settleWith(ctx, nil)
}

// Notify posts a reply to every adapter's notice channel.
func (a *App) Notify(ctx context.Context, r commands.Reply) error {
	var errs []error
	for _, n := range a.notifiers {
		if err := n.Notify(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close releases everything in reverse order. It is safe to call twice.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// grantFor names the bot-password grant that carries a right, for `check`.
func grantFor(right string) string {
	switch right {
	case mw.RightProtect, mw.RightEditProtected:
		return "protect (\"Protect and unprotect pages\")"
	case mw.RightEditSemiProtected:
		return "editprotected or protect"
	case mw.RightCreateAccount:
		return "createaccount (\"Create accounts\")"
	case mw.RightRead:
		return "basic (always included)"
	case mw.RightEditMyPrivateInfo:
		return "none: no bot-password grant carries it; wikimod sends resets from an anonymous session instead"
	case mw.RightSendEmail:
		return "sendemail (\"Send email to other users\")"
	case mw.RightNoRateLimit:
		return "highvolume (\"High-volume editing\")"
	}
	return unknownGrant
}

// unknownGrant is grantFor's answer for a right it does not know.
const unknownGrant = "see Special:ListGrants on the wiki"

func joinOr(list []string, empty string) string {
	if len(list) == 0 {
		return empty
	}
	return strings.Join(list, ", ")
}
