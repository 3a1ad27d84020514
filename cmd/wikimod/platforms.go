package main

import (
	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/bot/console"
	"github.com/wikimod/wikimod/bot/discord"
	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
)

// platform is one chat platform wikimod serves, as the rest of wikimod
// needs to know it: the domain's data for it, the [[access]] identities
// and default wikis its config section names, where it posts notices,
// and how its adapter is built. The domain (commands) names no platform:
// it reads these.
type platform struct {
	info commands.Platform
	// channels is set where people act in channels worth naming in a
	// reminder ("set by alice on Slack (channel C1)").
	channels bool
	// identities are the users and groups an [[access]] rule names on it.
	identities func(AccessConfig) commands.Identities
	// routes adds its channels' and spaces' default wikis.
	routes func(c *Config, r *commands.Routes)
	// notice is its notice channel ("" for none).
	notice func(c *Config) string
	// adapter builds its adapter when the config turns it on (nil, nil
	// when it does not); nil for the console, which `wikimod console`
	// runs.
	adapter func(a *App) (bot.Adapter, error)
}

// platforms are the chat platforms wikimod serves. Adding one is its
// adapter package and one entry here.
var platforms = []platform{
	{
		info: console.Platform,
		identities: func(r AccessConfig) commands.Identities {
			return commands.Users(console.PlatformName, r.ConsoleUsers...)
		},
	},
	{
		info: discord.Platform, channels: true,
		identities: func(r AccessConfig) commands.Identities {
			return commands.Identities{Platform: discord.PlatformName, Users: r.DiscordUsers, Groups: r.DiscordRoles}
		},
		routes: func(c *Config, r *commands.Routes) {
			for id, n := range c.Discord.ChannelWikis {
				r.Channels[commands.RouteKey(discord.PlatformName, id)] = n
			}
			for id, n := range c.Discord.GuildWikis {
				r.Spaces[commands.RouteKey(discord.PlatformName, id)] = n
			}
		},
		notice:  func(c *Config) string { return c.Discord.NoticeChannel },
		adapter: discordAdapter,
	},
	{
		info: wikislack.Platform, channels: true,
		identities: func(r AccessConfig) commands.Identities {
			return commands.Identities{Platform: wikislack.PlatformName, Users: r.SlackUsers, Groups: r.SlackUserGroups}
		},
		routes: func(c *Config, r *commands.Routes) {
			for id, n := range c.Slack.ChannelWikis {
				r.Channels[commands.RouteKey(wikislack.PlatformName, id)] = n
			}
			for id, n := range c.Slack.TeamWikis {
				r.Spaces[commands.RouteKey(wikislack.PlatformName, id)] = n
			}
		},
		notice:  func(c *Config) string { return c.Slack.NoticeChannel },
		adapter: slackAdapter,
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
