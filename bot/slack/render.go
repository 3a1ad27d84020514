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
	"github.com/wikimod/wikimod/i18n"
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

// rendered is a reply in one reader's language: its words, ready for
// Block Kit.
type rendered struct {
	r      commands.Reply
	title  string
	text   string
	fields [][2]string
	labels []string // the actions' labels
	open   string   // "Open on the wiki"
	plain  string   // the whole reply as plain text
	l      i18n.Localizer
	// times are the date markups in the words, which are Slack's to
	// read and so kept as they are where the words are escaped.
	times []string
}

// render puts r into words with l (r.Localizer when l is zero), with
// Slack's way of writing times and Slack's command names.
func render(r commands.Reply, l i18n.Localizer) *rendered {
	if l.Lang == "" {
		l = r.Localizer
	}
	out := &rendered{r: r}
	l.Time = func(t i18n.Time) string {
		mark := slackTime(t)
		out.times = append(out.times, mark)
		return mark
	}
	out.l = l
	out.title, out.text, out.open = slackNames(l.Text(r.Title)), slackNames(l.Text(r.Text)), l.T("wikimod-open-on-wiki")
	out.fields = make([][2]string, len(r.Fields))
	for i, f := range r.Fields {
		label := l.Text(f.Label)
		if label == "/help" {
			label = helpCommand
		}
		out.fields[i] = [2]string{label, slackNames(l.Text(f.Value))}
	}
	out.labels = make([]string, len(r.Actions))
	for i, act := range r.Actions {
		out.labels[i] = l.Text(act.Label)
	}
	var b strings.Builder
	b.Grow(plainSize(out, r.URL))
	b.WriteString(out.title)
	if out.text != "" {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(out.text)
	}
	for _, f := range out.fields {
		b.WriteString("\n  ")
		b.WriteString(f[0])
		b.WriteString(": ")
		b.WriteString(f[1])
	}
	if r.URL != "" {
		b.WriteString("\n  ")
		b.WriteString(r.URL)
	}
	out.plain = b.String()
	return out
}

// plainSize is the length of the plain text render writes.
func plainSize(out *rendered, url string) int {
	n := len(out.title) + 1 + len(out.text) + 3 + len(url)
	for _, f := range out.fields {
		n += 5 + len(f[0]) + len(f[1])
	}
	return n
}

// esc escapes words of the reply for mrkdwn (see escape), except the date
// markups render wrote into them, which are copied as they are: one pass,
// one string.
func (r *rendered) esc(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		if s[i] == '<' {
			if mark := r.timeAt(s[i:]); mark != "" {
				b.WriteString(mark)
				i += len(mark)
				continue
			}
		}
		switch s[i] {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(s[i])
		}
		i++
	}
	return b.String()
}

// timeAt returns the date markup render wrote that s starts with, or "".
func (r *rendered) timeAt(s string) string {
	for _, mark := range r.times {
		if strings.HasPrefix(s, mark) {
			return mark
		}
	}
	return ""
}

// slackTime writes t as Slack's date markup, which each reader's client
// shows in their own time zone and language, with a UTC fallback.
func slackTime(t i18n.Time) string {
	format := "{date_short_pretty} {time}"
	switch t.Style {
	case i18n.TimeRelative:
		format = "{ago}"
	case i18n.TimeDate:
		format = "{date_short_pretty}"
	}
	return fmt.Sprintf("<!date^%d^%s|%s>", t.T.Unix(), format, t.T.UTC().Format("2006-01-02 15:04 UTC"))
}

// replyBlocks renders a reply as Block Kit: the title and explanation, the
// fields (each protection and its expiry, for /protect) as a two-column
// section, a link to the page, and the reply's actions as buttons.
func replyBlocks(r *rendered) []slack.Block {
	return withFooter(headBlocks(r), r, "")
}

// headBlocks renders the part of a reply that is the same in every copy of
// it in one language: the title and explanation, and the fields.
func headBlocks(r *rendered) []slack.Block {
	icon, space := "", ""
	if i := outcomeIcons[r.r.Outcome]; i != "" && r.title != "" {
		icon, space = i, " "
	}
	newline := ""
	if r.text != "" {
		newline = "\n"
	}
	// One concatenation makes one string; escape allocates only when it
	// has something to escape.
	head := icon + space + "*" + r.esc(r.title) + "*" + newline + r.esc(r.text)
	blocks := make([]slack.Block, 0, 1+(len(r.fields)+maxFields-1)/maxFields)
	blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncate(head, maxSectionText)), nil, nil))

	for start := 0; start < len(r.fields); start += maxFields {
		rows := r.fields[start:min(start+maxFields, len(r.fields))]
		fields := make([]*slack.TextBlockObject, 0, len(rows))
		for _, f := range rows {
			fields = append(fields, mrkdwn(truncate("*"+r.esc(f[0])+"*\n"+r.esc(f[1]), maxFieldText)))
		}
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	return blocks
}

// withFooter returns head followed by the rest of the reply: the link to
// the page, who did it (by, a Slack user id, for announcements), and the
// buttons. head is not changed.
func withFooter(head []slack.Block, r *rendered, by string) []slack.Block {
	blocks := make([]slack.Block, len(head), len(head)+2)
	copy(blocks, head)

	var context []slack.MixedElement
	if r.r.URL != "" || by != "" {
		context = make([]slack.MixedElement, 0, 2)
	}
	if r.r.URL != "" {
		context = append(context, mrkdwn("<"+escapeURL(r.r.URL)+"|"+escape(r.open)+">"))
	}
	if by != "" {
		context = append(context, mrkdwn(r.l.T("wikimod-announced-by", "<@"+escape(by)+">", "/"+escape(r.r.Command))))
	}
	if len(context) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", context...))
	}

	var buttons []slack.BlockElement
	for i, act := range r.r.Actions {
		if len(buttons) == maxButtons {
			break
		}
		value, err := encodeButton(act)
		if err != nil {
			continue // Notify refuses these before posting
		}
		b := slack.NewButtonBlockElement(actionPrefix+strconv.Itoa(i), value,
			slack.NewTextBlockObject(slack.PlainTextType, truncate(r.labels[i], 75), false, false))
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
func fallbackText(r *rendered) string {
	return truncate(r.esc(r.plain), maxSectionText)
}

// slackNames gives a text the command names a Slack user types: Slack
// keeps /help for itself, so wikimod's is helpCommand, and a reply that
// says "`/help`" would send the person to Slack's own.
func slackNames(s string) string {
	return strings.ReplaceAll(s, "`/help", "`"+helpCommand)
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
		return "", fmt.Errorf("slack: button for /%s: %w", act.Command, err)
	}
	if len(b) > maxButtonValue {
		return "", fmt.Errorf("slack: button for /%s: its command and arguments take %d bytes; Slack allows %d", act.Command, len(b), maxButtonValue)
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
