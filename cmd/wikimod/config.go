package main

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/wikimod/wikimod/bot/console"
	"github.com/wikimod/wikimod/bot/discord"
	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// Config is wikimod's configuration file.
type Config struct {
	// Wiki is the one wiki of a single-wiki config (named "default");
	// Wikis are the wikis of a farm, by name. A config has one or the
	// other: Farm returns them as one list.
	Wiki      WikiConfig            `toml:"wiki"`
	Wikis     map[string]WikiConfig `toml:"wikis"`
	Storage   StorageConfig         `toml:"storage"`
	HTTP      HTTPConfig            `toml:"http"`
	Commands  CommandsConfig        `toml:"commands"`
	Access    []AccessConfig        `toml:"-"`
	RawAccess []toml.Primitive      `toml:"access"`
	Identity  IdentityConfig        `toml:"identity"`
	Discord   discord.Settings      `toml:"discord"`
	Slack     wikislack.Settings    `toml:"slack"`
	Reminders RemindersConfig       `toml:"reminders"`
	Alerts    AlertsConfig          `toml:"alerts"` // alerts.go
	Log       LogConfig             `toml:"log"`
}

// WikiConfig is the [wiki] section.
type WikiConfig struct {
	APIURL      string `toml:"api_url"`
	BotUser     string `toml:"bot_user"`
	BotPassword string `toml:"bot_password"` // env WIKIMOD_BOT_PASSWORD
	Contact     string `toml:"contact"`
	// ResetWithBotSession runs /resetpassword in the bot's session instead of
	// an anonymous one; only useful on wikis that give a grant editmyprivateinfo.
	ResetWithBotSession bool     `toml:"reset_with_bot_session"`
	Timeout             Duration `toml:"timeout"`
	MaxLag              int      `toml:"maxlag"`
	// MaxConcurrent bounds the requests wikimod has in flight to the wiki,
	// and so the commands that run at once (writes always run one at a
	// time).
	MaxConcurrent int `toml:"max_concurrent"`
	// NoticeChannels are this wiki's notice channels by platform
	// ("discord", "slack"); a platform not named uses its notice_channel.
	NoticeChannels map[string]string `toml:"notice_channels"`
	// Rights overrides, on this wiki, the right a command needs (over
	// [commands.rights]).
	Rights map[string]string `toml:"rights"`
	// Reminders limits, on this wiki, the pages whose protections are
	// tracked (over [reminders] namespaces and pages).
	Reminders *WikiRemindersConfig `toml:"reminders"`
	// Alerts are this wiki's alert rules, over [alerts] (alerts.go).
	Alerts *AlertRules `toml:"alerts"`
	// Language is the language of this wiki's channels, a MediaWiki code
	// ("zh-hans"), where the wiki's content language is not the one its
	// moderators read; a channel's channel_languages and each person's
	// own language come first.
	Language string `toml:"language"`
}

// WikiRemindersConfig is a wiki's [wikis.NAME.reminders] section.
type WikiRemindersConfig struct {
	Namespaces []int    `toml:"namespaces"`
	Pages      []string `toml:"pages"`
}

// NamedWiki is one wiki of the config with its name and its defaults
// filled in.
type NamedWiki struct {
	Name string
	WikiConfig
}

// StorageConfig is the [storage] section.
type StorageConfig struct {
	// Driver is "sqlite" (the default: one machine) or "postgres" (what
	// replicas share).
	Driver string `toml:"driver"`
	// Path is the SQLite database file.
	Path string `toml:"path"`
	// DSN is the PostgreSQL connection string (postgres://...); the
	// environment variable WIKIMOD_STORAGE_DSN overrides it.
	DSN string `toml:"dsn"`
}

// HTTPConfig is the [http] section.
type HTTPConfig struct {
	Listen string `toml:"listen"`
	// AdminListen serves /healthz and /metrics on their own address
	// instead of Listen.
	AdminListen string `toml:"admin_listen"`
	// Profiling serves Go's profiles at /debug/pprof/ on AdminListen, for
	// finding where the bot's CPU and memory go.
	Profiling bool `toml:"profiling"`
	// ShutdownTimeout bounds stopping: requests and commands in flight get
	// this long, then are cut short and answered "stopped".
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
}

