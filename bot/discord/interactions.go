package discord

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// maxBody bounds an interaction request's body.
const maxBody = 1 << 20

// formPrefix starts the custom_id of wikimod's modals.
const formPrefix = "wm-form|"

// ServeHTTP is the interactions endpoint. A request whose signature does not
// verify against the application's public key, whose timestamp is stale, or
// that repeats an interaction already seen, gets 401 and runs nothing.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	sig, ts := r.Header.Get("X-Signature-Ed25519"), r.Header.Get("X-Signature-Timestamp")
	if sig == "" || ts == "" {
		a.refuse(w, r, KindMissingSignature, "no X-Signature-Ed25519 or X-Signature-Timestamp header")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !discordgo.VerifyInteraction(r, a.key) {
		a.refuse(w, r, KindBadSignature, "the signature does not verify against the application's public key")
		return
	}
	// discordgo checks the signature over timestamp+body but not the
	// timestamp's age: a captured request would verify forever.
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		a.refuse(w, r, KindStaleTimestamp, "the timestamp is not a number")
		return
	}
	now := a.cfg.Now()
	if skew := now.Sub(time.Unix(secs, 0)); skew > a.cfg.MaxSkew || skew < -a.cfg.MaxSkew {
		a.refuse(w, r, KindStaleTimestamp, fmt.Sprintf("the timestamp is %s from this server's clock", skew.Round(time.Second)))
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		http.Error(w, "not an interaction", http.StatusBadRequest)
		return
	}
	if i.Type != discordgo.InteractionPing {
		// The record of interactions taken outlives a restart and expires
		// when the timestamp check would refuse the request anyway.
		first, err := a.cfg.Replays.FirstSeen(r.Context(), PlatformName, i.ID, time.Unix(secs, 0).Add(a.cfg.MaxSkew+time.Minute))
		if err != nil {
			a.log.Error("discord: cannot check for a replay; refusing the interaction", "err", err)
			http.Error(w, "cannot take interactions right now", http.StatusServiceUnavailable)
			return
		}
		if !first {
			a.refuse(w, r, KindReplay, "interaction "+i.ID+" was already received")
			return
		}
	}
	if a.closing() {
		// Discord shows the member that the interaction failed, rather than
		// a response that never gets its result.
		http.Error(w, "wikimod is shutting down", http.StatusServiceUnavailable)
		return
	}
	resp, release := a.handle(r.Context(), &i)
	if release != nil {
		defer release()
	}
	b, err := json.Marshal(resp)
	if err != nil {
		a.log.Error("discord: encode response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	a.observeAck(i.Type, time.Since(start))
}

// refuse answers 401 and reports the security event. It is not logged
// here: OnSecurityEvent counts refusals and logs them at a bounded rate.
func (a *Adapter) refuse(w http.ResponseWriter, r *http.Request, kind, detail string) {
	a.security(r.Context(), kind, r.RemoteAddr, detail)
	http.Error(w, "invalid request signature", http.StatusUnauthorized)
}

func (a *Adapter) security(ctx context.Context, kind, remote, detail string) {
	if a.cfg.OnSecurityEvent != nil {
		a.cfg.OnSecurityEvent(context.WithoutCancel(ctx), kind, remote, detail)
	}
}

func (a *Adapter) observeAck(t discordgo.InteractionType, d time.Duration) {
	if a.cfg.Metrics != nil {
		a.cfg.Metrics.AckSeconds.WithLabelValues(t.String()).Observe(d.Seconds())
	}
}

// gatewayInteraction handles an INTERACTION_CREATE from the gateway: the
// same decisions as the HTTP endpoint, with the first response sent by a
// REST call instead of in the HTTP answer.
func (a *Adapter) gatewayInteraction(i *discordgo.Interaction) {
	if i == nil || i.Type == discordgo.InteractionPing || a.closing() {
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), discordgo.InteractionDeadline)
	defer cancel()
	resp, release := a.handle(ctx, i)
	if release != nil {
		defer release()
	}
	if err := a.session.InteractionRespond(i, resp, discordgo.WithContext(ctx)); err != nil {
		a.countFailure("response")
		a.log.Warn("discord: cannot respond to an interaction", "interaction", i.ID, "err", scrub(err))
		return
	}
	a.observeAck(i.Type, time.Since(start))
}

