package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/commands"
)

var _ commands.Teller = (*Adapter)(nil)

// TellRequester implements commands.Teller: it posts r in the channel the
// command came from, mentioning to.UserID, with the message's mentions
// limited to that person, so that it reaches them and pings nobody else.
// Discord's private replies need the interaction's token, a credential that
// lives 15 minutes and is not kept; a message in the channel needs only the
// bot token. Where Discord refuses for good (no bot token, the channel is
// gone, the bot may not post in it), the error matches
// commands.ErrUndeliverable.
func (a *Adapter) TellRequester(ctx context.Context, to commands.Actor, r commands.Reply) error {
	if a.cfg.BotToken == "" {
		return fmt.Errorf("discord: no bot token to post with: %w", commands.ErrUndeliverable)
	}
	if to.Channel == "" || to.UserID == "" {
		return fmt.Errorf("discord: no channel or user to tell: %w", commands.ErrUndeliverable)
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	msg := &discordgo.MessageSend{
		Content:         "<@" + to.UserID + ">",
		Embeds:          []*discordgo.MessageEmbed{Embed(r)},
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Users: []string{to.UserID}},
	}
	_, err := a.session.ChannelMessageSendComplex(to.Channel, msg, discordgo.WithContext(ctx))
	if err == nil {
		return nil
	}
	a.countFailure("requester")
	err = fmt.Errorf("discord: tell %s in channel %s: %w", to.UserID, to.Channel, scrub(err))
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		switch re.Response.StatusCode {
		case http.StatusForbidden, http.StatusNotFound:
			return fmt.Errorf("%w (%w)", err, commands.ErrUndeliverable)
		}
	}
	return err
}
