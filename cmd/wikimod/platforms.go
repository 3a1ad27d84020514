package main

import (
	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/bot/console"
	"github.com/wikimod/wikimod/bot/discord"
	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
)

// platform is one chat platform wikimod serves, as the rest of wikimod
// needs to know it: the domain's data for it, its config section, the keys
// its [[access]] rules use, where it posts notices, and how its adapter is
// built. The adapter package owns each of these types; the domain
// (commands) names no platform: it reads these.
type platform struct {
	info commands.Platform
	// channels is set where people act in channels worth naming in a
	// reminder ("set by alice on Slack (channel C1)").
	channels bool
	// settings is its config section, where it has one.
	settings func(c *Config) settings
	// access makes the value an [[access]] rule's keys on it decode into.
	access func() accessKeys
	// notice is its notice channel ("" for none).
	notice func(c *Config) string
	// adapter builds its adapter when the config turns it on (nil, nil
	// when it does not); nil for the console, which `wikimod console`
	// runs.
	adapter func(a *App) (bot.Adapter, error)
}

// settings is what the config asks of a platform's section.
type settings interface {
	// FromEnv takes the secrets the environment sets.
	FromEnv(getenv func(string) string)
	// Check reports each setting that cannot work.
	Check(bad func(format string, args ...any))
	// WikiNames are its references to wikis by name, by where written.
	WikiNames() map[string]map[string]string
	// Routes adds its channels' and spaces' default wikis.
	Routes(r *commands.Routes)
	// Languages adds its channels' configured languages.
	Languages(l *commands.LanguageConfig)
}

// accessKeys are a platform's keys in one [[access]] rule.
type accessKeys interface {
	Identities() commands.Identities
}

// platforms are the chat platforms wikimod serves. Adding one is its
// adapter package, an entry here and its section in Config.
var platforms = []platform{
	{
		info:   console.Platform,
		access: func() accessKeys { return new(console.Access) },
	},
	{
		info: discord.Platform, channels: true,
		settings: func(c *Config) settings { return &c.Discord },
		access:   func() accessKeys { return new(discord.Access) },
		notice:   func(c *Config) string { return c.Discord.NoticeChannel },
		adapter:  discordAdapter,
	},
	{
		info: wikislack.Platform, channels: true,
		settings: func(c *Config) settings { return &c.Slack },
		access:   func() accessKeys { return new(wikislack.Access) },
		notice:   func(c *Config) string { return c.Slack.NoticeChannel },
		adapter:  slackAdapter,
	},
}

// platformInfos are what the command service knows of the platforms.
func platformInfos() []commands.Platform {
	out := make([]commands.Platform, len(platforms))
	for i, p := range platforms {
		out[i] = p.info
	}
	return out
}

// platformByName returns the named platform.
func platformByName(name string) (platform, bool) {
	for _, p := range platforms {
		if p.info.Name == name {
			return p, true
		}
	}
	return platform{}, false
}

// noticePlatforms names the platforms that have notice channels.
func noticePlatforms() []string {
	var out []string
	for _, p := range platforms {
		if p.notice != nil {
			out = append(out, p.info.Name)
		}
	}
	return out
}
