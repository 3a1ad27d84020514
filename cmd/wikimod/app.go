package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// App is a wired wikimod: everything the subcommands need, built from the
// config, closed in reverse order of construction.
type App struct {
	cfg     *Config
	log     *slog.Logger
	metrics *bot.Metrics
	db      *storage.DB
	wiki    *mw.Client // the bot-password session
	anon    *mw.Client // the anonymous session for resets
	service *commands.Service
	server  *bot.Server

	// rem holds the reminders' runtime; reminderRuntime is defined in
	// reminders.go.
	rem *reminderRuntime

	adapters  []bot.Adapter
	notifiers []bot.Notifier
	closers   []func() error
	now       func() time.Time
}

// AppOptions adjust how an App is built.
type AppOptions struct {
	LogOutput io.Writer
	Now       func() time.Time
	// Extra commands and hooks, for the reminders.
	Extra []commands.Command
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
	a := &App{cfg: cfg, metrics: bot.NewMetrics(), now: opts.Now}
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
	a.db, err = storage.Open(cfg.Storage.Path, storage.Options{Now: a.now})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.db.Close)

	ua := fmt.Sprintf("wikimod/%s (https://github.com/wikimod/wikimod; %s)", version, cfg.Wiki.Contact)
	hc := &http.Client{Timeout: cfg.Wiki.Timeout.Duration}
	a.wiki, err = mw.New(mw.Config{
		APIURL: cfg.Wiki.APIURL, User: cfg.Wiki.BotUser, Password: cfg.Wiki.BotPassword, HTTPClient: hc,
		UserAgent: ua, MaxLag: cfg.Wiki.MaxLag, Observe: a.metrics.ObserveWiki, Now: a.now,
		Logger: a.log.With("component", "wiki"),
	})
	if err != nil {
		return nil, err
	}
	resetWiki := a.wiki
	if !cfg.Wiki.ResetWithBotSession {
		a.anon, err = mw.New(mw.Config{APIURL: cfg.Wiki.APIURL, UserAgent: ua, MaxLag: cfg.Wiki.MaxLag, HTTPClient: hc,
			Observe: a.metrics.ObserveWiki, Now: a.now, Logger: a.log.With("component", "wiki-anon")})
		if err != nil {
			return nil, err
		}
		resetWiki = a.anon
	}
	hooks, err := a.setupReminders()
	if err != nil {
		return nil, err
	}
	policy, err := commands.NewPolicy(cfg.accessRules())
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a.service, err = commands.New(commands.Config{
		Wiki:      a.wiki,
		ResetWiki: resetWiki,
		Policy:    policy,
		Rights:    cfg.Commands.Rights,
		Audit:     a.db,
		Extra:     append(hooks.Extra, opts.Extra...),
		OnProtect: hooks.OnProtect,
		Observe:   a.metrics.ObserveCommand,
		Timeout:   cfg.Commands.Timeout.Duration,
		Now:       a.now,
		Logger:    a.log.With("component", "commands"),
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	ok = true
	return a, nil
}

// healthChecks are what /healthz reports: the wiki session and the database.
func (a *App) healthChecks() []bot.Check {
	return []bot.Check{
		{Name: "wiki", Func: func(ctx context.Context) error {
			if err := a.wiki.Login(ctx); err != nil {
				return errors.New("not logged in: " + mw.ErrorCode(err))
			}
			_, err := a.wiki.SiteInfo(ctx)
			if err != nil {
				return errors.New("siteinfo: " + mw.ErrorCode(err))
			}
			return nil
		}},
		{Name: "database", Func: a.db.Writable},
	}
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
	case "protect", "editprotected":
		return "protect (\"Protect and unprotect pages\")"
	case "editsemiprotected":
		return "editprotected or protect"
	case "createaccount":
		return "createaccount (\"Create accounts\")"
	case "read":
		return "basic (always included)"
	case "editmyprivateinfo":
		return "none: no bot-password grant carries it; wikimod sends resets from an anonymous session instead"
	case "noratelimit":
		return "highvolume (\"High-volume editing\")"
	}
	return "see Special:ListGrants on the wiki"
}

func joinOr(list []string, empty string) string {
	if len(list) == 0 {
		return empty
	}
	return strings.Join(list, ", ")
}
