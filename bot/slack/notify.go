package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

var _ commands.Teller = (*Adapter)(nil)

// TellRequester implements commands.Teller: it posts r as an ephemeral
// message (chat.postEphemeral) that only to.UserID sees, in the channel
// their command came from. It needs no response URL, which would be a
// credential to keep and is dead after 30 minutes anyway, only the bot
// token. Where Slack refuses for good (the channel is gone or archived,
// the person is not in it or has left the workspace, the bot may not post
// there), the error matches commands.ErrUndeliverable.
func (a *Adapter) TellRequester(ctx context.Context, to commands.Actor, r commands.Reply) error {
	if to.Channel == "" || to.UserID == "" {
		return fmt.Errorf("slack: no channel or user to tell: %w", commands.ErrUndeliverable)
	}
	mine := render(r, i18n.Localizer{})
	_, err := a.api.PostEphemeralContext(ctx, to.Channel, to.UserID,
		slack.MsgOptionText(fallbackText(mine), false), slack.MsgOptionBlocks(replyBlocks(mine)...))
	if err == nil {
		return nil
	}
	err = scrubURL(err)
	var serr slack.SlackErrorResponse
	if errors.As(err, &serr) && undeliverable[serr.Err] {
		return fmt.Errorf("slack: chat.postEphemeral to %s in %s: %w (%w)", to.UserID, to.Channel, err, commands.ErrUndeliverable)
	}
	return fmt.Errorf("slack: chat.postEphemeral to %s in %s: %w", to.UserID, to.Channel, err)
}

// undeliverable are the errors of chat.postEphemeral that trying again
// cannot cure.
var undeliverable = map[string]bool{
	"channel_not_found":     true,
	"is_archived":           true,
	"not_in_channel":        true,
	"user_not_in_channel":   true,
	"user_not_found":        true,
	"account_inactive":      true,
	"restricted_action":     true,
	"messages_tab_disabled": true,
	"cannot_dm_bot":         true,
}
