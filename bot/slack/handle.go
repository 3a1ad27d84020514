package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// The handlers below are shared by HTTP and Socket Mode: each takes what
// Slack sent, starts the work in the background, and returns at once with
// the acknowledgement (nil for an empty one) that Slack must have within
// three seconds.

// ackMessage is the immediate, private answer to a slash command.
type ackMessage struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// helpCommand is the Slack command that runs wikimod's /help: Slack
// workspaces have their own help, so the manifest names it after the app.
const helpCommand = "/wikimod"

// slash handles a slash command. It returns the acknowledgement and a
// function to call once the acknowledgement has gone out.
func (a *Adapter) slash(cmd slack.SlashCommand) (any, func()) {
	command := cmd.Command
	if command == helpCommand {
		command = "/help"
	}
	line := cleanText(command + " " + cmd.Text)
	name, args, parseErr := commands.ParseLine(line)
	if parseErr == nil {
		if cmd.TriggerID != "" && a.wantsProtectForm(name, args) {
			return a.askProtectForm(formRequest{trigger: cmd.TriggerID, user: cmd.UserID, userName: cmd.UserName, team: cmd.TeamID,
				channel: cmd.ChannelID, responseURL: cmd.ResponseURL, wiki: args.Named["wiki"]}), noRelease
		}
		if spec, ok := a.cfg.Service.Spec(name); ok && needsSecret(spec, args) && !missingRequired(spec, args) && cmd.TriggerID != "" {
			return a.askSecret(cmd, spec, args), noRelease
		}
		// The service takes the command as parsed here rather than parse
		// the line again; a line that does not parse goes as typed, for the
		// service to refuse and record.
		line = ""
	}
	to := target{responseURL: cmd.ResponseURL, channel: cmd.ChannelID, user: cmd.UserID}
	act := a.actor(cmd.UserID, cmd.UserName, cmd.TeamID, cmd.ChannelID)
	refusal, ok, release := a.submit(act, line, name, args,
		func(ctx context.Context, r commands.Reply) { a.deliver(ctx, to, r) })
	if !ok {
		return ackMessage{ResponseType: "ephemeral", Text: fallbackText(render(refusal, i18n.Localizer{}))}, noRelease
	}
	working := a.ackLocalizer(act, args.Named["wiki"]).T("wikimod-slack-working", cmd.Command)
	return ackMessage{ResponseType: "ephemeral", Text: escape(working)}, release
}

// ackLocalizeWithin bounds finding the words of an acknowledgement, which
// Slack must have within three seconds of the command.
const ackLocalizeWithin = time.Second

// ackLocalizer renders an acknowledgement for act about the named wiki
// ("" for their channel's) in their language, as the service renders
// their replies, without making the acknowledgement late.
func (a *Adapter) ackLocalizer(act commands.Actor, wiki string) i18n.Localizer {
	ctx, cancel := context.WithTimeout(context.Background(), ackLocalizeWithin)
	defer cancel()
	return a.cfg.Service.ActorLocalizer(ctx, act, wiki)
}

// askSecret opens the modal for the command's secret in the background and
// returns the acknowledgement: none, or a refusal if the adapter is
// closing. It takes cmd apart from slash so that only a command that opens
// a modal is copied to the heap for it.
func (a *Adapter) askSecret(cmd slack.SlashCommand, spec commands.Spec, args commands.Args) any {
	if !a.spawn(func(ctx context.Context) { a.openSecretModal(ctx, cmd, spec, args) }) {
		l := a.ackLocalizer(a.actor(cmd.UserID, cmd.UserName, cmd.TeamID, cmd.ChannelID), args.Named["wiki"])
		return ackMessage{ResponseType: "ephemeral", Text: escape(l.T("wikimod-slack-restarting"))}
	}
	return nil
}

func noRelease() {}

// cleanText undoes what Slack does to typed text: it escapes &, < and >, and
// a client may turn straight double quotes into curly ones, which the
// command grammar would not see as quotes.
func cleanText(s string) string {
	// The replacer copies s even when it finds nothing to replace.
	if !strings.ContainsAny(s, "&\u201c\u201d\u201e") {
		return s
	}
	return typedText.Replace(s)
}

var typedText = strings.NewReplacer(
	"&lt;", "<", "&gt;", ">", "&amp;", "&",
	"\u201c", `"`, "\u201d", `"`, "\u201e", `"`,
)

// needsSecret reports whether the command should ask for its secret in a
// modal: the command has one, it was not typed, and no bare words were
// typed that the command would not take (they may be the password, typed
// without its key; the command refuses them without echoing them).
func needsSecret(spec commands.Spec, args commands.Args) bool {
	return spec.AsksSecret(args) && (len(args.Positional) == 0 || spec.Positional != "")
}

