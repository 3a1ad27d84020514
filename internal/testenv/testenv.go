// Package testenv builds a real wikimod core for tests: a bot session on a
// throwaway wiki, an anonymous session for resets, a SQLite database in a
// temporary directory, and the command service wired to them.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/bot/console"
	"github.com/wikimod/wikimod/bot/discord"
	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

// Env is a wired core.
type Env struct {
	Wiki *devwiki.Wiki
	Bot  *mw.Client // the bot-password session
	Anon *mw.Client // the anonymous session used for resets
	// Wikis are the service's wikis, by name.
	Wikis   map[string]*commands.Wiki
	DB      *storage.DB
	DBPath  string // the database file
	Metrics *bot.Metrics
	Service *commands.Service
}

// Options adjust the core.
type Options struct {
	Rules     []commands.AccessRule
	Rights    map[string]string
	Extra     []commands.Command
	OnProtect func(ctx context.Context, actor commands.Actor, res *commands.ProtectOutcome) error
	Now       func() time.Time
	// Queue bounds the commands platforms submit.
	Queue commands.QueueConfig
	// UserLimit bounds one person's commands. The zero value turns the
	// limit off: most tests give many commands as one person.
	UserLimit commands.UserLimit
	// Timeout bounds one command; zero means the service's default.
	Timeout time.Duration
	// BatchLimit bounds the pages of one batch /protect; zero means the
	// service's default.
	BatchLimit int
	// Transport, if set, carries the bot session's requests to the wiki
	// (tests put faults between the bot and the wiki with it).
	Transport http.RoundTripper
	// BotGrants, when set, gives the bot a bot password of its own with
	// only these grants, instead of the wiki's default one.
	BotGrants []string
	// Farm, when set, makes the service serve these wikis, each under its
	// name, instead of one "default" wiki; Env.Bot is then the first's
	// session and Env.Wikis has them all. Routes picks their defaults.
	Farm   []FarmWiki
	Routes commands.Routes
	// Linking offers /link, /unlink and /whoami, with links kept in the
	// database; RequireLink and RightsTTL are as in commands.IdentityConfig.
	Linking     bool
	RequireLink bool
	RightsTTL   time.Duration
	// Languages are the channels' and wikis' configured languages, as
	// wikimod's config sets them; Preferences, when set, keeps people's
	// own choices (/language) in the database (Languages.Preferences).
	Languages   commands.LanguageConfig
	Preferences bool
	// Logger receives the service's log; nil discards it.
	Logger *slog.Logger
	// Extend runs once the database and the wiki sessions exist, before the
	// command service: it returns further commands and a protect hook, as
	// the reminders add them.
	Extend func(env *Env) ([]commands.Command, func(ctx context.Context, actor commands.Actor, res *commands.ProtectOutcome) error)
}

// FarmWiki is one wiki of a farm under test.
type FarmWiki struct {
	Name string
	Wiki *devwiki.Wiki
}

// DefaultRules map the console user "admin", the Discord user "D-ADMIN", the
// Discord role "R-MOD", the Slack user "U-ADMIN" and the Slack user group
// "S-MODS" to sysop.
var DefaultRules = []commands.AccessRule{{
	WikiGroups: []string{"sysop"},
	Identities: []commands.Identities{
		commands.Users(console.PlatformName, "admin"),
		{Platform: discord.PlatformName, Users: []string{"D-ADMIN"}, Groups: []string{"R-MOD"}},
		{Platform: wikislack.PlatformName, Users: []string{"U-ADMIN"}, Groups: []string{"S-MODS"}},
	},
}, {
	WikiGroups: []string{"autoconfirmed"},
	Identities: []commands.Identities{
		commands.Users(console.PlatformName, "helper"),
		commands.Users(discord.PlatformName, "D-HELPER"),
		commands.Users(wikislack.PlatformName, "U-HELPER"),
	},
}}

// Platforms are the chat platforms the core's service knows, as wikimod
// runs with all three.
var Platforms = []commands.Platform{console.Platform, discord.Platform, wikislack.Platform}

