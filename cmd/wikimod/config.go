package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/wikimod/wikimod/commands"
)

// Config is wikimod's configuration file.
type Config struct {
	Wiki      WikiConfig      `toml:"wiki"`
	Storage   StorageConfig   `toml:"storage"`
	HTTP      HTTPConfig      `toml:"http"`
	Commands  CommandsConfig  `toml:"commands"`
	Access    []AccessConfig  `toml:"access"`
	Identity  IdentityConfig  `toml:"identity"`
	Discord   DiscordConfig   `toml:"discord"`
	Slack     SlackConfig     `toml:"slack"`
	Reminders RemindersConfig `toml:"reminders"`
	Log       LogConfig       `toml:"log"`
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
}

// StorageConfig is the [storage] section.
type StorageConfig struct {
	Path string `toml:"path"`
}

// HTTPConfig is the [http] section.
type HTTPConfig struct {
	Listen string `toml:"listen"`
	// AdminListen serves /healthz and /metrics on their own address
	// instead of Listen.
	AdminListen string `toml:"admin_listen"`
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
}

// AccessConfig is one [[access]] rule.
type AccessConfig struct {
	WikiGroups      []string `toml:"wiki_groups"`
	ConsoleUsers    []string `toml:"console_users"`
	DiscordUsers    []string `toml:"discord_users"`
	DiscordRoles    []string `toml:"discord_roles"`
	SlackUsers      []string `toml:"slack_users"`
	SlackUserGroups []string `toml:"slack_usergroups"`
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

// DiscordConfig is the [discord] section.
type DiscordConfig struct {
	Mode          string   `toml:"mode"` // "http" or "gateway"; empty: Discord is off
	ApplicationID string   `toml:"application_id"`
	PublicKey     string   `toml:"public_key"`
	BotToken      string   `toml:"bot_token"` // env WIKIMOD_DISCORD_BOT_TOKEN
	GuildIDs      []string `toml:"guild_ids"`
	NoticeChannel string   `toml:"notice_channel"`
	APIURL        string   `toml:"api_url"`
}

// SlackConfig is the [slack] section.
type SlackConfig struct {
	Mode          string `toml:"mode"`           // "http" or "socket"; empty: Slack is off
	SigningSecret string `toml:"signing_secret"` // env WIKIMOD_SLACK_SIGNING_SECRET
	BotToken      string `toml:"bot_token"`      // env WIKIMOD_SLACK_BOT_TOKEN
	AppToken      string `toml:"app_token"`      // env WIKIMOD_SLACK_APP_TOKEN
	NoticeChannel string `toml:"notice_channel"`
	APIURL        string `toml:"api_url"`
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
	{"WIKIMOD_DISCORD_BOT_TOKEN", func(c *Config) *string { return &c.Discord.BotToken }},
	{"WIKIMOD_SLACK_SIGNING_SECRET", func(c *Config) *string { return &c.Slack.SigningSecret }},
	{"WIKIMOD_SLACK_BOT_TOKEN", func(c *Config) *string { return &c.Slack.BotToken }},
	{"WIKIMOD_SLACK_APP_TOKEN", func(c *Config) *string { return &c.Slack.AppToken }},
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
	if cfg.Storage.Path == "" {
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
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, len(undecoded))
		for i, k := range undecoded {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config %s: unknown key %s (see config.example.toml for the keys wikimod reads)", name, strings.Join(keys, ", "))
	}
	return &cfg, nil
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
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Wiki.APIURL == "" {
		bad("wiki.api_url is empty: set it to the wiki's api.php, e.g. https://wiki.example.org/w/api.php")
	} else if !strings.HasPrefix(c.Wiki.APIURL, "http://") && !strings.HasPrefix(c.Wiki.APIURL, "https://") {
		bad("wiki.api_url %q must start with http:// or https://", c.Wiki.APIURL)
	}
	if c.Wiki.BotUser == "" {
		bad("wiki.bot_user is empty: set it to the bot password's login name, User@AppId, from Special:BotPasswords")
	} else if !strings.Contains(c.Wiki.BotUser, "@") {
		bad("wiki.bot_user %q is not a bot password login name: it has the form User@AppId (Special:BotPasswords)", c.Wiki.BotUser)
	}
	if c.Wiki.BotPassword == "" {
		bad("wiki.bot_password is empty: set the environment variable WIKIMOD_BOT_PASSWORD (or bot_password in [wiki]) to the secret Special:BotPasswords showed")
	}
	if c.Storage.Path == "" {
		bad("storage.path is empty")
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
	}
	if c.HTTP.ShutdownTimeout.Duration <= 0 {
		bad("http.shutdown_timeout must be a positive duration")
	}
	if c.Wiki.MaxConcurrent < 2 || c.Wiki.MaxConcurrent > 32 {
		bad("wiki.max_concurrent %d: use 2 to 32 (one request writes, the others read; MediaWiki asks for a few at a time)", c.Wiki.MaxConcurrent)
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
	switch c.Discord.Mode {
	case "":
	case "http", "gateway":
		if c.Discord.ApplicationID == "" {
			bad("discord.application_id is empty: copy it from the developer portal (General Information)")
		}
		if c.Discord.Mode == "http" && c.Discord.PublicKey == "" {
			bad("discord.public_key is empty: copy the application's Public Key from the developer portal")
		}
		if (c.Discord.Mode == "gateway" || c.Discord.NoticeChannel != "") && c.Discord.BotToken == "" {
			bad("discord.bot_token is empty: set WIKIMOD_DISCORD_BOT_TOKEN (gateway mode and notice_channel need it)")
		}
		if len(c.Discord.GuildIDs) == 0 {
			bad("discord.guild_ids is empty: list the ids of the servers wikimod serves")
		}
	default:
		bad("discord.mode %q: use \"http\" or \"gateway\" (or leave it empty to turn Discord off)", c.Discord.Mode)
	}
	switch c.Slack.Mode {
	case "":
	case "http", "socket":
		if c.Slack.BotToken == "" {
			bad("slack.bot_token is empty: set WIKIMOD_SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...)")
		}
		if c.Slack.Mode == "http" && c.Slack.SigningSecret == "" {
			bad("slack.signing_secret is empty: set WIKIMOD_SLACK_SIGNING_SECRET to the app's Signing Secret (Basic Information)")
		}
		if c.Slack.Mode == "socket" && c.Slack.AppToken == "" {
			bad("slack.app_token is empty: socket mode needs an app-level token (xapp-...) in WIKIMOD_SLACK_APP_TOKEN")
		}
	default:
		bad("slack.mode %q: use \"http\" or \"socket\" (or leave it empty to turn Slack off)", c.Slack.Mode)
	}
	for _, d := range c.Reminders.LeadTimes {
		if d.Duration <= 0 {
			bad("reminders.lead_times: %s is not a positive duration", d)
		}
	}
	if !c.Reminders.Disabled && c.Reminders.SyncInterval.Duration < time.Minute {
		bad("reminders.sync_interval %s is shorter than a minute", c.Reminders.SyncInterval)
	}
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
		out[i] = commands.AccessRule(a)
	}
	return out
}
