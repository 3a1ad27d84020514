package discord

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// ModeratorPermissions is the default_member_permissions of the commands that
// change the wiki: Manage Messages, the bit Discord moderators nearly always
// hold and ordinary members do not. It only decides who sees the commands
// until a server admin changes it (Server Settings → Integrations); the
// permission that counts is wikimod's own [[access]] mapping, checked on
// every use.
const ModeratorPermissions int64 = discordgo.PermissionManageMessages

// Words are the languages commands are registered in: English, which
// Discord shows wherever no localization applies, and the others wikimod
// ships a catalogue for, each carried in the localizations of the Discord
// locales whose readers read it (i18n.DiscordLocales). Each Localizer
// should have the wiki's words in its language, which name the protection
// levels; without them the levels are named by their codes.
type Words struct {
	English i18n.Localizer
	Others  []i18n.Localizer
}

// say renders a text in English, cut to limit, and in every other
// language, by Discord locale (nil when there are none).
func (w Words) say(limit int, text func(l i18n.Localizer) string) (string, map[discordgo.Locale]string) {
	en := truncate(text(w.English), limit)
	var out map[discordgo.Locale]string
	for _, l := range w.Others {
		t := truncate(text(l), limit)
		if t == "" {
			continue
		}
		for _, loc := range i18n.DiscordLocales(i18n.Normalize(l.Lang)) {
			if out == nil {
				out = map[discordgo.Locale]string{}
			}
			out[discordgo.Locale(loc)] = t
		}
	}
	return en, out
}

// levelChoice names a protection level ("" lifts a protection, typed
// "all") among an option's choices: in the wiki's words with its code, or
// by its code alone where l has no words of the wiki.
func levelChoice(l i18n.Localizer, level string) string {
	if l.Wiki == nil {
		return cmp.Or(level, "all")
	}
	return l.Text(commands.LevelName(level))
}

// ApplicationCommands builds the slash commands for specs, in words's
// languages: names stay as they are typed (the text grammar's keys), and
// descriptions and choices are in English with a localization for each
// Discord locale of the other languages. Yes/no parameters are boolean
// options; protection-level parameters offer the wiki's own levels (and
// "all", which lifts a protection) as choices, named in the wiki's words,
// and are left out for protection types the wiki does not have. Secret
// parameters are never options: wikimod asks for them in a modal, which
// Discord does not show in the channel or keep in the command history.
//
// The wiki parameter (there when more than one wiki is configured) offers
// wikis as choices, or, past Discord's 25 choices, suggests them as they are
// typed.
func ApplicationCommands(specs []commands.Spec, r mw.Restrictions, wikis []string, words Words) []*discordgo.ApplicationCommand {
	var wikiChoices []*discordgo.ApplicationCommandOptionChoice
	if len(wikis) <= maxChoices {
		for _, w := range wikis {
			wikiChoices = append(wikiChoices, &discordgo.ApplicationCommandOptionChoice{Name: w, Value: w})
		}
	}
	var levels []*discordgo.ApplicationCommandOptionChoice
	for _, l := range append(slices.DeleteFunc(slices.Clone(r.Levels), func(l string) bool { return l == "" }), "") {
		name, names := words.say(100, func(loc i18n.Localizer) string { return levelChoice(loc, l) })
		levels = append(levels, &discordgo.ApplicationCommandOptionChoice{Name: name, NameLocalizations: names, Value: cmp.Or(l, "all")})
	}

	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	noDM := false
	var out []*discordgo.ApplicationCommand
	for _, sp := range specs {
		if sp.ButtonOnly {
			continue // run by buttons, never typed
		}
		// Parameters typed in text only are not options (/protect's
		// pageid: its title is a required option on Discord, which makes
		// the id, an alternative to it, unusable there).
		dropped := map[string]bool{}
		for _, p := range sp.Params {
			if p.TextOnly {
				dropped[p.Name] = true
			}
		}
		for _, p := range sp.Params {
			if p.Levels && len(r.Types) > 0 && !slices.Contains(r.Types, p.Name) {
				dropped[p.Name] = true
				dropped[p.Name+"_expiry"] = true
			}
		}
		var opts []*discordgo.ApplicationCommandOption
		for _, p := range sp.Params {
			if p.Secret || dropped[p.Name] {
				continue
			}
			desc, descs := words.say(100, func(l i18n.Localizer) string { return cmp.Or(l.Text(p.Description), p.Name) })
			o := &discordgo.ApplicationCommandOption{
				Type:                     discordgo.ApplicationCommandOptionString,
				Name:                     p.Name,
				Description:              desc,
				DescriptionLocalizations: descs,
				Required:                 p.Required,
				// Page titles are suggested from the wiki, and so are its own
				// expiries and reasons; anything else may still be typed.
				Autocomplete: p.Titles || commands.WikiChoices(sp.Name, p.Name) != commands.NoChoices,
			}
			switch {
			case p.Flag:
				o.Type = discordgo.ApplicationCommandOptionBoolean
			case p.Levels:
				o.Choices = levels
			case p.Wiki:
				o.Choices = wikiChoices
				o.Autocomplete = wikiChoices == nil
			}
			opts = append(opts, o)
		}
		// Discord wants required options first; the wiki comes next, so
		// that it is never what the limit of 25 cuts.
		rank := func(o *discordgo.ApplicationCommandOption) int {
			switch {
			case o.Required:
				return 0
			case o.Name == "wiki":
				return 1
			}
			return 2
		}
		slices.SortStableFunc(opts, func(a, b *discordgo.ApplicationCommandOption) int { return rank(a) - rank(b) })
		if len(opts) > maxChoices {
			opts = opts[:maxChoices]
		}
		desc, descs := words.say(100, func(l i18n.Localizer) string { return cmp.Or(l.Text(sp.Summary), sp.Name) })
		c := &discordgo.ApplicationCommand{
			Type:         discordgo.ChatApplicationCommand,
			Name:         sp.Name,
			Description:  desc,
			Options:      opts,
			DMPermission: &noDM,
			Contexts:     &guildOnly,
		}
		if descs != nil {
			c.DescriptionLocalizations = &descs
		}
		if sp.Right != "" && sp.Right != mw.RightRead {
			perm := ModeratorPermissions
			c.DefaultMemberPermissions = &perm
		}
		out = append(out, c)
	}
	return out
}