func (a *Adapter) closing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// handle decides the first response to an interaction, and returns a
// function to call once that response is sent (nil if none): a queued
// command's result is delivered only after it.
func (a *Adapter) handle(ctx context.Context, i *discordgo.Interaction) (*discordgo.InteractionResponse, func()) {
	switch i.Type {
	case discordgo.InteractionPing:
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}, nil
	case discordgo.InteractionApplicationCommandAutocomplete:
		// Suggestions are for members of served guilds only; anyone else
		// gets none, without a message each keystroke.
		actor, ok := a.actor(i)
		if !ok {
			return suggestions(nil), nil
		}
		return a.autocomplete(ctx, i, actor), nil
	case discordgo.InteractionApplicationCommand, discordgo.InteractionModalSubmit, discordgo.InteractionMessageComponent:
	default:
		return message(platformLocalizer(i).T("wikimod-discord-unknown-interaction")), nil
	}
	actor, ok := a.actor(i)
	if !ok {
		// Nobody wikimod serves: their own language is what Discord says
		// it is, without asking the service about them.
		l := platformLocalizer(i)
		what := a.describe(i)
		if i.GuildID == "" {
			a.security(ctx, KindDirectMessage, "", fmt.Sprintf("%s by user %s in a direct message", what, actor.UserID))
			return message(l.T("wikimod-discord-direct-message")), nil
		}
		if a.serves(i.GuildID) {
			// A served guild, but no member (or no user) came with it:
			// Discord always sends both for a guild interaction, so the
			// interaction is malformed, not the server unserved.
			a.security(ctx, KindNoMember, "", fmt.Sprintf("%s in guild %s without a member", what, i.GuildID))
			return message(l.T("wikimod-discord-no-member")), nil
		}
		a.security(ctx, KindUnservedGuild, "", fmt.Sprintf("%s by user %s in guild %s", what, actor.UserID, i.GuildID))
		return message(l.T("wikimod-discord-unserved-guild", i.GuildID)), nil
	}
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		return a.command(ctx, i, actor)
	case discordgo.InteractionModalSubmit:
		return a.modalSubmit(ctx, i, actor)
	default:
		return a.component(ctx, i, actor)
	}
}

// platformLocalizer renders for the person behind an interaction in the
// language their Discord client is set to, for what is said before (or
// instead of) knowing them as an actor.
func platformLocalizer(i *discordgo.Interaction) i18n.Localizer {
	return localizer(i18n.Localizer{Lang: i18n.FromDiscord(string(i.Locale))})
}

// actorLocalizer renders what the adapter itself says to actor about the
// named wiki ("" for their channel's), as the service renders their
// replies.
func (a *Adapter) actorLocalizer(ctx context.Context, actor commands.Actor, wiki string) i18n.Localizer {
	return localizer(a.cfg.Service.ActorLocalizer(ctx, actor, wiki))
}

// autocomplete suggests page titles from the wiki for the option being
// typed, when the command's spec marks it as a title.
func (a *Adapter) autocomplete(ctx context.Context, i *discordgo.Interaction, actor commands.Actor) *discordgo.InteractionResponse {
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return suggestions(nil)
	}
	spec, known := a.cfg.Service.Spec(data.Name)
	wiki := "" // the wiki chosen so far in the form, if any
	for _, o := range data.Options {
		if v, ok := o.Value.(string); ok && o.Name == "wiki" && !o.Focused {
			wiki = v
		}
	}
	for _, o := range data.Options {
		if !o.Focused {
			continue
		}
		p, ok := spec.Param(o.Name)
		prefix, _ := o.Value.(string)
		if known && ok && p.Wiki {
			return suggestions(matchingWikis(a.cfg.Service.Wikis(), prefix))
		}
		if !known || !ok {
			break
		}
		// Discord waits three seconds for the answer.
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if cs, ok := a.cfg.Service.(choiceSuggester); ok && commands.WikiChoices(spec.Name, p.Name) != commands.NoChoices {
			return choiceSuggestions(cs.SuggestChoices(ctx, actor, wiki, spec.Name, p.Name, prefix, maxChoices))
		}
		if !p.Titles {
			break
		}
		return suggestions(a.cfg.Service.SuggestTitles(ctx, actor, wiki, prefix, 25))
	}
	return suggestions(nil)
}