// interaction handles a button press or a modal submission. It returns the
// acknowledgement and a function to call once it has gone out.
func (a *Adapter) interaction(ic slack.InteractionCallback) (any, func()) {
	switch ic.Type {
	case slack.InteractionTypeViewSubmission:
		switch ic.View.CallbackID {
		case secretCallbackID:
			return a.submitSecret(ic), noRelease
		case protectCallbackID:
			return a.submitProtectForm(ic)
		}
	case slack.InteractionTypeBlockActions:
		return nil, a.pressed(ic)
	}
	return nil, noRelease
}

// pressed queues the commands behind wikimod's buttons, as the person who
// pressed them; the replies are private.
func (a *Adapter) pressed(ic slack.InteractionCallback) func() {
	channel := ic.Channel.ID
	if channel == "" {
		channel = ic.Container.ChannelID
	}
	// A press on a message only the presser sees (their own preview or
	// progress) is answered in its place, so that no button is left on
	// it to press again; a press on a message the channel sees is
	// answered privately, beside it.
	to := target{responseURL: ic.ResponseURL, channel: channel, user: ic.User.ID, replace: ic.Container.IsEphemeral}
	deliver := func(ctx context.Context, r commands.Reply) { a.deliver(ctx, to, r) }
	budget := &progressBudget{}
	progress := func(ctx context.Context, r commands.Reply) {
		if budget.take(a.cfg.Now()) {
			a.showProgress(ctx, to, r)
		}
	}
	var releases []func()
	for _, act := range ic.ActionCallback.BlockActions {
		if !strings.HasPrefix(act.ActionID, actionPrefix) {
			continue
		}
		cmd, args, err := decodeButton(act.Value)
		if err != nil {
			a.log.Warn("slack: a button press carried an unreadable value", "action_id", act.ActionID, "err", err)
			continue
		}
		if cmd == protectFormButton {
			fr := formRequest{trigger: ic.TriggerID, user: ic.User.ID, userName: ic.User.Name, team: ic.Team.ID, channel: channel,
				responseURL: ic.ResponseURL, wiki: args.Named["wiki"], title: args.Named["title"]}
			// Closing, nothing can be said: a button's acknowledgement
			// carries no message.
			a.askProtectForm(fr)
			continue
		}
		refusal, ok, release := a.submitShowing(a.actor(ic.User.ID, ic.User.Name, ic.Team.ID, channel), "", cmd, args, deliver, progress)
		if !ok {
			// The acknowledgement of a button carries no message: say it
			// privately instead, beside the message, whose buttons stay
			// to be pressed again.
			beside := to
			beside.replace = false
			a.spawn(func(ctx context.Context) { a.deliver(ctx, beside, refusal) })
			continue
		}
		releases = append(releases, release)
	}
	return func() {
		for _, r := range releases {
			r()
		}
	}
}

// submitSecret runs the command a modal was opened for, with the secret
// typed into it. If the command ends within Config.SubmitWait, a problem with
// the secret is shown in the modal (so it can be fixed there) and anything
// else closes the modal and is posted privately; if it takes longer, the
// modal closes and the reply follows when it is ready.
func (a *Adapter) submitSecret(ic slack.InteractionCallback) any {
	st, err := decodeModalState(ic.View.PrivateMetadata)
	if err != nil {
		a.log.Error("slack: modal submission with unreadable metadata", "err", err)
		return nil
	}
	args := st.args()
	secret := ""
	if ic.View.State != nil {
		secret = ic.View.State.Values[secretBlockID][secretActionID].Value
	}
	if secret != "" {
		args = args.Set(st.Secret, secret)
	}
	to := target{responseURL: st.ResponseURL, channel: st.Channel, user: ic.User.ID}

	// The submission's answer is the acknowledgement: the reply may come
	// back while it is still awaited, and is then shown in the modal when it
	// is about the secret.
	done := make(chan commands.Reply)
	abandoned := make(chan struct{})
	refusal, ok, release := a.submit(a.actor(ic.User.ID, ic.User.Name, ic.Team.ID, st.Channel), "", st.Command, args, func(ctx context.Context, reply commands.Reply) {
		shown := false // in the modal, by the waiting handler
		select {
		case done <- reply:
			shown = secretProblem(reply)
		case <-abandoned:
		}
		if !shown {
			a.deliver(ctx, to, reply)
		}
	})
	if !ok {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{secretBlockID: truncate(fallbackText(render(refusal, i18n.Localizer{})), 1000)})
	}
	release() // the reply may only go to the modal's answer or after it
	timer := time.NewTimer(a.cfg.SubmitWait)
	defer timer.Stop()
	select {
	case reply := <-done:
		if secretProblem(reply) {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{secretBlockID: truncate(render(reply, i18n.Localizer{}).text, 1000)})
		}
		return nil // closes the modal; the reply is delivered after it
	case <-timer.C:
		close(abandoned)
		return nil
	}
}

// secretProblem reports whether a reply refuses the password itself, which
// the person can fix in the modal.
func secretProblem(r commands.Reply) bool {
	if r.Outcome != commands.OutcomeInvalid && r.Outcome != commands.OutcomeWikiError {
		return false
	}
	return r.AboutSecret
}

