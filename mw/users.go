package mw

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// UserInfo is what the wiki says about one account, as Client.User reads it.
type UserInfo struct {
	Name    string // as the wiki spells it (normalized: "admin" is "Admin")
	Missing bool   // no such account
	// Invalid is set when the name cannot be an account's: it holds
	// characters no user name may hold, or is an IP address. list=users does
	// not say which rule it breaks, on any release.
	Invalid bool
	// Groups are the account's effective groups, the implicit ones (*,
	// user, autoconfirmed) included, as the wiki lists them. Unlike rights,
	// a bot-password session sees them uncut: map them to rights through
	// SiteInfo.GroupRights.
	Groups []string
	// Emailable is set when the account has an address and accepts mail
	// from other users (Client.EmailUser can reach it).
	Emailable bool
	Block     *Block // nil when the account is not blocked
}

// Block is a block in force on an account.
type Block struct {
	// ID is the block's id. It is 0 where the wiki reports several blocks
	// at once as one (MediaWiki 1.42 and newer allow more than one block on
	// an account).
	ID      int64
	By      string    // who blocked the account
	Reason  string    // as the blocking admin wrote it
	Expires time.Time // zero: never ("infinite")
	Partial bool      // blocked from some pages, namespaces or actions only
}

// User reads what the wiki says about one account: whether it exists, its
// groups, whether it can be emailed and whether it is blocked. It sends one
// request. A missing or invalid name is not an error: see Missing and
// Invalid.
func (c *Client) User(ctx context.Context, name string) (UserInfo, error) {
	var res struct {
		Query struct {
			Users []struct {
				Name      string   `json:"name"`
				Missing   bool     `json:"missing"`
				Invalid   bool     `json:"invalid"`
				Groups    []string `json:"groups"`
				Emailable bool     `json:"emailable"`
				// Present only when the account is blocked. 1.39 and
				// 1.43 both spell a block without end "infinite" and
				// any other expiry as an ISO 8601 time.
				BlockID      *int64 `json:"blockid"`
				BlockedBy    string `json:"blockedby"`
				BlockReason  string `json:"blockreason"`
				BlockExpiry  string `json:"blockexpiry"`
				BlockPartial bool   `json:"blockpartial"`
			} `json:"users"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, url.Values{
		"action": {"query"}, "list": {"users"}, "ususers": {oneValue(name)}, "usprop": {"groups|blockinfo|emailable"},
	}, &res); err != nil {
		return UserInfo{}, fmt.Errorf("user %q: %w", name, err)
	}
	if len(res.Query.Users) == 0 {
		// The wiki lists nobody for an empty name.
		return UserInfo{Name: name, Invalid: true}, nil
	}
	u := res.Query.Users[0]
	info := UserInfo{Name: u.Name, Missing: u.Missing, Invalid: u.Invalid, Groups: u.Groups, Emailable: u.Emailable}
	if u.BlockExpiry != "" || u.BlockID != nil {
		b := &Block{By: u.BlockedBy, Reason: u.BlockReason, Partial: u.BlockPartial}
		if u.BlockID != nil {
			b.ID = *u.BlockID
		}
		exp, err := parseExpiry(u.BlockExpiry)
		if err != nil {
			return UserInfo{}, fmt.Errorf("user %q: block expiry: %w", name, err)
		}
		b.Expires = exp
		info.Block = b
	}
	return info, nil
}

// parseExpiry reads an expiry as the API formats it: an ISO 8601 time, or
// "infinite" (other modules and releases also say "infinity") for none, which
// is the zero time.
func parseExpiry(s string) (time.Time, error) {
	switch s {
	case "", "infinite", "infinity", "indefinite", "never":
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}

// oneValue makes s one value of a multi-value parameter even when it holds
// the separator "|": the API then splits on U+001F instead. A name or title
// with "|" is invalid, and the wiki should say so rather than answer for two.
func oneValue(s string) string {
	if strings.Contains(s, "|") {
		return "\x1f" + s
	}
	return s
}

// Why action=emailuser fails, whichever release of MediaWiki answered:
// each release has codes of its own (see EmailUser). The error EmailUser
// returns matches one of these with errors.Is and is still an *APIError
// with the wiki's code for errors.As and ErrorCode.
var (
	// ErrNoSuchUser: the target is not an existing account (1.39
	// notarget; 1.43 emailnotarget, or baduser_target for an invalid name).
	ErrNoSuchUser = errors.New("mw: no such user")
	// ErrNotEmailable: the target has no address, or takes no mail from
	// other users or from the bot (1.39 noemail, nowikiemail; 1.43
	// noemailtext, nowikiemailtext).
	ErrNotEmailable = errors.New("mw: the user cannot be emailed")
	// ErrCannotSendEmail: the bot may not send mail. Its bot password lacks
	// the sendemail grant (1.39 badaccess, 1.43 permissiondenied), its
	// account has no confirmed address (mailnologin), the wiki has user
	// mail turned off (usermaildisabled), or the account is blocked from
	// sending mail (blockedemailuser).
	ErrCannotSendEmail = errors.New("mw: the bot may not send email")
)

// emailFailures maps the codes action=emailuser answers with, on 1.39 and
// on 1.43, to the reasons above.
var emailFailures = map[string]error{
	"notarget":         ErrNoSuchUser,
	"emailnotarget":    ErrNoSuchUser,
	"baduser_target":   ErrNoSuchUser,
	"noemail":          ErrNotEmailable,
	"noemailtext":      ErrNotEmailable,
	"nowikiemail":      ErrNotEmailable,
	"nowikiemailtext":  ErrNotEmailable,
	"badaccess":        ErrCannotSendEmail,
	"permissiondenied": ErrCannotSendEmail,
	"mailnologin":      ErrCannotSendEmail,
	"usermaildisabled": ErrCannotSendEmail,
	"blockedemailuser": ErrCannotSendEmail,
}

// EmailUser mails text to a wiki user from the bot's account, through the
// wiki (action=emailuser): the bot password needs the sendemail grant and
// the bot's account an address. Failures the wiki reports are *APIError
// with its code, and match ErrNoSuchUser, ErrNotEmailable or
// ErrCannotSendEmail where they are one of those. When the answer was lost
// after the request was sent, MaybeApplied(err) holds: the mail may have
// gone out.
//
// text may carry a secret (a one-time code): no error EmailUser returns and
// no line the client logs repeats it.
func (c *Client) EmailUser(ctx context.Context, target, subject, text string) error {
	var res struct {
		EmailUser struct {
			// Success, Warnings (sent, with warnings) or Failure.
			Result string    `json:"result"`
			Errors []Message `json:"errors"`
		} `json:"emailuser"`
	}
	_, err := c.Post(ctx, "csrf", url.Values{
		"action": {"emailuser"}, "target": {target}, "subject": {subject}, "text": {text},
	}, &res)
	if err == nil {
		switch r := res.EmailUser; r.Result {
		case "Success", "Warnings":
			return nil
		case "Failure":
			// The wiki refused to send after its checks passed (a hook
			// said no): it answers in the result, not as an API error.
			err = &APIError{Code: "emailuser-failure", Module: "emailuser"}
			if len(r.Errors) > 0 {
				err = &APIError{Code: r.Errors[0].Code, Text: r.Errors[0].Text, Module: "emailuser"}
			}
		default:
			return fmt.Errorf("emailuser to %q: unexpected result %q", target, r.Result)
		}
	}
	err = redact(err, text)
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if reason, ok := emailFailures[apiErr.Code]; ok {
			err = &reasonError{reason: reason, err: err}
		}
	}
	return fmt.Errorf("emailuser to %q: %w", target, err)
}

// redact removes a secret from the wiki's explanation in an API error. The
// client never puts a request's parameters into an error of its own, and
// MediaWiki's messages for emailuser do not quote the mail, but an
// extension's hook that refuses a mail may quote what it objects to. Each
// line of the secret is removed too, in case only that one is quoted.
func redact(err error, secret string) error {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Text == "" {
		return err
	}
	text := apiErr.Text
	for _, p := range append([]string{secret}, strings.Split(secret, "\n")...) {
		if p = strings.TrimSpace(p); p != "" {
			text = strings.ReplaceAll(text, p, "[redacted]")
		}
	}
	if text == apiErr.Text {
		return err
	}
	redacted := *apiErr
	redacted.Text = text
	return &redacted
}

// reasonError is an error that also matches a reason (a sentinel) with
// errors.Is, while errors.As still finds the error it wraps.
type reasonError struct {
	reason error
	err    error
}

func (e *reasonError) Error() string   { return e.err.Error() }
func (e *reasonError) Unwrap() []error { return []error{e.err, e.reason} }
