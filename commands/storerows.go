package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// The rows a Store keeps for the adapters and the bot's runtime, and the
// rules every backend applies to the rows it is given: a rule kept here is
// kept once, and a backend cannot drift from the other.

// PendingForm is a command waiting for its modal to be submitted (Discord
// asks for a secret in a form of its own). It holds the options given with
// the command, never the secret the modal asks for.
type PendingForm struct {
	UserID  string
	Command string
	Args    Args
	Secret  string // the parameter the modal asks for
}

// FormStore keeps pending forms by a random id, which travels in the
// modal's custom_id: the options would not fit in the 100 characters a
// custom_id allows. Kept in the database, a form opened through one
// replica can be submitted through any other.
type FormStore interface {
	// PutForm keeps f under id until expires.
	PutForm(ctx context.Context, id string, f PendingForm, expires time.Time) error
	// TakeForm returns the form with id if it has not expired at now and
	// userID opened it, and forgets it: a form is used once. A submission
	// by anyone else leaves the form for its owner: found is true and owner
	// false.
	TakeForm(ctx context.Context, id, userID string, now time.Time) (f PendingForm, found, owner bool, err error)
}

// formArgs is how a form's options are kept: the command's arguments.
type formArgs struct {
	Named      map[string]string `json:"named,omitempty"`
	Positional []string          `json:"positional,omitempty"`
}

// EncodeFormArgs keeps a form's options as JSON, the same in every
// backend, so that a copy of the database could read them.
func EncodeFormArgs(a Args) (string, error) {
	b, err := json.Marshal(formArgs{Named: a.Named, Positional: a.Positional})
	return string(b), err
}

// DecodeFormArgs reads what EncodeFormArgs wrote.
func DecodeFormArgs(s string) (Args, error) {
	var fa formArgs
	if err := json.Unmarshal([]byte(s), &fa); err != nil {
		return Args{}, err
	}
	return Args{Named: fa.Named, Positional: fa.Positional}, nil
}

// SecurityCount is an aggregate of requests refused before they became
// commands (bad or missing signatures, stale timestamps, replays): how many
// of one kind came from one source on one platform in one minute. Refusals
// are kept as counts, not one row each, so that a flood of bad requests
// costs storage that does not grow with the flood.
type SecurityCount struct {
	Minute   time.Time // the start of the minute, UTC
	Platform string    // "slack", "discord"
	Kind     string    // e.g. "bad-signature", "replayed-request"
	Source   string    // the client address without its port, or "other"
	Count    int64
	// Detail is one example of what was wrong, never a request body or a
	// secret. A store keeps SecurityDetail of it.
	Detail string
}

// SecuritySink stores aggregated refusals; every Store is one.
type SecuritySink interface {
	// AddSecurityCounts adds counts, in one transaction: the count of a
	// (minute, platform, kind, source) already stored grows, and keeps
	// its first non-empty detail. A zero Minute means now; a negative
	// count is an error, and then nothing is added.
	AddSecurityCounts(ctx context.Context, counts []SecurityCount) error
	// PruneSecurityCounts deletes the counts of minutes that started
	// before before, and returns how many.
	PruneSecurityCounts(ctx context.Context, before time.Time) (int64, error)
}

// maxSecurityDetail bounds the example detail kept per count, in bytes:
// the detail may quote what a client sent, and a flood must not be able to
// grow the database through it.
const maxSecurityDetail = 256

// SecurityDetail is a count's example detail as every backend keeps it: at
// most maxSecurityDetail bytes, cut between characters.
func SecurityDetail(s string) string {
	n := maxSecurityDetail
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ValidateLease refuses a lease without a name or a holder, and one that
// would be over before it began: the rule every backend applies in
// TryLease.
func ValidateLease(name, holder string, until, now time.Time) error {
	switch {
	case name == "":
		return errors.New("no name")
	case holder == "":
		return errors.New("no holder")
	case !until.After(now):
		return fmt.Errorf("until %s is not after now %s", until.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	return nil
}

// Validate refuses a link that does not name its wiki, the chat identity
// (platform and user) and the wiki account: the rule every store applies
// in SaveLink.
func (l Link) Validate() error {
	if l.Wiki == "" || l.Platform == "" || l.UserID == "" || l.WikiUser == "" {
		return fmt.Errorf("wiki %q, platform %q, user %q, wiki user %q: none may be empty", l.Wiki, l.Platform, l.UserID, l.WikiUser)
	}
	return nil
}

// Validate refuses an attempt that does not name what a link names, or
// that has no salt or no code hash: the rule every store applies in
// SaveLinkAttempt.
func (a LinkAttempt) Validate() error {
	if a.Wiki == "" || a.Platform == "" || a.UserID == "" || a.WikiUser == "" {
		return fmt.Errorf("wiki %q, platform %q, user %q, wiki user %q: none may be empty", a.Wiki, a.Platform, a.UserID, a.WikiUser)
	}
	// An attempt without a hash could never be finished, and one without
	// a salt would keep a bare hash of a short code, easy to reverse.
	if len(a.Salt) == 0 || len(a.CodeHash) == 0 {
		return fmt.Errorf("%s %s on %s: no salt or no code hash", a.Platform, a.UserID, a.Wiki)
	}
	if a.BaseRevision < 0 {
		return fmt.Errorf("%s %s on %s: base revision %d", a.Platform, a.UserID, a.Wiki, a.BaseRevision)
	}
	return nil
}

// Validate refuses a link mail that does not name its wiki, account, chat
// identity and time, and limits that could not be kept (none, or one
// without a Max, a Per or a name): the rule every store applies in
// TakeLinkMail before CheckMailLimits.
func (m LinkMail) Validate(limits []MailLimit) error {
	if m.Wiki == "" || m.WikiUser == "" || m.Platform == "" || m.UserID == "" || m.Sent.IsZero() {
		return fmt.Errorf("wiki %q, wiki user %q, platform %q, user %q, sent %v: none may be empty",
			m.Wiki, m.WikiUser, m.Platform, m.UserID, m.Sent)
	}
	if len(limits) == 0 {
		return errors.New("no limits")
	}
	for _, l := range limits {
		if l.Name == "" || l.Max < 1 || l.Per <= 0 {
			return fmt.Errorf("limit %+v: it needs a name, a Max of at least 1 and a Per", l)
		}
	}
	return nil
}
