package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// The form that changes a page's protection with the wiki's own choices:
// opened by the button under /protect TITLE's view of a page, or by
// /protect alone (which asks for the page too). What it sends runs as a
// typed /protect, as the person who submitted it.
const (
	protectCallbackID = "wikimod-protect"
	// protectFormButton is the Action.Command of the button that opens the
	// form: the adapter opens it rather than run a command.
	protectFormButton = "wikimod-protect-form"

	formPageBlock       = "protect-page"
	formLevelBlock      = "protect-level-" // and the type
	formExpiryBlock     = "protect-expiry"
	formExpiryTextBlock = "protect-expiry-text"
	formReasonBlock     = "protect-reason"
	formReasonTextBlock = "protect-reason-text"
	formCascadeBlock    = "protect-cascade"
	formAction          = "value"
	// otherExpiry is the expiry choice that means "the one typed below",
	// as MediaWiki's own form names it.
	otherExpiry = "othertime"
	cascadeOn   = "cascade"

	// Block Kit's limits on a select: its options, and each option's
	// text and value.
	maxOptions     = 100
	maxOptionText  = 75
	maxOptionValue = 150
)

// protectFormer is the service's ability to say what the form offers
// (commands.Service.ProtectForm); a service without it offers no form.
type protectFormer interface {
	ProtectForm(ctx context.Context, actor commands.Actor, wiki, title string) (commands.ProtectForm, commands.Reply, bool)
}

// protectFormState travels in the form's private_metadata: the page and
// its protection when the form was opened (so that only what the person
// changed is sent), and where to answer.
type protectFormState struct {
	Wiki string `json:"w"`
	Page string `json:"t,omitempty"` // "" when the form asks for it
	// Types are the restriction types the form offers, in its order.
	Types []string `json:"y"`
	// Levels and Expiries are the page's protection by type when the form
	// was opened ("" none); nil for a form that asks for the page.
	Levels      map[string]string `json:"l,omitempty"`
	Expiries    map[string]string `json:"e,omitempty"`
	Cascade     bool              `json:"k,omitempty"`
	Channel     string            `json:"ch,omitempty"`
	ResponseURL string            `json:"r,omitempty"`
}

// formRequest is who asked for a form, where, and about which page.
type formRequest struct {
	trigger, user, userName, team, channel, responseURL string
	wiki, title                                         string
}

// offerProtectForm adds the button that opens the form to a reply showing
// a page's protection (commands.ViewedPage).
func (a *Adapter) offerProtectForm(r commands.Reply) commands.Reply {
	if _, ok := a.cfg.Service.(protectFormer); !ok {
		return r
	}
	page, ok := commands.ViewedPage(r)
	if !ok {
		return r
	}
	args := map[string]string{"title": page}
	if r.Wiki != "" {
		args["wiki"] = r.Wiki
	}
	r.Actions = append(slices.Clone(r.Actions), commands.Action{Label: i18n.M("wikimod-slack-protect-form-button"), Command: protectFormButton, Args: args})
	return r
}

// wantsProtectForm reports whether a typed command is /protect with
// nothing to protect (at most the wiki named): Slack opens the form
// instead, where a platform without forms says how to write the command.
func (a *Adapter) wantsProtectForm(name string, args commands.Args) bool {
	if _, ok := a.cfg.Service.(protectFormer); !ok || len(args.Positional) > 0 {
		return false
	}
	if spec, ok := a.cfg.Service.Spec(name); !ok || spec.Name != commands.ProtectCommand {
		return false
	}
	for _, k := range args.Keys() {
		if k != "wiki" {
			return false
		}
	}
	return true
}

// askProtectForm opens the form in the background and returns the
// acknowledgement: none, or a refusal if the adapter is closing.
func (a *Adapter) askProtectForm(fr formRequest) any {
	if !a.spawn(func(ctx context.Context) { a.openProtectForm(ctx, fr) }) {
		l := a.ackLocalizer(a.actor(fr.user, fr.userName, fr.team, fr.channel), fr.wiki)
		return ackMessage{ResponseType: "ephemeral", Text: escape(l.T("wikimod-slack-restarting"))}
	}
	return nil
}