// CommandsConfig is the [commands] section.
type CommandsConfig struct {
	// Rights overrides the wiki right each command needs.
	Rights  map[string]string `toml:"rights"`
	Timeout Duration          `toml:"timeout"`
	// QueueSize bounds the commands waiting for the wiki; MaxWait is how
	// long one may wait for its turn before it is refused.
	QueueSize int      `toml:"queue_size"`
	MaxWait   Duration `toml:"max_wait"`
	// Workers bounds the commands running at once over every wiki. Zero
	// means the wiki's max_concurrent with one wiki, 32 with several.
	Workers int `toml:"workers"`
	// UserRate bounds the commands one chat user gives on one wiki, a
	// minute on average (zero: 30; negative: no limit), and UserBurst how
	// many at once (zero: 10).
	UserRate  int `toml:"user_rate"`
	UserBurst int `toml:"user_burst"`
	// BatchLimit bounds the pages one /protect takes at once (titles=,
	// category=, prefix=). Zero means 100.
	BatchLimit int `toml:"batch_limit"`
}

// AccessConfig is one [[access]] rule.
type AccessConfig struct {
	// Wikis limits the rule to these wikis; empty means every wiki.
	Wikis      []string `toml:"wikis"`
	WikiGroups []string `toml:"wiki_groups"`
	// Identities are the chat users and groups the rule names, one entry
	// per platform that names any. Each platform's keys (console_users,
	// discord_roles, slack_users, …) are its adapter's (its Access type),
	// read from the same table.
	Identities []commands.Identities `toml:"-"`
}

// IdentityConfig is the [identity] section: chat users linked to wiki
// accounts, whose rights are then read from the wiki.
type IdentityConfig struct {
	// Linking offers /link, /unlink and /whoami, and gives linked people
	// their wiki account's rights.
	Linking bool `toml:"linking"`
	// RequireLink refuses everything that needs a right to people who have
	// not linked: the [[access]] rules then grant nothing.
	RequireLink bool `toml:"require_link"`
	// RightsTTL bounds how long a linked account's groups are trusted
	// before the wiki is asked again.
	RightsTTL Duration `toml:"rights_ttl"`
}

// RemindersConfig is the [reminders] section.
type RemindersConfig struct {
	LeadTimes    []Duration `toml:"lead_times"`
	SyncInterval Duration   `toml:"sync_interval"`
	Namespaces   []int      `toml:"namespaces"`
	Pages        []string   `toml:"pages"`
	Disabled     bool       `toml:"disabled"`
}

// LogConfig is the [log] section.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text or json
}

// Duration is a time.Duration written as "90s", "15m", "24h" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (use forms like 90s, 15m, 24h)", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// defaults returns a config with every default filled in.
func defaults() Config {
	return Config{
		Storage:  StorageConfig{Path: "wikimod.db"},
		HTTP:     HTTPConfig{Listen: "127.0.0.1:8080", ShutdownTimeout: Duration{10 * time.Second}},
		Commands: CommandsConfig{Timeout: Duration{30 * time.Second}, QueueSize: 10000, MaxWait: Duration{10 * time.Minute}},
		Wiki:     WikiConfig{Timeout: Duration{30 * time.Second}, MaxLag: 5, MaxConcurrent: 4},
		Reminders: RemindersConfig{
			LeadTimes:    []Duration{{24 * time.Hour}, {time.Hour}},
			SyncInterval: Duration{15 * time.Minute},
		},
		Identity: IdentityConfig{Linking: true, RightsTTL: Duration{time.Minute}},
		Log:      LogConfig{Level: "info", Format: "text"},
	}
}

// secretEnv names the environment variables that override secrets.
var secretEnv = []struct {
	name string
	dst  func(*Config) *string
}{
	{"WIKIMOD_BOT_PASSWORD", func(c *Config) *string { return &c.Wiki.BotPassword }},
	{"WIKIMOD_STORAGE_DSN", func(c *Config) *string { return &c.Storage.DSN }},
}