// New wires a core against wiki. It fails the test on any error and closes
// everything when the test ends.
func New(tb testing.TB, wiki *devwiki.Wiki, opts Options) *Env {
	tb.Helper()
	wiki = devwiki.Need(tb, wiki)
	env := &Env{Wiki: wiki, Metrics: bot.NewMetrics()}
	var err error
	var hc *http.Client
	if opts.Transport != nil {
		hc = &http.Client{Transport: opts.Transport, Timeout: 30 * time.Second}
	}
	botUser, botPassword := wiki.BotUser, wiki.BotPassword
	if opts.BotGrants != nil {
		app := fmt.Sprintf("t%d", time.Now().UnixNano()%1e12)
		if botUser, botPassword, err = wiki.CreateBotPassword(context.Background(), "Admin", app, opts.BotGrants...); err != nil {
			tb.Fatal(err)
		}
	}
	farm := opts.Farm
	if len(farm) == 0 {
		farm = []FarmWiki{{Name: commands.DefaultWiki, Wiki: wiki}}
	}
	env.Wikis = map[string]*commands.Wiki{}
	var wikis []*commands.Wiki
	for _, fw := range farm {
		user, password := fw.Wiki.BotUser, fw.Wiki.BotPassword
		if fw.Wiki == wiki {
			user, password = botUser, botPassword
		}
		observe := env.Metrics.WikiObserver(fw.Name)
		client, err := mw.New(mw.Config{APIURL: fw.Wiki.APIURL, User: user, Password: password, HTTPClient: hc,
			UserAgent: "wikimod-test/0 (test@example.test)", Observe: observe, Now: opts.Now})
		if err != nil {
			tb.Fatal(err)
		}
		anon, err := mw.New(mw.Config{APIURL: fw.Wiki.APIURL, UserAgent: "wikimod-test/0 (test@example.test)", Observe: observe})
		if err != nil {
			tb.Fatal(err)
		}
		w := &commands.Wiki{Name: fw.Name, Client: client, Reset: anon}
		env.Wikis[fw.Name] = w
		wikis = append(wikis, w)
	}
	env.Bot, env.Anon = wikis[0].Client, wikis[0].Reset
	env.DBPath = filepath.Join(tb.TempDir(), "wikimod.db")
	env.DB, err = storage.Open(env.DBPath, storage.Options{Now: opts.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { env.DB.Close() })
	rules := opts.Rules
	if rules == nil {
		rules = DefaultRules
	}
	extra, onProtect := opts.Extra, opts.OnProtect
	if opts.Extend != nil {
		more, hook := opts.Extend(env)
		extra = append(extra, more...)
		if hook != nil {
			onProtect = hook
		}
	}
	policy, err := commands.NewPolicy(rules)
	if err != nil {
		tb.Fatal(err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	identity := commands.IdentityConfig{RequireLink: opts.RequireLink, RightsTTL: opts.RightsTTL}
	if opts.Linking {
		identity.Links = env.DB
	}
	langs := opts.Languages
	if opts.Preferences {
		langs.Preferences = env.DB
	}
	userLimit := opts.UserLimit
	if userLimit == (commands.UserLimit{}) {
		userLimit.Rate = -1
	}
	env.Service, err = commands.New(commands.Config{
		Wikis: wikis, Routes: opts.Routes, Policy: policy, Identity: identity, Rights: opts.Rights, Audit: env.DB,
		Extra: extra, OnProtect: onProtect, Observe: env.Metrics.ObserveCommand, Now: opts.Now,
		Queue: opts.Queue, Timeout: opts.Timeout, Logger: logger, UserLimit: userLimit, Platforms: Platforms,
		OnRefusal: func(platform, kind, source, detail string) { env.Metrics.SecurityEvent(platform, kind) },
		Languages: langs, Batches: env.DB, BatchLimit: opts.BatchLimit,
	})
	if err != nil {
		tb.Fatal(err)
	}
	// Registered after the database's cleanup, so it runs first: the
	// queue's last audit rows are written before the database closes.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		env.Service.Close(ctx)
	})
	return env
}

// Protections reads a page's protections back from the wiki, as a map from
// type to level.
func (e *Env) Protections(tb testing.TB, title string) map[string]mw.PageProtection {
	tb.Helper()
	ps, err := e.Bot.PageProtections(context.Background(), title)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]mw.PageProtection{}
	for _, p := range ps {
		out[p.Type] = p
	}
	return out
}

// LastAudit returns the newest audit record.
func (e *Env) LastAudit(tb testing.TB) commands.AuditRecord {
	tb.Helper()
	recs, err := e.DB.Audit(context.Background(), storage.AuditFilter{Limit: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if len(recs) == 0 {
		tb.Fatal("audit log is empty")
	}
	return recs[0]
}