// openProtectForm opens the form with the trigger id of the command or
// button. Someone who may not protect is told so at once (and audited)
// rather than after filling it in; if the form cannot be made or Slack
// will not open it, the person is told so and nothing is run.
func (a *Adapter) openProtectForm(ctx context.Context, fr formRequest) {
	to := target{responseURL: fr.responseURL, channel: fr.channel, user: fr.user}
	act := a.actor(fr.user, fr.userName, fr.team, fr.channel)
	a.prepareActor(ctx, &act)
	args := commands.Args{Named: map[string]string{}}
	if fr.title != "" {
		args.Named["title"] = fr.title
	}
	if fr.wiki != "" {
		args.Named["wiki"] = fr.wiki
	}
	if denial, ok := a.cfg.Service.Authorize(ctx, act, commands.ProtectCommand, args); !ok {
		a.deliver(ctx, to, denial)
		return
	}
	former, _ := a.cfg.Service.(protectFormer)
	form, refusal, ok := former.ProtectForm(ctx, act, fr.wiki, fr.title)
	if !ok {
		a.deliver(ctx, to, refusal)
		return
	}
	spec, _ := a.cfg.Service.Spec(commands.ProtectCommand)
	unavailable := commands.Reply{Command: commands.ProtectCommand, Outcome: commands.OutcomeFailed, Code: "modal-unavailable",
		Title: i18n.M("wikimod-slack-form-unavailable-title"), Text: i18n.M("wikimod-slack-protect-form-unavailable-text", spec.Usage),
		Localizer: form.Localizer}
	st := protectFormState{Wiki: form.Wiki, Page: form.Page, Cascade: form.Cascade, Channel: fr.channel, ResponseURL: fr.responseURL}
	for _, p := range form.Types {
		st.Types = append(st.Types, p.Type)
	}
	if form.Page != "" {
		st.Levels, st.Expiries = map[string]string{}, map[string]string{}
		for _, p := range form.Types {
			st.Levels[p.Type], st.Expiries[p.Type] = p.Level, p.Expiry
		}
	}
	meta, err := json.Marshal(st)
	if err != nil || len(meta) > maxMetadata {
		a.log.Error("slack: the protect form's state does not fit its metadata", "bytes", len(meta), "err", err)
		a.deliver(ctx, to, unavailable)
		return
	}
	if _, err := a.api.OpenViewContext(ctx, fr.trigger, protectView(form, string(meta))); err != nil {
		a.log.Error("slack: views.open failed", "command", commands.ProtectCommand, "err", scrubURL(err))
		a.deliver(ctx, to, unavailable)
	}
}

