package commands

import (
	"context"
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
}
