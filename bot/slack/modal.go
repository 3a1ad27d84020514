package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// The modal that asks for a password that was not typed.
const (
	secretCallbackID = "wikimod-secret"
	secretBlockID    = "secret"
	secretActionID   = "value"
	// maxMetadata is Slack's limit on a view's private_metadata.
	maxMetadata = 3000
)

// modalState travels in the modal's private_metadata from the slash command
// to the submission: the command and what was typed with it (never the
// secret, which was not typed), and where to answer.
type modalState struct {
	Command     string            `json:"c"`
	Secret      string            `json:"s"` // the parameter the modal asks for
	Named       map[string]string `json:"a,omitempty"`
	Positional  []string          `json:"p,omitempty"`
	Channel     string            `json:"ch,omitempty"`
	ResponseURL string            `json:"r,omitempty"`
}

func (st modalState) args() commands.Args {
	named := maps.Clone(st.Named)
	if named == nil {
		named = map[string]string{}
	}
	return commands.Args{Positional: slices.Clone(st.Positional), Named: named}
}

func decodeModalState(s string) (modalState, error) {
	var st modalState
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return st, fmt.Errorf("private_metadata: %w", err)
	}
	if st.Command == "" || st.Secret == "" {
		return st, errors.New("private_metadata: no command")
	}
	return st, nil
}

// missingRequired reports whether a required parameter other than the
// secret is missing. The modal asks only for the secret, so such a command
// is run as typed instead, and its usage error comes back at once.
func missingRequired(spec commands.Spec, args commands.Args) bool {
	for _, p := range spec.Params {
		if !p.Required || p.Secret {
			continue
		}
		if v, _ := args.Get(p.Name); v != "" {
			continue
		}
		if spec.Positional == p.Name && len(args.Positional) > 0 {
			continue
		}
		return true
	}
	return false
}

// openSecretModal opens the modal for a command's secret with the slash
// command's trigger id. If Slack will not open it, the person is told to
// type the secret instead; nothing is run.
func (a *Adapter) openSecretModal(ctx context.Context, cmd slack.SlashCommand, spec commands.Spec, args commands.Args) {
	to := target{responseURL: cmd.ResponseURL, channel: cmd.ChannelID, user: cmd.UserID}
	// Someone who may not run the command is told so at once, not after
	// typing a password into a form.
	act := a.actor(cmd.UserID, cmd.UserName, cmd.TeamID, cmd.ChannelID)
	a.prepareActor(ctx, &act)
	if denial, ok := a.cfg.Service.Authorize(ctx, act, spec.Name, args); !ok {
		a.deliver(ctx, to, denial)
		return
	}
	// The form, and what is said if it cannot be opened, in their
	// language.
	l := a.cfg.Service.ActorLocalizer(ctx, act, args.Named["wiki"])
	st := modalState{
		Command:     spec.Name,
		Secret:      spec.AskSecret,
		Named:       args.Named,
		Positional:  args.Positional,
		Channel:     cmd.ChannelID,
		ResponseURL: cmd.ResponseURL,
	}
	meta, err := json.Marshal(st)
	if err != nil || len(meta) > maxMetadata {
		a.deliver(ctx, to, commands.Reply{Command: spec.Name, Outcome: commands.OutcomeInvalid, Code: "usage",
			Title: i18n.M("wikimod-nothing-done-title"), Text: i18n.M("wikimod-slack-form-too-long-text", spec.AskSecret, spec.Usage),
			Localizer: l})
		return
	}
	if _, err := a.api.OpenViewContext(ctx, cmd.TriggerID, secretView(spec, args, string(meta), l)); err != nil {
		a.log.Error("slack: views.open failed", "command", spec.Name, "err", scrubURL(err))
		a.deliver(ctx, to, commands.Reply{Command: spec.Name, Outcome: commands.OutcomeFailed, Code: "modal-unavailable",
			Title: i18n.M("wikimod-slack-form-unavailable-title"), Text: i18n.M("wikimod-slack-form-unavailable-text", spec.AskSecret, spec.Usage),
			Localizer: l})
	}
}

// secretView is the modal, in l's words: what the command will do, and one
// input for the secret. The input is optional where the command can do
// without it (Spec.SecretMayBeEmpty: /createaccount with an email address,
// where the wiki mails a temporary password).
func secretView(spec commands.Spec, args commands.Args, meta string, l i18n.Localizer) slack.ModalViewRequest {
	l.Time = slackTime
	var b strings.Builder
	fmt.Fprintf(&b, "*/%s*: %s", escape(spec.Name), escape(l.Text(spec.Summary)))
	if spec.Positional != "" && len(args.Positional) > 0 {
		fmt.Fprintf(&b, "\n• %s: %s", escape(spec.Positional), escape(strings.Join(args.Positional, " ")))
	}
	for _, k := range args.Keys() {
		fmt.Fprintf(&b, "\n• %s: %s", escape(k), escape(args.Named[k]))
	}
	p, _ := spec.Param(spec.AskSecret)
	optional := spec.SecretMayBeEmpty(args)
	hint := i18n.M("wikimod-slack-form-hint")
	if email, _ := args.Get("email"); optional && email != "" {
		hint = i18n.Sentences(i18n.M("wikimod-slack-form-hint-email", email), hint)
	}
	input := slack.NewInputBlock(secretBlockID,
		slack.NewTextBlockObject(slack.PlainTextType, truncate(l.Text(commands.SecretLabel(spec.AskSecret)), 2000), false, false),
		slack.NewTextBlockObject(slack.PlainTextType, truncate(l.Text(hint), 2000), false, false),
		slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, truncate(l.Text(p.Description), 150), false, false), secretActionID),
	).WithOptional(optional)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      secretCallbackID,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, truncate("/"+spec.Name, 24), false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, truncate(l.T("wikimod-slack-form-submit"), 24), false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, truncate(l.T("wikimod-slack-form-cancel"), 24), false, false),
		PrivateMetadata: meta,
		Blocks:          slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(mrkdwn(truncate(b.String(), maxSectionText)), nil, nil), input}},
	}
}