// protectView is the form, in the reader's words: the page (or an input
// for it), a select of the wiki's levels for each type the page can take,
// set to the level it has now; the wiki's expiries and an input for
// another; the wiki's reasons and an input for one's own; and cascading
// where the wiki allows it.
func protectView(form commands.ProtectForm, meta string) slack.ModalViewRequest {
	l := form.Localizer
	plain := func(s string, n int) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, truncate(s, n), false, false)
	}
	var blocks []slack.Block
	if form.Page != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(escape(l.T("wikimod-slack-protect-form-intro", form.Page)), maxSectionText)), nil, nil))
	} else {
		blocks = append(blocks,
			slack.NewSectionBlock(mrkdwn(truncate(escape(l.T("wikimod-slack-protect-form-intro-page")), maxSectionText)), nil, nil),
			slack.NewInputBlock(formPageBlock, plain(l.T("wikimod-slack-protect-form-page"), 2000), nil,
				slack.NewPlainTextInputBlockElement(plain(l.T("wikimod-slack-protect-form-page-placeholder"), 150), formAction)))
	}

	levels := make([]*slack.OptionBlockObject, 0, len(form.Levels))
	byLevel := map[string]*slack.OptionBlockObject{}
	for _, level := range form.Levels {
		value := formLevel(level)
		o := slack.NewOptionBlockObject(value, plain(l.Text(commands.LevelName(level)), maxOptionText), nil)
		levels = append(levels, o)
		byLevel[value] = o
	}
	for _, p := range form.Types {
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(l.T("wikimod-slack-protect-form-level-placeholder"), 150), formAction, levels...)
		if form.Page != "" {
			sel = sel.WithInitialOption(byLevel[formLevel(p.Level)])
		}
		// Optional: a form that asks for the page leaves a type not chosen
		// as it is.
		blocks = append(blocks, slack.NewInputBlock(formLevelBlock+p.Type, plain(l.Text(commands.TypeName(p.Type)), 2000), nil, sel).WithOptional(true))
	}

	// The wiki's expiries, and one that says "typed below".
	expiries := wikiOptions(slices.DeleteFunc(slices.Clone(form.Expiries), func(c commands.Choice) bool { return c.Value == otherExpiry }), maxOptions-1)
	other := slack.NewOptionBlockObject(otherExpiry, plain(l.T("wikimod-slack-protect-form-expiry-other"), maxOptionText), nil)
	expiries = append(expiries, other)
	blocks = append(blocks,
		slack.NewInputBlock(formExpiryBlock, plain(l.T("wikimod-slack-protect-form-expiry"), 2000), plain(l.T("wikimod-slack-protect-form-expiry-hint"), 2000),
			slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(l.T("wikimod-slack-protect-form-expiry-placeholder"), 150), formAction, expiries...)).WithOptional(true),
		slack.NewInputBlock(formExpiryTextBlock, plain(l.T("wikimod-slack-protect-form-expiry-text"), 2000), nil,
			slack.NewPlainTextInputBlockElement(plain(l.T("wikimod-slack-protect-form-expiry-text-placeholder"), 150), formAction)).WithOptional(true))

	if reasons := reasonSelect(form.Reasons, l); reasons != nil {
		blocks = append(blocks, slack.NewInputBlock(formReasonBlock, plain(l.T("wikimod-slack-protect-form-reason"), 2000), nil, reasons).WithOptional(true))
	}
	blocks = append(blocks, slack.NewInputBlock(formReasonTextBlock, plain(l.T("wikimod-slack-protect-form-reason-text"), 2000), nil,
		slack.NewPlainTextInputBlockElement(plain(l.T("wikimod-slack-protect-form-reason-text-placeholder"), 150), formAction)).WithOptional(true))

	if form.CanCascade {
		on := slack.NewOptionBlockObject(cascadeOn, plain(l.Text(commands.CascadeLabel()), maxOptionText), nil)
		box := slack.NewCheckboxGroupsBlockElement(formAction, on)
		if form.Cascade {
			box.InitialOptions = []*slack.OptionBlockObject{on}
		}
		blocks = append(blocks, slack.NewInputBlock(formCascadeBlock, plain(l.T("wikimod-slack-protect-form-cascade-label"), 2000), nil, box).WithOptional(true))
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      protectCallbackID,
		Title:           plain("/"+commands.ProtectCommand, 24),
		Submit:          plain(l.T("wikimod-slack-form-submit"), 24),
		Close:           plain(l.T("wikimod-slack-form-cancel"), 24),
		PrivateMetadata: meta,
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

// formLevel is a level as the form's select sends it: "all" for none, as
// /protect takes it.
func formLevel(level string) string {
	if level == "" {
		return "all"
	}
	return level
}

// wikiOptions are the wiki's choices as options, at most n: labels cut to
// Block Kit's length, and a choice whose value would not fit left out (it
// can still be typed).
func wikiOptions(cs []commands.Choice, n int) []*slack.OptionBlockObject {
	var out []*slack.OptionBlockObject
	for _, c := range cs {
		if len(out) == n {
			break
		}
		if c.Value == "" || utf8.RuneCountInString(c.Value) > maxOptionValue {
			continue
		}
		label := c.Label
		if label == "" {
			label = c.Value
		}
		out = append(out, slack.NewOptionBlockObject(c.Value, slack.NewTextBlockObject(slack.PlainTextType, truncate(label, maxOptionText), false, false), nil))
	}
	return out
}

// reasonSelect is the select of the wiki's reasons, under the wiki's
// headings where it has them (Block Kit does not mix headed and loose
// options, so loose reasons then go under a heading of their own); nil
// when there are none.
func reasonSelect(reasons []commands.Choice, l i18n.Localizer) *slack.SelectBlockElement {
	reasons = slices.DeleteFunc(slices.Clone(reasons), func(c commands.Choice) bool {
		return utf8.RuneCountInString(c.Value) > maxOptionValue
	})
	if len(reasons) > maxOptions {
		reasons = reasons[:maxOptions]
	}
	if len(reasons) == 0 {
		return nil
	}
	placeholder := slack.NewTextBlockObject(slack.PlainTextType, truncate(l.T("wikimod-slack-protect-form-reason-placeholder"), 150), false, false)
	if !slices.ContainsFunc(reasons, func(c commands.Choice) bool { return c.Group != "" }) {
		return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, placeholder, formAction, wikiOptions(reasons, maxOptions)...)
	}
	var groups []*slack.OptionGroupBlockObject
	index := map[string]*slack.OptionGroupBlockObject{}
	for _, c := range reasons {
		heading := c.Group
		if heading == "" {
			heading = l.T("wikimod-slack-protect-form-reason-ungrouped")
		}
		g := index[heading]
		if g == nil {
			g = slack.NewOptionGroupBlockElement(slack.NewTextBlockObject(slack.PlainTextType, truncate(heading, maxOptionText), false, false))
			index[heading] = g
			groups = append(groups, g)
		}
		g.Options = append(g.Options, wikiOptions([]commands.Choice{c}, 1)...)
	}
	return slack.NewOptionsGroupSelectBlockElement(slack.OptTypeStatic, placeholder, formAction, groups...)
}