// target is where a reply goes: the response URL of the command or button,
// or else an ephemeral message to the user in the channel.
type target struct {
	responseURL string
	channel     string
	user        string
	// replace answers through responseURL in place of the message it
	// came from.
	replace bool
}

// deliver posts a reply privately to the person who asked, and announces
// it in the notice channel when the reply is worth announcing.
func (a *Adapter) deliver(ctx context.Context, to target, r commands.Reply) {
	r = a.offerProtectForm(r)
	mine := render(r, i18n.Localizer{})
	blocks := replyBlocks(mine)
	text := fallbackText(mine)
	var err error
	if to.responseURL != "" {
		err = slack.PostWebhookCustomHTTPContext(ctx, to.responseURL, a.cfg.HTTPClient, &slack.WebhookMessage{
			ResponseType:    slack.ResponseTypeEphemeral,
			ReplaceOriginal: to.replace,
			Text:            text,
			Blocks:          &slack.Blocks{BlockSet: blocks},
		})
		if err != nil {
			a.log.Warn("slack: posting to the response URL failed; trying chat.postEphemeral", "command", r.Command, "err", scrubURL(err))
		}
	}
	if (to.responseURL == "" || err != nil) && to.channel != "" {
		_, err = a.api.PostEphemeralContext(ctx, to.channel, to.user, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	}
	if err != nil {
		a.log.Error("slack: could not deliver a reply", "command", r.Command, "user", to.user, "err", scrubURL(err))
	}
	if channel := a.noticeChannel(r.Wiki); r.Announce && channel != "" {
		news := render(r, a.cfg.Service.ChannelLocalizer(ctx, PlatformName, channel, r.Wiki))
		if err := a.postMessage(ctx, channel, fallbackText(news), withFooter(headBlocks(news), news, to.user)); err != nil {
			a.log.Error("slack: could not announce in the notice channel", "command", r.Command, "err", err)
		}
	}
}

// Slack takes at most five posts to one response URL (within 30
// minutes). A press's progress takes at most maxProgressPosts of them,
// each further apart than the one before (progressSpacing, then twice
// that, …), so that a long batch shows how it goes over its whole run and
// its final reply still has a post left.
const (
	maxProgressPosts = 3
	progressSpacing  = 15 * time.Second
)

// progressBudget counts the progress posts of one press.
type progressBudget struct {
	mu    sync.Mutex
	posts int
	last  time.Time
}

// take reports whether a progress post may go at now, and counts it.
func (b *progressBudget) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.posts >= maxProgressPosts || (b.posts > 0 && now.Sub(b.last) < progressSpacing<<(b.posts-1)) {
		return false
	}
	b.posts++
	b.last = now
	return true
}

// showProgress shows how a long command pressed from a message goes (a
// batch of pages): it replaces that message, through the press's response
// URL, each time with the latest.
func (a *Adapter) showProgress(ctx context.Context, to target, r commands.Reply) {
	if to.responseURL == "" {
		return
	}
	mine := render(r, i18n.Localizer{})
	err := slack.PostWebhookCustomHTTPContext(ctx, to.responseURL, a.cfg.HTTPClient, &slack.WebhookMessage{
		ResponseType:    slack.ResponseTypeEphemeral,
		ReplaceOriginal: true,
		Text:            fallbackText(mine),
		Blocks:          &slack.Blocks{BlockSet: replyBlocks(mine)},
	})
	if err != nil {
		a.log.Warn("slack: showing progress failed", "command", r.Command, "err", scrubURL(err))
	}
}

// Notify implements bot.Notifier: it posts the reply, with its Actions as
// buttons, to the notice channel. Without a notice channel it does nothing.
func (a *Adapter) Notify(ctx context.Context, r commands.Reply) error {
	channel := a.noticeChannel(r.Wiki)
	if channel == "" {
		return nil
	}
	for _, act := range r.Actions {
		if _, err := encodeButton(act); err != nil {
			return err
		}
	}
	news := render(r, a.cfg.Service.ChannelLocalizer(ctx, PlatformName, channel, r.Wiki))
	return a.postMessage(ctx, channel, fallbackText(news), replyBlocks(news))
}

// noticeChannel is where notices about the named wiki go ("" for a reply
// about no wiki in particular): its own channel, or the default one.
func (a *Adapter) noticeChannel(wiki string) string {
	if c := a.cfg.WikiNoticeChannels[wiki]; c != "" {
		return c
	}
	return a.cfg.NoticeChannel
}

// postMessage sends a rendered reply (its fallback text and blocks) to a
// channel, as a message everyone there sees.
func (a *Adapter) postMessage(ctx context.Context, channel, text string, blocks []slack.Block) error {
	_, _, err := a.api.PostMessageContext(ctx, channel,
		slack.MsgOptionText(text, false),
		slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionDisableLinkUnfurl())
	if err != nil {
		return fmt.Errorf("slack: chat.postMessage to %s: %w", channel, err)
	}
	return nil
}

// scrubURL drops the URL from an HTTP client error: a response URL is a
// credential for posting into the conversation.
func scrubURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s: %w", uerr.Op, uerr.Err)
	}
	return err
}