// choiceSuggester is the service's ability to offer the wiki's own choices
// for a parameter (commands.Service.SuggestChoices); a service without it
// offers none, and the member types the value.
type choiceSuggester interface {
	SuggestChoices(ctx context.Context, actor commands.Actor, wiki, command, param, typed string, limit int) []commands.Choice
}

// choiceSuggestions is an autocomplete answer offering the wiki's own
// choices (an expiry, a reason), each shown in the wiki's words and sending
// its value. A value past Discord's 100 characters cannot be offered (the
// member's own text is still sent as typed); a label past them is cut.
func choiceSuggestions(cs []commands.Choice) *discordgo.InteractionResponse {
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	for _, c := range cs {
		if c.Value == "" || utf8.RuneCountInString(c.Value) > 100 {
			continue
		}
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: truncate(cmp.Or(c.Label, c.Value), 100), Value: c.Value})
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices}}
}

// matchingWikis are the wiki names that contain what was typed, at most
// Discord's 25.
func matchingWikis(wikis []string, typed string) []string {
	typed = strings.ToLower(strings.TrimSpace(typed))
	var out []string
	for _, w := range wikis {
		if strings.Contains(strings.ToLower(w), typed) {
			if out = append(out, w); len(out) == maxChoices {
				break
			}
		}
	}
	return out
}

// suggestions is an autocomplete answer offering titles or wiki names.
func suggestions(titles []string) *discordgo.InteractionResponse {
	choices := []*discordgo.ApplicationCommandOptionChoice{}
	for _, t := range titles {
		if len(t) <= 100 { // Discord's limit for a choice
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: t, Value: t})
		}
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices}}
}

// actor returns who sent the interaction, and false when it did not come
// from a member of a served guild.
func (a *Adapter) actor(i *discordgo.Interaction) (commands.Actor, bool) {
	act := commands.Actor{Platform: PlatformName, Space: i.GuildID, Channel: i.ChannelID, Locale: i18n.FromDiscord(string(i.Locale))}
	var u *discordgo.User
	if i.Member != nil {
		u = i.Member.User
		act.Roles = i.Member.Roles
	}
	if u == nil {
		u = i.User
	}
	if u != nil {
		act.UserID = u.ID
		act.UserName = u.Username
		if u.GlobalName != "" {
			act.UserName = u.GlobalName
		}
	}
	if i.Member != nil && i.Member.Nick != "" {
		act.UserName = i.Member.Nick
	}
	ok := a.serves(i.GuildID) && i.Member != nil && act.UserID != ""
	return act, ok
}

// describe names an interaction for logs and security events.
func (a *Adapter) describe(i *discordgo.Interaction) string {
	switch d := i.Data.(type) {
	case discordgo.ApplicationCommandInteractionData:
		return "/" + d.Name
	case discordgo.ModalSubmitInteractionData:
		return "a form"
	case discordgo.MessageComponentInteractionData:
		return "a button"
	}
	return "an interaction"
}

// command handles a slash command: a modal when the command needs a secret
// that was not given, otherwise a deferred ephemeral response and the
// command run in the background.
func (a *Adapter) command(ctx context.Context, i *discordgo.Interaction, actor commands.Actor) (*discordgo.InteractionResponse, func()) {
	data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return message(a.actorLocalizer(ctx, actor, "").T("wikimod-discord-no-data")), nil
	}
	args := optionArgs(data.Options)
	if spec, known := a.cfg.Service.Spec(data.Name); known && spec.AsksSecret(args) {
		// Someone who may not run the command is told so at once,
		// not after typing a password into a form.
		if denial, ok := a.cfg.Service.Authorize(ctx, actor, spec.Name, args); !ok {
			return message(denial.Plain(localizer(denial.Localizer))), nil
		}
		return a.askSecret(ctx, actor, spec, args), nil
	}
	return a.runLater(ctx, i, actor, data.Name, args)
}