// LoadConfig reads and checks a config file. Secrets in the environment
// override the file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(string(b), path)
}

// LoadStorageConfig reads a config file for the subcommands that need only
// its [storage] section (wikimod audit): nothing else in it needs to be
// complete, and no secret needs to be set.
func LoadStorageConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := decodeConfig(string(b), path)
	if err != nil {
		return nil, err
	}
	if v := os.Getenv("WIKIMOD_STORAGE_DSN"); v != "" {
		cfg.Storage.DSN = v
	}
	switch {
	case cfg.Storage.Driver == driverPostgres && cfg.Storage.DSN == "":
		return nil, fmt.Errorf("config %s: storage.dsn is empty (or set WIKIMOD_STORAGE_DSN)", path)
	case cfg.Storage.Driver != driverPostgres && cfg.Storage.Path == "":
		return nil, fmt.Errorf("config %s: storage.path is empty", path)
	}
	return cfg, nil
}

// decodeConfig parses config text onto the defaults, refusing unknown keys.
func decodeConfig(text, name string) (*Config, error) {
	cfg := defaults()
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if md.IsDefined("wiki") && md.IsDefined("wikis") {
		return nil, fmt.Errorf("config %s: it has both [wiki] and [wikis.NAME] sections: use [wiki] for one wiki, or [wikis.NAME] for each of several (move [wiki] to [wikis.default] to keep its data under the same name)", name)
	}
	if md.IsDefined("wikis") {
		cfg.Wiki = WikiConfig{}
	}
	if err := cfg.decodeAccess(md); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, len(undecoded))
		for i, k := range undecoded {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config %s: unknown key %s (see config.example.toml for the keys wikimod reads)", name, strings.Join(keys, ", "))
	}
	return &cfg, nil
}

// decodeAccess reads the [[access]] rules: the rule's own keys, then each
// platform's, through the platform's own Access type.
func (c *Config) decodeAccess(md toml.MetaData) error {
	c.Access = make([]AccessConfig, len(c.RawAccess))
	for i, raw := range c.RawAccess {
		a := &c.Access[i]
		if err := md.PrimitiveDecode(raw, a); err != nil {
			return fmt.Errorf("access rule %d: %w", i+1, err)
		}
		for _, p := range platforms {
			if p.access == nil {
				continue
			}
			keys := p.access()
			if err := md.PrimitiveDecode(raw, keys); err != nil {
				return fmt.Errorf("access rule %d: %w", i+1, err)
			}
			if id := keys.Identities(); len(id.Users)+len(id.Groups) > 0 {
				a.Identities = append(a.Identities, id)
			}
		}
	}
	return nil
}

