package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/wikimod/wikimod/commands"
)

// Block Kit limits that replies are cut to.
const (
	maxSectionText = 3000
	maxFieldText   = 2000
	maxFields      = 10 // per section
	maxButtonValue = 2000
	maxButtons     = 25
)

// actionPrefix starts the action_id of every button wikimod posts, so that
// presses of other apps' buttons are left alone.
const actionPrefix = "wikimod-run-"

var outcomeIcons = map[commands.Outcome]string{
	commands.OutcomeOK:        ":white_check_mark:",
	commands.OutcomeDenied:    ":no_entry:",
	commands.OutcomeInvalid:   ":pencil2:",
	commands.OutcomeWikiError: ":x:",
	commands.OutcomeFailed:    ":warning:",
}

// replyBlocks renders a reply as Block Kit: the title and explanation, the
// fields (each protection and its expiry, for /protect) as a two-column
// section, a link to the page, and the reply's actions as buttons.
func replyBlocks(r commands.Reply) []slack.Block {
	return withFooter(headBlocks(r), r, "")
}

// headBlocks renders the part of a reply that is the same in every copy of
// it: the title and explanation, and the fields.
func headBlocks(r commands.Reply) []slack.Block {
	r = slackNames(r)
	icon, space := "", ""
	if i := outcomeIcons[r.Outcome]; i != "" && r.Title != "" {
		icon, space = i, " "
	}
	newline := ""
	if r.Text != "" {
		newline = "\n"
	}
	// One concatenation makes one string; escape allocates only when it
	// has something to escape.
	head := icon + space + "*" + escape(r.Title) + "*" + newline + escape(r.Text)
	blocks := make([]slack.Block, 0, 1+(len(r.Fields)+maxFields-1)/maxFields)
	blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(head, maxSectionText)), nil, nil))

	for start := 0; start < len(r.Fields); start += maxFields {
		rows := r.Fields[start:min(start+maxFields, len(r.Fields))]
		fields := make([]*slack.TextBlockObject, 0, len(rows))
		for _, f := range rows {
			fields = append(fields, mrkdwn(truncate("*"+escape(f.Label)+"*\n"+escape(f.Value), maxFieldText)))
		}
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	return blocks
}

// withFooter returns head followed by the rest of the reply: the link to
// the page, who did it (by, a Slack user id, for announcements), and the
// buttons. head is not changed, so the private reply and its announcement
// can share it.
func withFooter(head []slack.Block, r commands.Reply, by string) []slack.Block {
	blocks := make([]slack.Block, len(head), len(head)+2)
	copy(blocks, head)

	var context []slack.MixedElement
	if r.URL != "" || by != "" {
		context = make([]slack.MixedElement, 0, 2)
	}
	if r.URL != "" {
		context = append(context, mrkdwn("<"+escapeURL(r.URL)+"|Open on the wiki>"))
	}
	if by != "" {
		context = append(context, mrkdwn("by <@"+escape(by)+"> with /"+escape(r.Command)))
	}
	if len(context) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", context...))
	}

	var buttons []slack.BlockElement
	for i, act := range r.Actions {
		if len(buttons) == maxButtons {
			break
		}
		value, err := encodeButton(act)
		if err != nil {
			continue // Notify refuses these before posting
		}
		b := slack.NewButtonBlockElement(actionPrefix+strconv.Itoa(i), value,
			slack.NewTextBlockObject(slack.PlainTextType, truncate(act.Label, 75), false, false))
		switch act.Style {
		case "primary":
			b = b.WithStyle(slack.StylePrimary)
		case "danger":
			b = b.WithStyle(slack.StyleDanger)
		}
		buttons = append(buttons, b)
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("", buttons...))
	}
	return blocks
}

// fallbackText is the plain text Slack shows where blocks are not shown:
// notifications, and clients without Block Kit.
func fallbackText(r commands.Reply) string {
	return truncate(escape(slackNames(r).Plain()), maxSectionText)
}

// slackNames gives a reply the command names a Slack user types: Slack keeps
// /help for itself, so wikimod's is helpCommand, and a reply that says
// "`/help`" would send the person to Slack's own.
func slackNames(r commands.Reply) commands.Reply {
	const from, to = "`/help", "`" + helpCommand
	r.Title = strings.ReplaceAll(r.Title, from, to)
	r.Text = strings.ReplaceAll(r.Text, from, to)
	var fields []commands.Field
	for i, f := range r.Fields {
		label := f.Label
		if label == "/help" {
			label = helpCommand
		}
		value := strings.ReplaceAll(f.Value, from, to)
		if label != f.Label || value != f.Value {
			if fields == nil {
				fields = append([]commands.Field(nil), r.Fields...)
			}
			fields[i] = commands.Field{Label: label, Value: value}
		}
	}
	if fields != nil {
		r.Fields = fields
	}
	return r
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// escape makes text safe in Slack's mrkdwn: &, < and > are control
// characters there (<!channel> would ping a channel), so a title or reason
// from the wiki cannot mention or link anything.
func escape(s string) string { return mrkdwnEscaper.Replace(s) }

// escapeURL keeps a URL inside Slack's <url|label> link syntax.
func escapeURL(u string) string { return urlEscaper.Replace(u) }

// The replacers are built once: building one costs more than using it.
var (
	mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	urlEscaper    = strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C")
)

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// buttonValue is what a button carries back when it is pressed: the command
// and its arguments, compact, since Slack allows 2000 characters.
type buttonValue struct {
	Command string            `json:"c"`
	Args    map[string]string `json:"a,omitempty"`
}

func encodeButton(act commands.Action) (string, error) {
	b, err := json.Marshal(buttonValue{Command: act.Command, Args: act.Args})
	if err != nil {
		return "", fmt.Errorf("slack: button %q: %w", act.Label, err)
	}
	if len(b) > maxButtonValue {
		return "", fmt.Errorf("slack: button %q: its command and arguments take %d bytes; Slack allows %d", act.Label, len(b), maxButtonValue)
	}
	return string(b), nil
}

func decodeButton(value string) (string, commands.Args, error) {
	var v buttonValue
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		return "", commands.Args{}, fmt.Errorf("button value: %w", err)
	}
	if v.Command == "" {
		return "", commands.Args{}, errors.New("button value: no command")
	}
	return v.Command, commands.Args{Named: v.Args}, nil
}