// optionArgs turns slash-command options into Args with the text grammar's
// keys: strings as typed, booleans as "true"/"false".
func optionArgs(opts []*discordgo.ApplicationCommandInteractionDataOption) commands.Args {
	args := commands.Args{Named: map[string]string{}}
	for _, o := range opts {
		switch v := o.Value.(type) {
		case string:
			args.Named[o.Name] = v
		case bool:
			args.Named[o.Name] = strconv.FormatBool(v)
		case float64:
			args.Named[o.Name] = strconv.FormatFloat(v, 'f', -1, 64)
		case nil:
		default:
			args.Named[o.Name] = fmt.Sprint(v)
		}
	}
	return args
}

// askSecret answers with a modal asking for the spec's secret parameter,
// in the actor's language. The other options wait in the form store under
// a random id, for FormTTL.
func (a *Adapter) askSecret(ctx context.Context, actor commands.Actor, spec commands.Spec, args commands.Args) *discordgo.InteractionResponse {
	p, _ := spec.Param(spec.AskSecret)
	wiki, _ := args.Get("wiki")
	l := a.actorLocalizer(ctx, actor, wiki)
	id := newFormID()
	f := PendingForm{UserID: actor.UserID, Command: spec.Name, Args: args, Secret: p.Name}
	if err := a.cfg.Forms.PutForm(ctx, id, f, a.cfg.Now().Add(a.cfg.FormTTL)); err != nil {
		a.log.Error("discord: cannot keep a form; asking to type the value instead", "command", spec.Name, "err", err)
		return message(l.T("wikimod-discord-form-unavailable"))
	}
	// The same rule as every platform's form: /createaccount's password
	// may be left empty only with an email address to mail one to.
	required := !spec.SecretMayBeEmpty(args)
	label := commands.SecretLabel(p.Name)
	if !required {
		label = i18n.M("wikimod-form-optional", label)
	}
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseModal,
		Data: &discordgo.InteractionResponseData{
			CustomID: formPrefix + id,
			Title:    truncate("/"+spec.Name, 45),
			Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.TextInput{
					CustomID:    p.Name,
					Label:       truncate(l.Text(label), 45),
					Style:       discordgo.TextInputShort,
					Placeholder: truncate(l.Text(p.Description), 100),
					Required:    required,
					MaxLength:   1000,
				},
			}}},
		},
	}
}

// modalSubmit runs the command a modal was opened for, with the secret typed
// into it.
func (a *Adapter) modalSubmit(ctx context.Context, i *discordgo.Interaction, actor commands.Actor) (*discordgo.InteractionResponse, func()) {
	data, _ := i.Data.(discordgo.ModalSubmitInteractionData)
	id, ok := strings.CutPrefix(data.CustomID, formPrefix)
	if !ok {
		return message(a.actorLocalizer(ctx, actor, "").T("wikimod-discord-form-foreign")), nil
	}
	f, ok, owner, err := a.cfg.Forms.TakeForm(ctx, id, actor.UserID, a.cfg.Now())
	if err != nil {
		a.log.Error("discord: cannot read a form", "err", err)
		return message(a.actorLocalizer(ctx, actor, "").T("wikimod-discord-form-unreadable")), nil
	}
	if !ok {
		return message(a.actorLocalizer(ctx, actor, "").T("wikimod-discord-form-expired", i18n.Duration(a.cfg.FormTTL))), nil
	}
	if !owner {
		// The form stays for the person who opened it.
		return message(a.actorLocalizer(ctx, actor, "").T("wikimod-discord-form-not-yours")), nil
	}
	args := commands.Args{Positional: f.Args.Positional, Named: maps.Clone(f.Args.Named)}
	if args.Named == nil {
		args.Named = map[string]string{}
	}
	if v := textInput(data.Components, f.Secret); v != "" {
		args.Named[f.Secret] = v
	}
	return a.runLater(ctx, i, actor, f.Command, args)
}

// textInput finds a text input's value among a modal's components.
func textInput(components []discordgo.MessageComponent, customID string) string {
	for _, c := range components {
		switch c := c.(type) {
		case *discordgo.ActionsRow:
			if v := textInput(c.Components, customID); v != "" {
				return v
			}
		case *discordgo.TextInput:
			if c.CustomID == customID {
				return c.Value
			}
		}
	}
	return ""
}

