package commands

import (
	"strings"

	"github.com/wikimod/wikimod/i18n"
)

// Signature names, for the wiki's own logs, the person behind a write, so
// that the wiki's other administrators can see who asked for it: a linked
// person by their wiki account, linked as the wiki links users; anyone else
// by the platform, their name and their id. The platform's words are its
// adapter's (Config.Platforms).
func (s *Service) Signature(a Actor) string {
	if a.WikiUser != "" {
		return "requested by [[User:" + a.WikiUser + "|" + a.WikiUser + "]] on " + s.PlatformTitle(a.Platform) + " via wikimod"
	}
	return "requested by " + s.platformNoun(a.Platform) + " user " + actorName(a) + " via wikimod"
}

// SignedReason is the reason a write carries on the wiki: the person's own
// reason first, then who asked for it. The whole stays within what the
// wiki keeps (commentLimit characters): the person's reason is shortened,
// never the signature.
func (s *Service) SignedReason(a Actor, reason string) string {
	sig := s.Signature(a)
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return strings.ToUpper(sig[:1]) + sig[1:]
	}
	room := commentLimit - len([]rune(sig)) - len([]rune(signatureSep))
	return truncate(reason, room) + signatureSep + sig
}

// SignedReason is the reason a write for the request's actor carries on
// the wiki (Service.SignedReason), for commands of other packages.
func (r *Request) SignedReason(reason string) string { return r.svc.SignedReason(r.Actor, reason) }

// ReasonShortened reports whether SignedReason shortens reason to make
// room for the signature, so that a reply can say so.
func (s *Service) ReasonShortened(a Actor, reason string) bool {
	reason = strings.TrimSpace(reason)
	return reason != "" && !strings.HasPrefix(s.SignedReason(a, reason), reason+signatureSep)
}

// shortenedNote tells a person their reason was cut to fit.
var shortenedNote = i18n.M("wikimod-reason-shortened")

// signatureSep stands between a person's reason and the signature.
const signatureSep = " — "

// personReason takes the person's own reason back out of a comment
// SignedReason made.
func (s *Service) personReason(a Actor, comment string) string {
	sig := s.Signature(a)
	if strings.EqualFold(comment, sig) {
		return ""
	}
	return strings.TrimSuffix(comment, signatureSep+sig)
}

// PlatformTitle is the platform's name in a sentence, as its adapter gives
// it ("Discord", "the console"); a platform no adapter describes is named
// as it is.
func (s *Service) PlatformTitle(name string) string {
	if p, ok := s.platforms[name]; ok && p.Title != "" {
		return p.Title
	}
	return name
}

// platformNoun is the platform's name before a noun ("your console
// account", "console user").
func (s *Service) platformNoun(name string) string {
	if p, ok := s.platforms[name]; ok && p.Noun != "" {
		return p.Noun
	}
	return name
}