// maxChoices is Discord's limit on a command's options and on an option's
// choices.
const maxChoices = 25

// RegisterConfig says where to register commands.
type RegisterConfig struct {
	ApplicationID string
	BotToken      string
	// GuildID registers the commands in one server, where they appear at
	// once; empty registers them globally, in every server the application
	// is in.
	GuildID string
	// APIURL reaches a proxy or a test server instead of Discord.
	APIURL     string
	HTTPClient *http.Client
}

// Register replaces the application's commands with cmds (a bulk
// overwrite), so running it again is safe: commands not in cmds are
// removed, the others updated in place. It returns the commands as Discord
// now has them.
func Register(ctx context.Context, cfg RegisterConfig, cmds []*discordgo.ApplicationCommand) ([]*discordgo.ApplicationCommand, error) {
	if cfg.ApplicationID == "" {
		return nil, errors.New("discord: register: application_id is empty: copy it from the developer portal (General Information)")
	}
	if cfg.BotToken == "" {
		return nil, errors.New("discord: register: no bot token: set WIKIMOD_DISCORD_BOT_TOKEN (or bot_token in [discord]) to the token from the developer portal (Bot)")
	}
	s, err := newSession(cfg.BotToken, cfg.APIURL, cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	where := "globally"
	if cfg.GuildID != "" {
		where = "in guild " + cfg.GuildID
	}
	got, err := s.ApplicationCommandBulkOverwrite(cfg.ApplicationID, cfg.GuildID, cmds, discordgo.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("discord: register %s: %w", where, explainREST(scrub(err)))
	}
	return got, nil
}

// explainREST adds what to do to the REST errors a wrong setup causes.
func explainREST(err error) error {
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		return err
	}
	switch re.Response.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w (the bot token is wrong: copy it again from the developer portal, Bot → Reset Token)", err)
	case http.StatusForbidden:
		return fmt.Errorf("%w (the application is not in that server with the applications.commands scope: invite it with the URL in docs/discord.md)", err)
	case http.StatusNotFound:
		return fmt.Errorf("%w (no such application or server: check application_id and the guild id)", err)
	}
	if strings.TrimSpace(string(re.ResponseBody)) == "" {
		return fmt.Errorf("%w (HTTP %d)", err, re.Response.StatusCode)
	}
	return err
}
