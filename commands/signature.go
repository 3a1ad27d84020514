package commands

import (
	"context"
	"strings"

	"github.com/wikimod/wikimod/i18n"
)

// Signature names, for the wiki's own logs, the person behind a write, so
// that the wiki's other administrators can see who asked for it: a linked
// person by their wiki account, linked as the wiki links users; anyone else
// by the platform, their name and their id. It is written in the wiki's
// content language (ContentLanguage), which those administrators read, as
// it follows a person's reason ("requested by … via wikimod"). The
// platform's words are its adapter's (Config.Platforms).
func (s *Service) Signature(ctx context.Context, w *Wiki, a Actor) string {
	return s.signer(s.wikiLanguage(ctx, w), a).sig
}

// SignedReason is the reason a write to w carries on the wiki: the
// person's own reason first, then who asked for it, in w's content
// language. The whole stays within what the wiki keeps (commentLimit
// characters, counted as the wiki counts them, with the signature as it is
// written in that language): the person's reason is shortened, never the
// signature.
func (s *Service) SignedReason(ctx context.Context, w *Wiki, a Actor, reason string) string {
	return s.signer(s.wikiLanguage(ctx, w), a).reason(reason)
}

// ReasonShortened reports whether SignedReason shortens reason to make
// room for the signature, so that a reply can say so.
func (s *Service) ReasonShortened(ctx context.Context, w *Wiki, a Actor, reason string) bool {
	return s.signer(s.wikiLanguage(ctx, w), a).shortens(reason)
}

// SignedReason is the reason a write for the request's actor carries on
// the request's wiki (Service.SignedReason), for commands of other
// packages. The wiki's content language is the one its site information,
// read for the request, gives.
func (r *Request) SignedReason(reason string) string { return r.signer().reason(reason) }

// ReasonShortened reports whether SignedReason shortens reason
// (Service.ReasonShortened).
func (r *Request) ReasonShortened(reason string) bool { return r.signer().shortens(reason) }

// personReason takes the person's own reason back out of a comment
// SignedReason made for the request.
func (r *Request) personReason(comment string) string { return r.signer().person(comment) }

// signer is the request's signer, made once: a command signs, measures
// and reads back its reason more than once.
func (r *Request) signer() signer {
	lang := ""
	if r.Site != nil {
		lang = r.Site.Lang
	}
	if r.sig == nil || r.sigLang != lang || r.sigWikiUser != r.Actor.WikiUser {
		sig := r.svc.signer(lang, r.Actor)
		r.sig, r.sigLang, r.sigWikiUser = &sig, lang, r.Actor.WikiUser
	}
	return *r.sig
}

// wikiLanguage is w's content language, or "" (English) when there is no
// wiki or it cannot be asked.
func (s *Service) wikiLanguage(ctx context.Context, w *Wiki) string {
	if w == nil {
		return ""
	}
	return s.ContentLanguage(ctx, w)
}

// signer writes one person's signature in one language.
type signer struct {
	sig   string // as it follows a reason: "requested by … via wikimod"
	alone string // as the whole reason, when the person gave none
	// pre and post stand before and after the person's reason in a
	// signed reason (wikimod-signed-reason): "" and " — requested by …".
	pre, post string
}

// reasonMark and signatureMark stand for the person's reason and the
// signature while the frame of a signed reason is rendered: the frame is
// the catalogue's, which holds no control characters, whatever a reason or
// a chat user's name holds.
const reasonMark, signatureMark = "\x00", "\x01"

// signer returns a's signature in lang (a MediaWiki code; "" is English).
func (s *Service) signer(lang string, a Actor) signer {
	l := i18n.Localizer{Lang: lang}
	var sig, alone i18n.Message
	if a.WikiUser != "" {
		title := s.PlatformTitle(a.Platform)
		sig = i18n.M("wikimod-signature-linked", a.WikiUser, title)
		alone = i18n.M("wikimod-signature-linked-alone", a.WikiUser, title)
	} else {
		noun, name := s.platformNoun(a.Platform), actorName(a)
		sig = i18n.M("wikimod-signature-chat-user", noun, name)
		alone = i18n.M("wikimod-signature-chat-user-alone", noun, name)
	}
	out := signer{sig: l.Text(sig), alone: l.Text(alone)}
	pre, post, found := strings.Cut(l.Text(i18n.M("wikimod-signed-reason", reasonMark, signatureMark)), reasonMark)
	if !found {
		// A translation that drops the reason would lose it: the reason
		// goes first, as in English.
		pre, post = "", " "+signatureMark
	}
	out.pre = strings.ReplaceAll(pre, signatureMark, out.sig)
	out.post = strings.ReplaceAll(post, signatureMark, out.sig)
	return out
}

// room is how many characters of the person's reason fit beside the
// signature.
func (g signer) room() int {
	return commentLimit - len([]rune(g.pre)) - len([]rune(g.post))
}

// reason signs the person's reason, shortened to fit.
func (g signer) reason(reason string) string {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return g.alone
	}
	return g.pre + truncate(reason, g.room()) + g.post
}

// shortens reports whether reason must be shortened to fit.
func (g signer) shortens(reason string) bool {
	reason = strings.TrimSpace(reason)
	return reason != "" && len([]rune(reason)) > g.room()
}

// person takes the person's reason back out of a comment reason made: ""
// for the signature alone, and the comment itself when it is not signed.
func (g signer) person(comment string) string {
	if strings.EqualFold(comment, g.alone) || strings.EqualFold(comment, g.sig) {
		return ""
	}
	if len(comment) >= len(g.pre)+len(g.post) && strings.HasPrefix(comment, g.pre) && strings.HasSuffix(comment, g.post) {
		return comment[len(g.pre) : len(comment)-len(g.post)]
	}
	return comment
}

// shortenedNote tells a person their reason was cut to fit.
var shortenedNote = i18n.M("wikimod-reason-shortened")

// PlatformTitle is the platform's name in a sentence, as its adapter gives
// it ("Discord", "the console"); a platform no adapter describes is named
// as it is.
func (s *Service) PlatformTitle(name string) i18n.Message {
	if p, ok := s.platforms[name]; ok && !p.Title.IsZero() {
		return p.Title
	}
	return i18n.Raw(name)
}

// platformNoun is the platform's name before a noun ("your console
// account", "console user").
func (s *Service) platformNoun(name string) i18n.Message {
	if p, ok := s.platforms[name]; ok && !p.Noun.IsZero() {
		return p.Noun
	}
	return i18n.Raw(name)
}