// component runs the command behind a button of a notice, as the person who
// pressed it.
func (a *Adapter) component(ctx context.Context, i *discordgo.Interaction, actor commands.Actor) (*discordgo.InteractionResponse, func()) {
	data, _ := i.Data.(discordgo.MessageComponentInteractionData)
	name, args, ok := parseActionID(data.CustomID)
	if !ok {
		return message(a.actorLocalizer(ctx, actor, "").T("wikimod-discord-button-unknown")), nil
	}
	return a.runLater(ctx, i, actor, name, args)
}

// runLater queues the command and acknowledges at once with a deferred
// ephemeral response (the user sees "thinking…"); when the command has run,
// its reply replaces that response. Results worth announcing also go to the
// notice channel. If the queue does not take the command, the refusal is
// the response.
func (a *Adapter) runLater(ctx context.Context, i *discordgo.Interaction, actor commands.Actor, name string, args commands.Args) (*discordgo.InteractionResponse, func()) {
	if a.closing() {
		return message(a.actorLocalizer(ctx, actor, args.Named["wiki"]).T("wikimod-discord-stopping")), nil
	}
	it := *i
	if it.AppID == "" {
		it.AppID = a.cfg.ApplicationID
	}
	// The result edits the deferred response, so it waits for that to be
	// sent (Acked).
	acked := make(chan struct{})
	refusal, ok := a.cfg.Service.Submit(a.ctx, commands.Job{
		Actor:        actor,
		Name:         name,
		Args:         args,
		AnswerWithin: tokenLife,
		Acked:        acked,
		// A long command's progress replaces the deferred response, as
		// its final reply does in turn.
		Progress: func(ctx context.Context, reply commands.Reply) { a.editOriginal(ctx, &it, reply) },
		Deliver: func(ctx context.Context, reply commands.Reply) {
			a.editOriginal(ctx, &it, reply)
			if channel := a.noticeChannel(reply.Wiki); reply.Announce && channel != "" {
				news := reply
				news.Localizer = a.cfg.Service.ChannelLocalizer(ctx, PlatformName, channel, reply.Wiki)
				msg := &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{announcement(actor, news)}}
				if err := a.post(ctx, channel, msg, "announcement"); err != nil {
					a.log.Warn("discord: announcement not posted", "command", reply.Command, "err", err)
				}
			}
		},
	})
	if !ok {
		return message(refusal.Plain(localizer(refusal.Localizer))), nil
	}
	ack := &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	}
	if ownMessage(i) {
		// A button on a message only the presser sees (their batch's
		// preview or progress) is answered in its place: the edits that
		// follow replace that message, buttons and all, so that none is
		// left to press again.
		ack = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}
	}
	return ack, sync.OnceFunc(func() { close(acked) })
}

// ownMessage reports whether i is a press of a button on an ephemeral
// message, which only the presser sees.
func ownMessage(i *discordgo.Interaction) bool {
	return i.Type == discordgo.InteractionMessageComponent && i.Message != nil && i.Message.Flags&discordgo.MessageFlagsEphemeral != 0
}

// tokenLife is how long Discord takes follow-ups with an interaction's token.
const tokenLife = 15 * time.Minute

// editOriginal replaces the deferred response with the reply.
func (a *Adapter) editOriginal(ctx context.Context, i *discordgo.Interaction, reply commands.Reply) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	embeds := []*discordgo.MessageEmbed{Embed(reply)}
	// The reply's buttons (a batch's Confirm and Cancel, or Stop while it
	// runs); none clears those an earlier edit showed.
	buttons, err := Buttons(reply.Actions, localizer(reply.Localizer))
	if err != nil {
		a.log.Warn("discord: a reply's buttons left out", "command", reply.Command, "err", err)
	}
	buttons = append([]discordgo.MessageComponent{}, buttons...)
	edit := &discordgo.WebhookEdit{Embeds: &embeds, Components: &buttons, AllowedMentions: &discordgo.MessageAllowedMentions{}}
	if _, err := a.session.InteractionResponseEdit(i, edit, discordgo.WithContext(ctx)); err != nil {
		a.countFailure("result")
		a.log.Warn("discord: cannot post a result", "command", reply.Command, "outcome", reply.Outcome, "interaction", i.ID, "err", explainREST(scrub(err)))
	}
}

// message is an immediate ephemeral text response.
func message(text string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: text, Flags: discordgo.MessageFlagsEphemeral,
			AllowedMentions: &discordgo.MessageAllowedMentions{}},
	}
}