// ParseConfig parses and checks config text; name is used in messages.
func ParseConfig(text, name string) (*Config, error) {
	parsed, err := decodeConfig(text, name)
	if err != nil {
		return nil, err
	}
	cfg := *parsed
	for _, e := range secretEnv {
		if v := os.Getenv(e.name); v != "" {
			*e.dst(&cfg) = v
		}
	}
	for _, p := range platforms {
		if p.settings != nil {
			p.settings(&cfg).FromEnv(os.Getenv)
		}
	}
	for n, w := range cfg.Wikis {
		if v := os.Getenv(BotPasswordEnv(n)); v != "" {
			w.BotPassword = v
			cfg.Wikis[n] = w
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return &cfg, nil
}

// Farm returns the configured wikis, sorted by name, with their defaults
// filled in: the [wiki] section as the one wiki "default", or each
// [wikis.NAME].
func (c *Config) Farm() []NamedWiki {
	if len(c.Wikis) == 0 {
		return []NamedWiki{{Name: commands.DefaultWiki, WikiConfig: c.Wiki}}
	}
	d := defaults().Wiki
	out := make([]NamedWiki, 0, len(c.Wikis))
	for _, n := range slices.Sorted(maps.Keys(c.Wikis)) {
		w := c.Wikis[n]
		if w.Timeout.Duration == 0 {
			w.Timeout = d.Timeout
		}
		if w.MaxLag == 0 {
			w.MaxLag = d.MaxLag
		}
		if w.MaxConcurrent == 0 {
			w.MaxConcurrent = d.MaxConcurrent
		}
		out = append(out, NamedWiki{Name: n, WikiConfig: w})
	}
	return out
}

// BotPasswordEnv names the environment variable that holds the bot
// password of [wikis.NAME]: WIKIMOD_BOT_PASSWORD_ and the name in upper
// case, with - as _.
func BotPasswordEnv(name string) string {
	return "WIKIMOD_BOT_PASSWORD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// wikiNameRE is what a wiki's name may be: it goes into commands, metrics
// labels and environment variable names.
var wikiNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	farm := c.Farm()
	names := map[string]bool{}
	for _, w := range farm {
		names[w.Name] = true
		section, env := "wiki", "WIKIMOD_BOT_PASSWORD"
		if len(c.Wikis) > 0 {
			section, env = "wikis."+w.Name, BotPasswordEnv(w.Name)
			if !wikiNameRE.MatchString(w.Name) {
				bad("[wikis.%s]: a wiki's name is 1 to 40 lower-case letters, digits, - and _, starting with a letter or digit", w.Name)
			}
		}
		if w.APIURL == "" {
			bad("%s.api_url is empty: set it to the wiki's api.php, e.g. https://wiki.example.org/w/api.php", section)
		} else if !strings.HasPrefix(w.APIURL, "http://") && !strings.HasPrefix(w.APIURL, "https://") {
			bad("%s.api_url %q must start with http:// or https://", section, w.APIURL)
		}
		if w.BotUser == "" {
			bad("%s.bot_user is empty: set it to the bot password's login name, User@AppId, from Special:BotPasswords", section)
		} else if !strings.Contains(w.BotUser, "@") {
			bad("%s.bot_user %q is not a bot password login name: it has the form User@AppId (Special:BotPasswords)", section, w.BotUser)
		}
		if w.BotPassword == "" {
			bad("%s.bot_password is empty: set the environment variable %s (or bot_password in [%s]) to the secret Special:BotPasswords showed", section, env, section)
		}
		if w.MaxConcurrent < 2 || w.MaxConcurrent > 32 {
			bad("%s.max_concurrent %d: use 2 to 32 (one request writes, the others read; MediaWiki asks for a few at a time)", section, w.MaxConcurrent)
		}
		if w.Language != "" && !i18n.Known(i18n.Normalize(w.Language)) {
			bad("%s.language %q is not a language code MediaWiki knows; use one such as \"en\", \"zh-hans\" or \"tr\"", section, w.Language)
		}
		for p := range w.NoticeChannels {
			if pl, ok := platformByName(p); !ok || pl.notice == nil {
				bad("%s.notice_channels: %q is not a platform with channels; use %s", section, p, strings.Join(noticePlatforms(), " or "))
			}
		}
	}
	known := func(where string, m map[string]string) {
		for id, n := range m {
			if !names[n] {
				bad("%s: %s names the wiki %q, which is not configured (wikis: %s)", where, id, n, strings.Join(slices.Sorted(maps.Keys(names)), ", "))
			}
		}
	}
	for _, p := range platforms {
		if p.settings != nil {
			for where, m := range p.settings(c).WikiNames() {
				known(where, m)
			}
		}
	}
	for i, a := range c.Access {
		for _, n := range a.Wikis {
			if !names[n] {
				bad("access rule %d: wikis names %q, which is not configured", i+1, n)
			}
		}
	}
	if c.Commands.Workers < 0 {
		bad("commands.workers %d: must be positive (or left out)", c.Commands.Workers)
	}
	switch c.Storage.Driver {
	case "", driverSQLite:
		if c.Storage.Path == "" {
			bad("storage.path is empty: name the SQLite database file")
		}
	case driverPostgres:
		if c.Storage.DSN == "" {
			bad("storage.dsn is empty: set WIKIMOD_STORAGE_DSN (or dsn in [storage]) to the PostgreSQL connection string, postgres://USER@HOST/DATABASE")
		}
	default:
		bad("storage.driver %q: use %q (one machine) or %q (replicas)", c.Storage.Driver, driverSQLite, driverPostgres)
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen %q is not host:port", c.HTTP.Listen)
	}
	if c.HTTP.AdminListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.AdminListen); err != nil {
			bad("http.admin_listen %q is not host:port", c.HTTP.AdminListen)
		} else if c.HTTP.AdminListen == c.HTTP.Listen {
			bad("http.admin_listen is the same address as http.listen; leave it out to serve /healthz and /metrics there")
		}
	} else if c.HTTP.Profiling {
		bad("http.profiling needs http.admin_listen: profiles are served only on the admin address, never where Slack and Discord reach")
	}
	if c.HTTP.ShutdownTimeout.Duration <= 0 {
		bad("http.shutdown_timeout must be a positive duration")
	}
	if c.Commands.QueueSize < 1 {
		bad("commands.queue_size %d: must be at least 1", c.Commands.QueueSize)
	}
	if c.Commands.MaxWait.Duration <= 0 {
		bad("commands.max_wait must be a positive duration")
	}
	for i, a := range c.Access {
		if len(a.WikiGroups) == 0 {
			bad("access rule %d: wiki_groups is empty", i+1)
		}
	}
	if c.Identity.RequireLink && !c.Identity.Linking {
		bad("identity.require_link is true but identity.linking is false: nobody could link, so nobody could do anything; turn linking on")
	}
	if c.Identity.RightsTTL.Duration <= 0 || c.Identity.RightsTTL.Duration > time.Hour {
		bad("identity.rights_ttl %s: use a positive duration of at most an hour (a demotion on the wiki reaches chat within it)", c.Identity.RightsTTL)
	}
	for _, p := range platforms {
		if p.settings != nil {
			p.settings(c).Check(bad)
		}
	}
	for _, d := range c.Reminders.LeadTimes {
		if d.Duration <= 0 {
			bad("reminders.lead_times: %s is not a positive duration", d)
		}
	}
	if !c.Reminders.Disabled && c.Reminders.SyncInterval.Duration < time.Minute {
		bad("reminders.sync_interval %s is shorter than a minute", c.Reminders.SyncInterval)
	}
	c.validateAlerts(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: use debug, info, warn or error", c.Log.Level)
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		bad("log.format %q: use text or json", c.Log.Format)
	}
	return errors.Join(errs...)
}

