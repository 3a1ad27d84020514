package commands

import (
	"context"
	"slices"
	"time"
)

// Link ties a chat identity to a wiki account whose holder proved, on the
// wiki, that they are the person behind the chat identity.
type Link struct {
	Wiki     string // the wiki the account is on (Wiki.Name)
	Platform string
	UserID   string
	WikiUser string // the wiki account's name, as the wiki spells it
	Method   string // how it was verified: LinkByMail or LinkByPage
	Linked   time.Time
}

// How a link is verified.
const (
	LinkByMail = "mail" // a code mailed through the wiki (action=emailuser)
	LinkByPage = "page" // a code saved by the account on User:NAME/wikimod
)

// LinkAttempt is a verification in progress: one per chat identity. The
// code itself is never kept, only a salted hash of it.
type LinkAttempt struct {
	Wiki     string
	Platform string
	UserID   string
	WikiUser string
	Method   string
	Salt     []byte
	CodeHash []byte // SHA-256 of Salt followed by the code
	Expires  time.Time
	Tries    int // wrong codes so far
	// BaseRevision, for a link by page, is the id of the page's latest
	// revision when the attempt began (0 if the page did not exist): only
	// revisions saved after it count. Revision ids are the wiki's own
	// order, so no clock decides what came after.
	BaseRevision int64
}

// LinkStore keeps links and link attempts. The rules (expiry, the number of
// wrong codes allowed) are the service's; the store only keeps the rows. A
// chat identity has at most one link and one attempt per wiki.
type LinkStore interface {
	// Link returns the chat identity's link on the wiki; ok is false when there is none.
	Link(ctx context.Context, wiki, platform, userID string) (l Link, ok bool, err error)
	// SaveLink links a chat identity, replacing any link it had.
	SaveLink(ctx context.Context, l Link) error
	// DeleteLink removes a chat identity's link and reports whether there
	// was one.
	DeleteLink(ctx context.Context, wiki, platform, userID string) (bool, error)

	// LinkAttempt returns the chat identity's attempt in progress.
	LinkAttempt(ctx context.Context, wiki, platform, userID string) (a LinkAttempt, ok bool, err error)
	// SaveLinkAttempt starts an attempt, replacing any the chat identity had
	// (and so voiding its code).
	SaveLinkAttempt(ctx context.Context, a LinkAttempt) error
	// AddWrongCode counts one wrong code against the chat identity's
	// attempt and returns its wrong codes so far (0 if there is no attempt).
	AddWrongCode(ctx context.Context, wiki, platform, userID string) (int, error)
	// DeleteLinkAttempt ends the chat identity's attempt, if any.
	DeleteLinkAttempt(ctx context.Context, wiki, platform, userID string) error
	// PruneLinkAttempts deletes the attempts that expired before t.
	PruneLinkAttempts(ctx context.Context, t time.Time) (int64, error)

	// TakeLinkMail records m, a mail about to be sent, unless a limit
	// refuses it (CheckMailLimits) given the mails recorded before it; a
	// refused mail is not recorded, and hit says which limit refused it
	// and until when. Callers at the same time, in one process or in
	// replicas sharing the store, take their turns one after another, so
	// that only one of them gets a last free mail. Mails older than the
	// longest limit's Per may be forgotten.
	TakeLinkMail(ctx context.Context, m LinkMail, limits []MailLimit) (hit MailLimitHit, taken bool, err error)
}

// LinkMail is one mail /link has the wiki send: a code to a wiki account,
// asked for by a chat identity.
type LinkMail struct {
	Wiki     string
	WikiUser string // the account mailed, as the wiki spells it
	Platform string
	UserID   string // the chat identity that asked for it
	Sent     time.Time
}

// MailScope says whose mails a MailLimit counts.
type MailScope int

// The scopes of a MailLimit.
const (
	// MailsToAccount counts the mails sent to one wiki account, whoever
	// asked for them: it keeps an account's mailbox from being flooded.
	MailsToAccount MailScope = iota
	// MailsForChatUser counts the mails one chat identity asked for, to
	// any account on any wiki: it keeps one person from flooding many.
	MailsForChatUser
)

// MailLimit caps link mails: at most Max of its Scope within any Per.
type MailLimit struct {
	// Name names the limit in the audit log's code of a refusal
	// ("mail-limit:NAME").
	Name  string
	Scope MailScope
	Max   int
	Per   time.Duration
}

// MailLimitHit is a refusal by a MailLimit: the limit, and the moment it
// lets one more mail through.
type MailLimitHit struct {
	Limit MailLimit
	Until time.Time
}

// MailWindow is the longest Per of the limits: how far back a store must
// look for the mails that count.
func MailWindow(limits []MailLimit) time.Duration {
	var w time.Duration
	for _, l := range limits {
		w = max(w, l.Per)
	}
	return w
}

// CheckMailLimits decides whether one more link mail may go out at now,
// given the times of the mails sent before to the same account and for
// the same chat identity: the rule every store applies. A mail sent at s
// counts against a limit while s is within Per before now (from now-Per,
// excluded, on). When some limit is full it returns the one that stays
// full longest, with the moment it frees a mail, and true.
func CheckMailLimits(limits []MailLimit, now time.Time, toAccount, forChatUser []time.Time) (MailLimitHit, bool) {
	var hit MailLimitHit
	refused := false
	for _, l := range limits {
		sent := toAccount
		if l.Scope == MailsForChatUser {
			sent = forChatUser
		}
		var within []time.Time
		for _, t := range sent {
			if t.After(now.Add(-l.Per)) {
				within = append(within, t)
			}
		}
		// A limit without a Max never refuses here; the stores refuse
		// such limits before asking (LinkMail.Validate).
		if l.Max < 1 || len(within) < l.Max {
			continue
		}
		// Newest first: the limit frees a mail when the Max-th newest
		// leaves the window.
		slices.SortFunc(within, func(a, b time.Time) int { return b.Compare(a) })
		until := within[l.Max-1].Add(l.Per)
		if !refused || until.After(hit.Until) {
			hit, refused = MailLimitHit{Limit: l, Until: until}, true
		}
	}
	return hit, refused
}
