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
	"github.com/wikimod/wikimod/mw"
)

// ModeratorPermissions is the default_member_permissions of the commands that
// change the wiki: Manage Messages, the bit Discord moderators nearly always
// hold and ordinary members do not. It only decides who sees the commands
// until a server admin changes it (Server Settings → Integrations); the
// permission that counts is wikimod's own [[access]] mapping, checked on
// every use.
const ModeratorPermissions int64 = discordgo.PermissionManageMessages

// ApplicationCommands builds the slash commands for specs. Option names are
// the keys of the text grammar; yes/no parameters are boolean options;
// protection-level parameters offer the wiki's own levels (and "all", which
// lifts a protection) as choices, and are left out for protection types the
// wiki does not have. Secret parameters are never options: wikimod asks for
// them in a modal, which Discord does not show in the channel or keep in the
// command history.
//
// The wiki parameter (there when more than one wiki is configured) offers
// wikis as choices, or, past Discord's 25 choices, suggests them as they are
// typed.
func ApplicationCommands(specs []commands.Spec, r mw.Restrictions, wikis []string) []*discordgo.ApplicationCommand {
	var wikiChoices []*discordgo.ApplicationCommandOptionChoice
	if len(wikis) <= maxChoices {
		for _, w := range wikis {
			wikiChoices = append(wikiChoices, &discordgo.ApplicationCommandOptionChoice{Name: w, Value: w})
		}
	}
	var levels []*discordgo.ApplicationCommandOptionChoice
	for _, l := range r.Levels {
		if l != "" {
			levels = append(levels, &discordgo.ApplicationCommandOptionChoice{Name: l, Value: l})
		}
	}
	levels = append(levels, &discordgo.ApplicationCommandOptionChoice{Name: "all (lift this protection)", Value: "all"})

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
			o := &discordgo.ApplicationCommandOption{
				Type:         discordgo.ApplicationCommandOptionString,
				Name:         p.Name,
				Description:  truncate(cmp.Or(p.Description, p.Name), 100),
				Required:     p.Required,
				Autocomplete: p.Titles, // page titles are suggested from the wiki
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
		c := &discordgo.ApplicationCommand{
			Type:         discordgo.ChatApplicationCommand,
			Name:         sp.Name,
			Description:  truncate(cmp.Or(sp.Summary, sp.Name), 100),
			Options:      opts,
			DMPermission: &noDM,
			Contexts:     &guildOnly,
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