// accessRules converts the [[access]] rules.
func (c *Config) accessRules() []commands.AccessRule {
	out := make([]commands.AccessRule, len(c.Access))
	for i, a := range c.Access {
		out[i] = commands.AccessRule{Wikis: a.Wikis, WikiGroups: a.WikiGroups, Identities: a.Identities}
	}
	return out
}

// routes are the default wikis of channels and servers.
func (c *Config) routes(consoleWiki string) commands.Routes {
	r := commands.Routes{Channels: map[string]string{}, Spaces: map[string]string{}, Platforms: map[string]string{}}
	if consoleWiki != "" {
		r.Platforms[console.PlatformName] = consoleWiki
	}
	for _, p := range platforms {
		if p.settings != nil {
			p.settings(c).Routes(&r)
		}
	}
	return r
}

// languages are the channels' and wikis' configured languages, and where
// people's own choices (/language) are kept.
func (c *Config) languages(prefs commands.PreferenceStore) commands.LanguageConfig {
	l := commands.LanguageConfig{Channels: map[string]string{}, Wikis: map[string]string{}, Preferences: prefs}
	for _, w := range c.Farm() {
		if w.Language != "" {
			l.Wikis[w.Name] = i18n.Normalize(w.Language)
		}
	}
	for _, p := range platforms {
		if p.settings != nil {
			p.settings(c).Languages(&l)
		}
	}
	return l
}

// noticeChannels are the wikis' own notice channels on a platform, by wiki
// name.
func (c *Config) noticeChannels(platform string) map[string]string {
	out := map[string]string{}
	for _, w := range c.Farm() {
		if ch := w.NoticeChannels[platform]; ch != "" {
			out[w.Name] = ch
		}
	}
	return out
}
