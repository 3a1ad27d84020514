package commands

import (
	"context"
	"slices"
	"strings"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// A platform with forms (Slack's modals) offers /protect as a form: the
// page's protection as it is now, one choice of the wiki's levels for each
// type the page can take, the wiki's expiries and reasons, cascading where
// the wiki allows it. What the form sends is run as a typed /protect: this
// file only says what the form offers.

// ProtectCommand is the name of /protect, for a platform that builds its
// arguments from a form.
const ProtectCommand = cmdProtect

// FormProtection is one restriction type a page can take, as a form offers
// it: the level and expiry the page has now ("" and "" when it has none).
type FormProtection struct {
	Type   string
	Level  string
	Expiry string // absolute, or "infinity"
}

// ProtectForm is what a form for /protect offers about one page, in the
// reader's language.
type ProtectForm struct {
	// Wiki is the wiki's name (Wiki.Name), for the wiki= of the command
	// the form sends, so that it runs against the wiki it shows.
	Wiki string
	// Page is the page as the wiki spells it; "" for a form that asks for
	// the page, which then offers every type the wiki has.
	Page string
	// Types are the restriction types the page can take (MediaWiki's
	// rule: create for a page that does not exist, the others for one
	// that does, upload for files only), each with what the page has now.
	Types []FormProtection
	// Levels are the wiki's protection levels, "" (no protection) among
	// them, in the wiki's order.
	Levels []string
	// CanCascade is set when the form may offer cascading protection: the
	// wiki allows it at some level and the page exists (or is not known
	// yet). Cascade is whether the page cascades now.
	CanCascade bool
	Cascade    bool
	// Expiries and Reasons are the wiki's own choices in the reader's
	// language (protect-expiry-options, protect-dropdown); none when the
	// wiki could not be asked, free text being allowed anyway.
	Expiries []Choice
	Reasons  []Choice
	// Localizer renders the form in the reader's language, with the wiki's
	// own words for its types and levels.
	Localizer i18n.Localizer
}

// ProtectForm returns what a form for /protect offers actor for title on
// the named wiki ("" for the one the actor's channel defaults to); title ""
// is a form that asks for the page. It reads the wiki and checks no right:
// a platform asks Authorize before showing it, and what the form sends is
// checked as any command is. When no form can be made (no such wiki, a
// title that is not one, a page that cannot be protected, the wiki
// unreachable) it returns the reply to show instead, in the actor's
// language.
func (s *Service) ProtectForm(ctx context.Context, actor Actor, wiki, title string) (ProtectForm, Reply, bool) {
	var args Args
	if wiki != "" {
		args = args.Set("wiki", wiki)
	}
	w, err := s.chooseWiki(ctx, actor, &args)
	if err == nil {
		var form ProtectForm
		if form, err = s.protectForm(ctx, actor, w, strings.TrimSpace(title)); err == nil {
			return form, Reply{}, true
		}
	}
	reply := s.named(w, s.errorReply(cmdProtect, err, nil))
	return ProtectForm{}, s.localized(ctx, actor, reply), false
}

func (s *Service) protectForm(ctx context.Context, actor Actor, w *Wiki, title string) (ProtectForm, error) {
	if len(title) > maxTitleBytes {
		return ProtectForm{}, &Error{Outcome: OutcomeInvalid, Code: "title-too-long", Message: i18n.M("wikimod-protect-title-too-long", len([]rune(title)))}
	}
	site, err := w.Client.SiteInfo(ctx)
	if err != nil {
		return ProtectForm{}, err
	}
	r := site.Restrictions
	form := ProtectForm{Wiki: w.Name, Levels: slices.Clone(r.Levels), CanCascade: len(r.CascadingLevels) > 0}
	if title == "" {
		for _, t := range r.Types {
			form.Types = append(form.Types, FormProtection{Type: t})
		}
	} else {
		states, err := w.Client.PageStates(ctx, title)
		if err != nil {
			return ProtectForm{}, err
		}
		st, ok := states[title]
		if !ok || st.Invalid {
			return ProtectForm{}, &Error{Outcome: OutcomeWikiError, Code: "invalidtitle", Message: i18n.M("wikimod-protect-invalid-title", title)}
		}
		form.Page = orDefault(st.Title, title)
		now := map[string]mw.PageProtection{}
		for _, p := range st.Protections {
			now[p.Type] = p
			form.Cascade = form.Cascade || p.Cascade
		}
		for _, t := range applicableTypes(r.Types, st) {
			form.Types = append(form.Types, FormProtection{Type: t, Level: now[t].Level, Expiry: now[t].Expiry})
		}
		if len(form.Types) == 0 {
			return ProtectForm{}, &Error{Outcome: OutcomeInvalid, Code: "protect-notypes", Message: i18n.M("wikimod-protect-form-no-types", form.Page)}
		}
		// MediaWiki offers cascading for pages that exist only.
		form.CanCascade = form.CanCascade && !st.Missing
	}
	lang, _ := s.LanguageOf(ctx, actor, w)
	form.Localizer = s.Localizer(ctx, w, lang)
	// Without the wiki's choices the form still takes typed ones.
	if form.Expiries, err = WikiChoiceList(ctx, w.Client, lang, ExpiryChoices); err != nil {
		s.log.Warn("the wiki's expiry choices", "wiki", w.Name, "lang", lang, "err", err)
	}
	if form.Reasons, err = WikiChoiceList(ctx, w.Client, lang, ReasonChoices); err != nil {
		s.log.Warn("the wiki's reason choices", "wiki", w.Name, "lang", lang, "err", err)
	}
	return form, nil
}

// applicableTypes are the restriction types of the wiki (types) that a page
// can take, by MediaWiki's own rule (RestrictionStore::
// listApplicableRestrictionTypes): none for a special page, create alone
// for a page that does not exist, every other for one that does, and
// upload for files only.
func applicableTypes(types []string, st mw.PageState) []string {
	const nsSpecial, nsFile = -1, 6
	if st.NS == nsSpecial {
		return nil
	}
	var out []string
	for _, t := range types {
		switch {
		case (t == "create") != st.Missing:
		case t == "upload" && st.NS != nsFile:
		default:
			out = append(out, t)
		}
	}
	return out
}

// ViewedPage returns the page a reply to /protect TITLE alone shows (its
// protection and history, which change nothing), as the wiki spells it, so
// that a platform can offer to change that page's protection beside it.
func ViewedPage(r Reply) (string, bool) {
	if r.Command != cmdProtect || r.Code != "protection-shown" || r.Outcome != OutcomeOK || r.Page == "" {
		return "", false
	}
	return r.Page, true
}

// CascadeLabel names cascading protection as a form offers it: the wiki's
// own words (protect-cascade, "Protect pages included in this page
// (cascading protection)"), or the catalogue's where the wiki has none.
func CascadeLabel() i18n.Message {
	return i18n.Wiki(mw.MsgProtectCascade).Else(i18n.M("wikimod-protect-form-cascade"))
}
