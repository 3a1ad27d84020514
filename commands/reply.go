package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wikimod/wikimod/i18n"
)

// Outcome classifies how a command ended, for replies, the audit log and
// metrics.
type Outcome string

// The outcomes of a command.
const (
	OutcomeOK        Outcome = "ok"         // the wiki did what was asked
	OutcomeDenied    Outcome = "denied"     // the actor lacks the wiki right
	OutcomeInvalid   Outcome = "invalid"    // the request was malformed; nothing was sent
	OutcomeWikiError Outcome = "wiki_error" // the wiki refused; Code holds its error code
	OutcomeFailed    Outcome = "failed"     // wikimod or the wiki failed; try again later
	// OutcomeUnknown: the request may have reached the wiki, its answer was
	// lost, and reading the wiki back could not tell whether it took effect.
	OutcomeUnknown Outcome = "unknown"
	// OutcomeInterrupted: wikimod stopped (a crash, a kill) before the
	// command ended; settled at the next start-up against the wiki's logs.
	OutcomeInterrupted Outcome = "interrupted"

	// OutcomeQueued and OutcomePending are the audit log's states of a
	// command not ended yet: accepted and waiting for its turn (nothing sent
	// to the wiki), and running (requests may be reaching the wiki).
	OutcomeQueued  Outcome = "queued"
	OutcomePending Outcome = "pending"
)

// Reply is the neutral answer to a command. Adapters render it: plain text on
// the console, Block Kit on Slack, an embed on Discord.
type Reply struct {
	Command string
	Outcome Outcome
	Code    string // error code for outcomes other than ok
	// Wiki names the wiki the reply is about, when more than one is
	// configured; the title then starts with it too.
	Wiki string
	// Title is a one-line summary; Text explains, in plain words. Both are
	// messages, rendered in each reader's language (Localizer).
	Title i18n.Message
	Text  i18n.Message
	// Fields are label/value rows, such as each protection and its expiry.
	Fields []Field
	// Announce is set on results worth posting to the moderators' channel
	// (a successful protection); replies are otherwise private to the actor.
	Announce bool
	// URL links to the page the command acted on, when there is one.
	URL string
	// Page is the page a reply to /protect TITLE alone shows, as the wiki
	// spells it (see ViewedPage); "" in every other reply.
	Page string
	// Protect is the wiki's result for a successful /protect.
	Protect *ProtectOutcome
	// Actions are buttons to offer with the reply, where the platform has
	// them.
	Actions []Action
	// Confirm, when set, marks the reply as a question that Actions answer:
	// Yes runs what the reply offers, No declines it. A platform without
	// buttons (the console) asks it its own way.
	Confirm *Confirmation
	// AboutSecret is set when the reply refuses the secret the person typed
	// (see Error.AboutSecret).
	AboutSecret bool
	// Localizer renders the reply for the person who gave the command: in
	// their language (Service.LanguageOf), with the wiki's own words. The
	// service sets it before delivering; an adapter adds how its platform
	// writes times. Messages to a channel are rendered with the channel's
	// (Service.ChannelLocalizer) instead.
	Localizer i18n.Localizer
}

// Action is a button offered with a reply or notice. Pressing it runs Command
// with Args as the person who pressed it, through the same permission check
// and audit log as a typed command. Adapters encode Command and Args into the
// platform's button payload, so both should stay short.
type Action struct {
	Label   i18n.Message
	Style   string // "primary", "danger", or "" for the default
	Command string
	Args    map[string]string
}

// Confirmation is a yes-or-no question a reply asks (Reply.Confirm).
type Confirmation struct {
	Yes Action
	No  Action
}

// Field is one label/value row of a Reply.
type Field struct {
	Label i18n.Message
	Value i18n.Message
}

// OK reports whether the command succeeded.
func (r Reply) OK() bool { return r.Outcome == OutcomeOK }

// String renders the reply as plain text for the person it is for, with
// its own Localizer.
func (r Reply) String() string { return r.Plain(r.Localizer) }

// Plain renders the reply as plain text with l.
func (r Reply) Plain(l i18n.Localizer) string {
	var b strings.Builder
	b.WriteString(l.Text(r.Title))
	if !r.Text.IsZero() {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(l.Text(r.Text))
	}
	for _, f := range r.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", l.Text(f.Label), l.Text(f.Value))
	}
	if r.URL != "" {
		fmt.Fprintf(&b, "\n  %s", r.URL)
	}
	return b.String()
}

// Error is an error whose Message is safe and useful to show the person who
// gave the command: it says what was wrong and how to do it right.
type Error struct {
	Outcome Outcome
	Code    string
	Message i18n.Message
	// AboutSecret marks a refusal of the secret the person typed (a
	// password the wiki's policy refuses), which a platform's form can show
	// beside the field so that it is fixed there.
	AboutSecret bool
}

// Error writes the error for logs and tests: its message in qqx form
// (keys and parameters), language-neutral.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s): %s", e.Outcome, e.Code, e.Message.String())
}

// usage is a refusal of how a command was written: key says what was
// wrong and how to write it right.
func usage(key string, params ...any) *Error {
	return &Error{Outcome: OutcomeInvalid, Code: "usage", Message: i18n.M(key, params...)}
}

// AsError returns err as an *Error if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