// submitProtectForm runs /protect with what the form says, as the person
// who submitted it, as a typed command runs: the same permission check,
// signature, audit row and read-back. What can be told wrong without the
// wiki (nothing to change, an expiry both chosen and typed) is shown in
// the form; everything else, the wiki's refusals included, is answered
// where the form was asked for, as a typed command's reply.
func (a *Adapter) submitProtectForm(ic slack.InteractionCallback) (any, func()) {
	var st protectFormState
	err := json.Unmarshal([]byte(ic.View.PrivateMetadata), &st)
	if err == nil && st.Wiki == "" {
		err = errors.New("no wiki")
	}
	if err != nil {
		a.log.Error("slack: protect form submitted with unreadable metadata", "err", err)
		return nil, noRelease
	}
	act := a.actor(ic.User.ID, ic.User.Name, ic.Team.ID, st.Channel)
	l := a.ackLocalizer(act, st.Wiki)
	var values map[string]map[string]slack.BlockAction
	if ic.View.State != nil {
		values = ic.View.State.Values
	}
	args, problems := protectFormArgs(st, values, l)
	if len(problems) > 0 {
		return slack.NewErrorsViewSubmissionResponse(problems), noRelease
	}
	to := target{responseURL: st.ResponseURL, channel: st.Channel, user: ic.User.ID}
	deliver := func(ctx context.Context, r commands.Reply) { a.deliver(ctx, to, r) }
	refusal, ok, release := a.submit(act, "", commands.ProtectCommand, args, deliver)
	if !ok {
		// The answer to a submission only closes the form: say it where a
		// typed command's reply would be.
		a.spawn(func(ctx context.Context) { a.deliver(ctx, to, refusal) })
		return nil, noRelease
	}
	return nil, release
}

