package discord

import (
	"maps"
	"slices"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// Settings is the [discord] section of wikimod's config file. The adapter
// owns it: wikimod's config embeds it as it is and asks it to check itself.
type Settings struct {
	Mode          string   `toml:"mode"` // "http" or "gateway"; empty: Discord is off
	ApplicationID string   `toml:"application_id"`
	PublicKey     string   `toml:"public_key"`
	BotToken      string   `toml:"bot_token"` // env WIKIMOD_DISCORD_BOT_TOKEN
	GuildIDs      []string `toml:"guild_ids"`
	NoticeChannel string   `toml:"notice_channel"`
	APIURL        string   `toml:"api_url"`
	// ShardID and ShardCount open only this process's shard of the gateway
	// (gateway mode, with replicas that each hold their own shards).
	ShardID    int `toml:"shard_id"`
	ShardCount int `toml:"shard_count"`
	// GuildWikis and ChannelWikis name a server's and a channel's default
	// wiki, by id.
	GuildWikis   map[string]string `toml:"guild_wikis"`
	ChannelWikis map[string]string `toml:"channel_wikis"`
	// ChannelLanguages name a channel's language, by id: what is posted
	// there (announcements, reminders) is in it, and so is what is said
	// to someone there whose own language is not known.
	ChannelLanguages map[string]string `toml:"channel_languages"`
}

// Enabled reports whether the section turns Discord on.
func (s Settings) Enabled() bool { return s.Mode != "" }

// FromEnv takes the secrets the environment sets over the file's.
func (s *Settings) FromEnv(getenv func(string) string) {
	if v := getenv("WIKIMOD_DISCORD_BOT_TOKEN"); v != "" {
		s.BotToken = v
	}
}

// Check reports, through bad, each setting that cannot work, saying how to
// set it right.
func (s Settings) Check(bad func(format string, args ...any)) {
	switch s.Mode {
	case "":
	case ModeHTTP, ModeGateway:
		if s.ApplicationID == "" {
			bad("discord.application_id is empty: copy it from the developer portal (General Information)")
		}
		if s.Mode == ModeHTTP && s.PublicKey == "" {
			bad("discord.public_key is empty: copy the application's Public Key from the developer portal")
		}
		if (s.Mode == ModeGateway || s.NoticeChannel != "") && s.BotToken == "" {
			bad("discord.bot_token is empty: set WIKIMOD_DISCORD_BOT_TOKEN (gateway mode and notice_channel need it)")
		}
		if s.ShardCount < 0 || s.ShardID < 0 || (s.ShardCount > 0 && s.ShardID >= s.ShardCount) {
			bad("discord.shard_id %d and shard_count %d: the id is 0 to shard_count-1", s.ShardID, s.ShardCount)
		}
		if len(s.GuildIDs) == 0 {
			bad("discord.guild_ids is empty: list the ids of the servers wikimod serves")
		}
	default:
		bad("discord.mode %q: use \"http\" or \"gateway\" (or leave it empty to turn Discord off)", s.Mode)
	}
	for _, id := range slices.Sorted(maps.Keys(s.ChannelLanguages)) {
		if code := s.ChannelLanguages[id]; !i18n.Known(i18n.Normalize(code)) {
			bad("discord.channel_languages: %s: %q is not a language code MediaWiki knows; use one such as \"en\", \"zh-hans\" or \"tr\"", id, code)
		}
	}
}

// WikiNames are the section's references to wikis by name, by where they
// are written, for the config to check that each is configured.
func (s Settings) WikiNames() map[string]map[string]string {
	return map[string]map[string]string{"discord.guild_wikis": s.GuildWikis, "discord.channel_wikis": s.ChannelWikis}
}

// Routes adds the servers' and channels' default wikis.
func (s Settings) Routes(r *commands.Routes) {
	for id, n := range s.ChannelWikis {
		r.Channels[commands.RouteKey(PlatformName, id)] = n
	}
	for id, n := range s.GuildWikis {
		r.Spaces[commands.RouteKey(PlatformName, id)] = n
	}
}

// Languages adds the channels' configured languages.
func (s Settings) Languages(l *commands.LanguageConfig) {
	for id, code := range s.ChannelLanguages {
		l.Channels[commands.RouteKey(PlatformName, id)] = i18n.Normalize(code)
	}
}

// Access is what one [[access]] rule names on Discord: users and roles, by
// id. Its keys are read from the rule's table, beside the rule's own.
type Access struct {
	Users []string `toml:"discord_users"`
	Roles []string `toml:"discord_roles"`
}

// Identities are the rule's Discord identities for the domain.
func (a Access) Identities() commands.Identities {
	return commands.Identities{Platform: PlatformName, Users: a.Users, Groups: a.Roles}
}
