package slack

import (
	"maps"
	"slices"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// Settings is the [slack] section of wikimod's config file. The adapter
// owns it: wikimod's config embeds it as it is and asks it to check itself.
type Settings struct {
	Mode          string `toml:"mode"`           // "http" or "socket"; empty: Slack is off
	SigningSecret string `toml:"signing_secret"` // env WIKIMOD_SLACK_SIGNING_SECRET
	BotToken      string `toml:"bot_token"`      // env WIKIMOD_SLACK_BOT_TOKEN
	AppToken      string `toml:"app_token"`      // env WIKIMOD_SLACK_APP_TOKEN
	NoticeChannel string `toml:"notice_channel"`
	APIURL        string `toml:"api_url"`
	// TeamWikis and ChannelWikis name a workspace's and a channel's
	// default wiki, by id.
	TeamWikis    map[string]string `toml:"team_wikis"`
	ChannelWikis map[string]string `toml:"channel_wikis"`
	// ChannelLanguages name a channel's language, by id: what is posted
	// there (announcements, reminders) is in it, and so is what is said
	// to someone there whose own language is not known.
	ChannelLanguages map[string]string `toml:"channel_languages"`
}

// Enabled reports whether the section turns Slack on.
func (s Settings) Enabled() bool { return s.Mode != "" }

// FromEnv takes the secrets the environment sets over the file's.
func (s *Settings) FromEnv(getenv func(string) string) {
	for _, e := range []struct {
		name string
		dst  *string
	}{
		{"WIKIMOD_SLACK_SIGNING_SECRET", &s.SigningSecret},
		{"WIKIMOD_SLACK_BOT_TOKEN", &s.BotToken},
		{"WIKIMOD_SLACK_APP_TOKEN", &s.AppToken},
	} {
		if v := getenv(e.name); v != "" {
			*e.dst = v
		}
	}
}

// Check reports, through bad, each setting that cannot work, saying how to
// set it right.
func (s Settings) Check(bad func(format string, args ...any)) {
	switch s.Mode {
	case "":
	case ModeHTTP, ModeSocket:
		if s.BotToken == "" {
			bad("slack.bot_token is empty: set WIKIMOD_SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...)")
		}
		if s.Mode == ModeHTTP && s.SigningSecret == "" {
			bad("slack.signing_secret is empty: set WIKIMOD_SLACK_SIGNING_SECRET to the app's Signing Secret (Basic Information)")
		}
		if s.Mode == ModeSocket && s.AppToken == "" {
			bad("slack.app_token is empty: socket mode needs an app-level token (xapp-...) in WIKIMOD_SLACK_APP_TOKEN")
		}
	default:
		bad("slack.mode %q: use \"http\" or \"socket\" (or leave it empty to turn Slack off)", s.Mode)
	}
	for _, id := range slices.Sorted(maps.Keys(s.ChannelLanguages)) {
		if code := s.ChannelLanguages[id]; !i18n.Known(i18n.Normalize(code)) {
			bad("slack.channel_languages: %s: %q is not a language code MediaWiki knows; use one such as \"en\", \"zh-hans\" or \"tr\"", id, code)
		}
	}
}

// WikiNames are the section's references to wikis by name, by where they
// are written, for the config to check that each is configured.
func (s Settings) WikiNames() map[string]map[string]string {
	return map[string]map[string]string{"slack.team_wikis": s.TeamWikis, "slack.channel_wikis": s.ChannelWikis}
}

// Routes adds the workspaces' and channels' default wikis.
func (s Settings) Routes(r *commands.Routes) {
	for id, n := range s.ChannelWikis {
		r.Channels[commands.RouteKey(PlatformName, id)] = n
	}
	for id, n := range s.TeamWikis {
		r.Spaces[commands.RouteKey(PlatformName, id)] = n
	}
}

// Languages adds the channels' configured languages.
func (s Settings) Languages(l *commands.LanguageConfig) {
	for id, code := range s.ChannelLanguages {
		l.Channels[commands.RouteKey(PlatformName, id)] = i18n.Normalize(code)
	}
}

// Access is what one [[access]] rule names on Slack: users and user
// groups, by id. Its keys are read from the rule's table, beside the
// rule's own.
type Access struct {
	Users      []string `toml:"slack_users"`
	UserGroups []string `toml:"slack_usergroups"`
}

// Identities are the rule's Slack identities for the domain.
func (a Access) Identities() commands.Identities {
	return commands.Identities{Platform: PlatformName, Users: a.Users, Groups: a.UserGroups}
}