// protectFormArgs turns what was chosen in the form into /protect's
// arguments, as the person would have typed them. A type is named when
// its level was changed; an expiry applies to the types named, or, when no
// level was changed, to every protection the page has (which it then
// extends or shortens); cascading is named when it was changed. The types
// not named keep their protection. It returns the problems to show in the
// form instead, by block.
func protectFormArgs(st protectFormState, values map[string]map[string]slack.BlockAction, l i18n.Localizer) (commands.Args, map[string]string) {
	value := func(block string) slack.BlockAction { return values[block][formAction] }
	problems := map[string]string{}
	named := map[string]string{"wiki": st.Wiki}

	page := st.Page
	if page == "" {
		if page = strings.TrimSpace(value(formPageBlock).Value); page == "" {
			problems[formPageBlock] = l.T("wikimod-slack-protect-form-page-missing")
		}
	}
	named["title"] = page

	choice, typed := value(formExpiryBlock).SelectedOption.Value, strings.TrimSpace(value(formExpiryTextBlock).Value)
	expiry := choice
	switch {
	case typed != "" && choice != "" && choice != otherExpiry:
		problems[formExpiryTextBlock] = l.T("wikimod-slack-protect-form-expiry-both", l.T("wikimod-slack-protect-form-expiry-other"))
	case typed != "":
		expiry = typed
	case choice == otherExpiry:
		problems[formExpiryTextBlock] = l.T("wikimod-slack-protect-form-expiry-missing")
	}

	types := st.Types
	changed := false
	for _, t := range types {
		level := value(formLevelBlock + t).SelectedOption.Value
		now, known := st.Levels[t]
		if level == "" || known && level == formLevel(now) {
			continue
		}
		named[t] = level
		changed = true
	}
	if !changed && expiry != "" {
		// No level changed: the expiry is for what the page has.
		for _, t := range types {
			if now := st.Levels[t]; now != "" {
				named[t] = now
				changed = true
			}
		}
	}
	if changed && expiry != "" {
		named["expiry"] = expiry
	}

	if box, ok := values[formCascadeBlock]; ok {
		on := slices.ContainsFunc(box[formAction].SelectedOptions, func(o slack.OptionBlockObject) bool { return o.Value == cascadeOn })
		switch {
		case st.Levels == nil && on:
			named["cascade"] = "yes"
		case st.Levels != nil && on != st.Cascade:
			named["cascade"] = fmt.Sprint(on)
			if !changed {
				// Cascading alone: the page's protections are sent again
				// as they are, with it.
				for _, t := range types {
					if now := st.Levels[t]; now != "" {
						named[t], named[t+"_expiry"] = now, apiExpiry(st.Expiries[t])
						changed = true
					}
				}
			}
		}
	}

	reason := strings.TrimSpace(value(formReasonBlock).SelectedOption.Value)
	switch own := strings.TrimSpace(value(formReasonTextBlock).Value); {
	case reason != "" && own != "":
		reason = l.T("wikimod-slack-protect-form-reason-join", reason, own)
	case own != "":
		reason = own
	}
	if reason != "" {
		named["reason"] = reason
	}

	if !changed && named["cascade"] == "" && len(problems) == 0 {
		block := formExpiryBlock
		if len(types) > 0 {
			block = formLevelBlock + types[0]
		}
		problems[block] = l.T("wikimod-slack-protect-form-nothing")
	}
	for block, text := range problems {
		problems[block] = truncate(text, 1000)
	}
	return commands.Args{Named: named}, problems
}

// apiExpiry is an expiry as the wiki reports a page's protection
// ("infinity", or a time) as /protect takes it.
func apiExpiry(e string) string {
	if e == "" || e == "infinity" {
		return "infinite"
	}
	return e
}
