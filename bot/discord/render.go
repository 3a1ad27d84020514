package discord

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// Embed colours by outcome.
const (
	colourOK        = 0x57F287 // green
	colourDenied    = 0xED4245 // red
	colourInvalid   = 0xFEE75C // yellow
	colourWikiError = 0xE67E22 // orange
	colourFailed    = 0x99AAB5 // grey
)

// Discord's limits on embeds and components.
const (
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
	maxFieldName        = 256
	maxFieldValue       = 1024
	maxFields           = 25
	maxCustomID         = 100
	maxButtonLabel      = 80
	maxButtonsPerRow    = 5
	maxRows             = 5
)

// Embed renders a reply as a Discord embed: the title, the explanation, one
// field per row (each protection with its expiry, for /protect), a link to
// the page, and a colour for the outcome.
func Embed(r commands.Reply) *discordgo.MessageEmbed {
	l := localizer(r.Localizer)
	// Discord shows its timestamp markup in an embed's text and fields,
	// not in its title: a time in a title ("expires in 1 hour") is
	// written out, relative to now, in the reader's language.
	plain := r.Localizer
	plain.Time = nil
	e := &discordgo.MessageEmbed{
		Type:        discordgo.EmbedTypeRich,
		Title:       truncate(plain.Text(r.Title), maxEmbedTitle),
		Description: truncate(l.Text(r.Text), maxEmbedDescription),
		URL:         r.URL,
		Color:       colour(r.Outcome),
	}
	if r.Command != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: "wikimod /" + r.Command}
	}
	for i, f := range r.Fields {
		if i == maxFields {
			break
		}
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{
			Name:  truncate(orDash(l.Text(f.Label)), maxFieldName),
			Value: truncate(orDash(l.Text(f.Value)), maxFieldValue),
		})
	}
	if e.Title == "" && e.Description == "" && len(e.Fields) == 0 {
		e.Description = l.T("wikimod-done")
	}
	return e
}

// localizer is l with Discord's way of writing times: a timestamp each
// reader's client shows in their own time zone and language.
func localizer(l i18n.Localizer) i18n.Localizer {
	l.Time = discordTime
	return l
}

// discordTime writes t as Discord's timestamp markup.
func discordTime(t i18n.Time) string {
	style := "f"
	switch t.Style {
	case i18n.TimeRelative:
		style = "R"
	case i18n.TimeDate:
		style = "D"
	}
	return fmt.Sprintf("<t:%d:%s>", t.T.Unix(), style)
}

func colour(o commands.Outcome) int {
	switch o {
	case commands.OutcomeOK, "":
		return colourOK
	case commands.OutcomeDenied:
		return colourDenied
	case commands.OutcomeInvalid:
		return colourInvalid
	case commands.OutcomeWikiError:
		return colourWikiError
	}
	return colourFailed
}

// announcement is the embed posted to the notice channel: the reply, and who
// asked for it, in the words of r's Localizer (the channel's).
func announcement(actor commands.Actor, r commands.Reply) *discordgo.MessageEmbed {
	e := Embed(r)
	if actor.UserID != "" && len(e.Fields) < maxFields {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: r.Localizer.T("wikimod-discord-by"), Value: "<@" + actor.UserID + ">"})
	}
	return e
}

// Buttons renders actions as rows of buttons. Each button's custom_id
// carries the command and its arguments ("wm|reminder|action=extend&id=42"),
// so a press needs no state on the server.
func Buttons(actions []commands.Action, l i18n.Localizer) ([]discordgo.MessageComponent, error) {
	l = localizer(l)
	if len(actions) > maxButtonsPerRow*maxRows {
		return nil, fmt.Errorf("discord: %d actions; a message holds at most %d buttons", len(actions), maxButtonsPerRow*maxRows)
	}
	var rows []discordgo.MessageComponent
	var row discordgo.ActionsRow
	for _, a := range actions {
		id, err := actionID(a)
		if err != nil {
			return nil, err
		}
		style := discordgo.SecondaryButton
		switch a.Style {
		case "primary":
			style = discordgo.PrimaryButton
		case "danger":
			style = discordgo.DangerButton
		}
		row.Components = append(row.Components, discordgo.Button{Label: truncate(l.Text(a.Label), maxButtonLabel), Style: style, CustomID: id})
		if len(row.Components) == maxButtonsPerRow {
			rows = append(rows, row)
			row = discordgo.ActionsRow{}
		}
	}
	if len(row.Components) > 0 {
		rows = append(rows, row)
	}
	return rows, nil
}

const actionPrefix = "wm|"

// actionID encodes an action as a custom_id.
func actionID(a commands.Action) (string, error) {
	v := url.Values{}
	for _, k := range slices.Sorted(maps.Keys(a.Args)) {
		v.Set(k, a.Args[k])
	}
	id := actionPrefix + a.Command + "|" + v.Encode()
	if strings.Contains(a.Command, "|") || a.Command == "" {
		return "", fmt.Errorf("discord: action %q: command name %q cannot go in a button", a.Label, a.Command)
	}
	if len(id) > maxCustomID {
		return "", fmt.Errorf("discord: action %q: command and arguments take %d characters; a button's custom_id holds %d", a.Label, len(id), maxCustomID)
	}
	return id, nil
}

// parseActionID decodes a custom_id made by actionID.
func parseActionID(id string) (command string, args commands.Args, ok bool) {
	rest, found := strings.CutPrefix(id, actionPrefix)
	if !found {
		return "", commands.Args{}, false
	}
	command, query, found := strings.Cut(rest, "|")
	if !found || command == "" {
		return "", commands.Args{}, false
	}
	v, err := url.ParseQuery(query)
	if err != nil {
		return "", commands.Args{}, false
	}
	args = commands.Args{Named: map[string]string{}}
	for k, vals := range v {
		args.Named[k] = vals[0]
	}
	return command, args, true
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
