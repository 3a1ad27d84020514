package commands

import "strings"

// platformNames are the platforms as the wiki's readers know them.
var platformNames = map[string]string{
	PlatformConsole: "console user",
	PlatformDiscord: "Discord user",
	PlatformSlack:   "Slack user",
}

// Signature names, for the wiki's own logs, the person behind a write, so
// that the wiki's other administrators can see who asked for it: a linked
// person by their wiki account, linked as the wiki links users; anyone else
// by the platform, their name and their id.
func Signature(a Actor) string {
	if a.WikiUser != "" {
		return "requested by [[User:" + a.WikiUser + "|" + a.WikiUser + "]] on " + PlatformTitle(a.Platform) + " via wikimod"
	}
	who := platformNames[a.Platform]
	if who == "" {
		who = a.Platform + " user"
	}
	return "requested by " + who + " " + actorName(a) + " via wikimod"
}

// SignedReason is the reason a write carries on the wiki: the person's own
// reason first, then who asked for it. The whole stays within what the
// wiki keeps (commentLimit characters): the person's reason is shortened,
// never the signature.
func SignedReason(a Actor, reason string) string {
	sig := Signature(a)
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return strings.ToUpper(sig[:1]) + sig[1:]
	}
	room := commentLimit - len([]rune(sig)) - len([]rune(signatureSep))
	return truncate(reason, room) + signatureSep + sig
}

// ReasonShortened reports whether SignedReason shortens reason to make
// room for the signature, so that a reply can say so.
func ReasonShortened(a Actor, reason string) bool {
	reason = strings.TrimSpace(reason)
	return reason != "" && !strings.HasPrefix(SignedReason(a, reason), reason+signatureSep)
}

// shortenedNote tells a person their reason was cut to fit.
const shortenedNote = "Your reason was shortened to fit: the wiki keeps 500 characters of a reason, and its end names who asked."

// signatureSep stands between a person's reason and the signature.
const signatureSep = " — "

// personReason takes the person's own reason back out of a comment
// SignedReason made.
func personReason(a Actor, comment string) string {
	sig := Signature(a)
	if strings.EqualFold(comment, sig) {
		return ""
	}
	return strings.TrimSuffix(comment, signatureSep+sig)
}

// platformNoun is the platform's name before a noun: "the console" is
// "console" in "your console account".
func platformNoun(platform string) string {
	if platform == PlatformConsole {
		return "console"
	}
	return PlatformTitle(platform)
}

// PlatformTitle is the platform's name as its users write it ("Discord",
// "the console"); a platform it does not know is named as it is.
func PlatformTitle(platform string) string {
	switch platform {
	case PlatformDiscord:
		return "Discord"
	case PlatformSlack:
		return "Slack"
	case PlatformConsole:
		return "the console"
	}
	return platform
}
