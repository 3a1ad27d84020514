package commands

import (
	"context"
	"slices"
	"strings"

	"github.com/wikimod/wikimod/mw"
)

// The wiki offers its own choices for a protection's expiry and reason on
// its protect form: protect-expiry-options ("1 week:1 week,…") and the
// protect-dropdown list of reasons. wikimod offers the same ones where a
// platform can offer choices (Discord's autocomplete), in the reader's
// language, so that they read as on the wiki; free text stays allowed.

// Choice is one of the wiki's own choices for a parameter.
type Choice struct {
	// Label is what the reader is shown, in their language as the wiki
	// has it ("1 hafta").
	Label string
	// Value is what the parameter takes ("1 week"): for an expiry what
	// the API reads, for a reason the reason itself.
	Value string
	// Group is the heading the wiki files a reason under ("Common
	// protection reasons"); "" when none.
	Group string
}

// ChoiceList names a list of the wiki's choices a parameter takes.
type ChoiceList int

// The lists of choices the wiki offers.
const (
	NoChoices     ChoiceList = iota // the parameter takes free text only
	ExpiryChoices                   // protect-expiry-options
	ReasonChoices                   // protect-dropdown
)

// WikiChoices says which of the wiki's lists of choices a command's
// parameter takes: /protect's expiry (and each TYPE_expiry) the expiry
// options, its reason the reasons. It is the one place that says so, for
// every platform.
func WikiChoices(command, param string) ChoiceList {
	if command != cmdProtect {
		return NoChoices
	}
	typ, perType := strings.CutSuffix(param, "_expiry")
	switch {
	case param == "expiry" || perType && slices.Contains(protectTypes, typ):
		return ExpiryChoices
	case param == "reason":
		return ReasonChoices
	}
	return NoChoices
}

// ParseExpiryOptions reads protect-expiry-options as MediaWiki does
// (XmlSelect::parseOptionsMessage): comma-separated "label:value" pairs, an
// entry without a colon being both. "-" (the wiki offers no choices) and
// empty entries give none; a value given twice is offered once.
func ParseExpiryOptions(text string) []Choice {
	if strings.TrimSpace(text) == "-" {
		return nil
	}
	var out []Choice
	seen := map[string]bool{}
	for _, entry := range strings.Split(text, ",") {
		label, value, found := strings.Cut(entry, ":")
		if !found {
			value = label
		} else {
			// MediaWiki keeps what lies between the first and second
			// colon only.
			value, _, _ = strings.Cut(value, ":")
		}
		label, value = strings.TrimSpace(label), strings.TrimSpace(value)
		if value == "" || seen[value] {
			continue
		}
		seen[value] = true
		out = append(out, Choice{Label: label, Value: value})
	}
	return out
}

// ParseReasonDropdown reads protect-dropdown as MediaWiki does
// (Html::listDropdownOptions): a line "*Heading" starts a group, a line
// "** Reason" is a reason in the current group, any other line a reason of
// its own, outside any group. A reason given twice is offered once.
func ParseReasonDropdown(text string) []Choice {
	var out []Choice
	seen := map[string]bool{}
	group := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		var reason string
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "**"):
			reason = strings.TrimSpace(line[2:])
		case strings.HasPrefix(line, "*"):
			group = strings.TrimSpace(line[1:])
			continue
		default:
			group, reason = "", line
		}
		if reason == "" || seen[reason] {
			continue
		}
		seen[reason] = true
		out = append(out, Choice{Label: reason, Value: reason, Group: group})
	}
	return out
}

// WikiChoiceList returns the wiki's choices of one list in lang, read from
// the wiki's messages (cached by its client): what its protect form offers
// a reader of that language, an administrator's edits of the messages
// included.
func WikiChoiceList(ctx context.Context, c *mw.Client, lang string, list ChoiceList) ([]Choice, error) {
	var key string
	var parse func(string) []Choice
	switch list {
	case ExpiryChoices:
		key, parse = mw.MsgProtectExpiryOptions, ParseExpiryOptions
	case ReasonChoices:
		key, parse = mw.MsgProtectDropdown, ParseReasonDropdown
	default:
		return nil, nil
	}
	// A key the localizer preloads (wikiMessages), so that this is a warm
	// read of the client's cache, kept per language and key, and never a
	// request of its own once a reply in lang has been rendered.
	msgs, err := c.Messages(ctx, lang, key)
	if err != nil {
		return nil, err
	}
	if lang == "qqx" {
		// The pseudo-language shows keys, not choices to send.
		return nil, nil
	}
	return parse(msgs[key]), nil
}

// SuggestChoices returns, for a platform's autocomplete of a command's
// parameter, up to limit choices: what was typed first, as it is typed, so
// that free text stays possible, then the wiki's own choices (WikiChoices)
// whose label or value contains it, in actor's language on the named wiki
// ("" for the one the actor's channel defaults to). A parameter without
// choices, a wiki that cannot be chosen or asked, give what was typed only:
// autocomplete must not get in the way of typing. It reads public messages
// of the wiki, so it neither checks rights nor is audited.
func (s *Service) SuggestChoices(ctx context.Context, actor Actor, wiki, command, param, typed string, limit int) []Choice {
	var out []Choice
	if t := strings.TrimSpace(typed); t != "" {
		out = append(out, Choice{Label: t, Value: t})
	}
	list := WikiChoices(normalizeName(command), param)
	if list == NoChoices || len(out) >= limit {
		return out
	}
	var args Args
	if wiki != "" {
		args = args.Set("wiki", wiki)
	}
	w, err := s.chooseWiki(ctx, actor, &args)
	if err != nil {
		return out
	}
	lang, _ := s.LanguageOf(ctx, actor, w)
	choices, err := WikiChoiceList(ctx, w.Client, lang, list)
	if err != nil {
		s.log.Warn("the wiki's choices", "wiki", w.Name, "lang", lang, "err", err)
		return out
	}
	want := strings.ToLower(strings.TrimSpace(typed))
	for _, c := range choices {
		if len(out) >= limit {
			break
		}
		if len(out) > 0 && c.Value == out[0].Value {
			// What was typed is a choice: show it in the wiki's words.
			out[0] = c
			continue
		}
		if want == "" || strings.Contains(strings.ToLower(c.Label), want) || strings.Contains(strings.ToLower(c.Value), want) {
			out = append(out, c)
		}
	}
	return out
}
