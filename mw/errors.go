package mw

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// APIError is an error the wiki reported in an API response. Text is the
// wiki's own human-readable explanation (errorformat=plaintext), suitable for
// showing to a person once any secret the request carried has been removed.
type APIError struct {
	Code   string // the API error code, e.g. "protect-invalidlevel"
	Text   string // the wiki's explanation in plain words
	Module string // the module that raised it, e.g. "protect"
	// RetryAfter is how long the wiki asked the client to wait, if it said.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	if e.Text == "" {
		return "mediawiki: " + e.Code
	}
	return fmt.Sprintf("mediawiki: %s: %s", e.Code, e.Text)
}

// Temporary reports whether the same request may succeed if sent again later
// without change: the wiki was lagged, read-only, rate-limiting, or failed
// internally. Errors about the request itself are not temporary.
func (e *APIError) Temporary() bool {
	switch e.Code {
	case "maxlag", "readonly", "ratelimited", "actionthrottledtext", "internal_api_error_DBQueryError",
		"internal_api_error_DBConnectionError", "internal_api_error_DBQueryTimeoutError":
		return true
	}
	return false
}

// LoginError reports a failed action=login. Result is the wiki's result
// string (Failed, WrongToken, NeedToken, Aborted), or MainAccount when the
// wiki accepted an account's main password, which wikimod refuses to use.
// Reason is the wiki's explanation.
type LoginError struct {
	Result string
	Reason string
}

func (e *LoginError) Error() string {
	switch e.Result {
	case "MainAccount":
		return "mediawiki: login refused: that is an account's main password; create a bot password on Special:BotPasswords and log in as User@AppId with it"
	case "Aborted":
		return "mediawiki: login aborted: the wiki needs a bot password (Special:BotPasswords, user name of the form User@AppId), not the account's main password"
	}
	if e.Reason != "" {
		return fmt.Sprintf("mediawiki: login %s: %s", e.Result, e.Reason)
	}
	return "mediawiki: login " + e.Result
}

// UnavailableError means the wiki could not be reached, did not answer in
// time, or answered with something that is not an API response (an HTTP
// error page, a proxy error).
type UnavailableError struct {
	Status int   // HTTP status, 0 when no response arrived
	Err    error // the underlying transport, context or decoding error
	// MaybeApplied is set when a write may have reached the wiki and been
	// carried out although its answer was lost: it timed out or the
	// connection dropped after the request was sent, or the wiki answered
	// with a server error or something that is not API JSON. Telling the
	// person "nothing was done" would then be a guess; read the wiki back
	// before repeating the write. It is false for reads and where the
	// request certainly never left (the wiki refused the connection, or
	// the context ended while the request waited to be sent).
	MaybeApplied bool
}

func (e *UnavailableError) Error() string {
	var b strings.Builder
	b.WriteString("mediawiki: unavailable")
	if e.MaybeApplied {
		b.WriteString(" (the request was sent and may have been carried out)")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// MaybeApplied reports whether err is the loss of the answer to a write
// that may have reached the wiki (see UnavailableError.MaybeApplied), so
// that a caller checks the wiki rather than report that nothing was done or
// send the write again blindly.
func MaybeApplied(err error) bool {
	unErr, ok := errors.AsType[*UnavailableError](err)
	return ok && unErr.MaybeApplied
}

// ErrorCode returns the API error code carried by err, or "" if err is not an
// API error. Login failures report "login-" and the login result; an
// unreachable wiki reports "unavailable"; a title that names no page
// (InvalidTitleError) reports "invalidtitle", as the wiki does for writes.
func ErrorCode(err error) string {
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Code
	}
	if _, ok := errors.AsType[*InvalidTitleError](err); ok {
		return "invalidtitle"
	}
	if loginErr, ok := errors.AsType[*LoginError](err); ok {
		return "login-" + loginErr.Result
	}
	if _, ok := errors.AsType[*UnavailableError](err); ok {
		return "unavailable"
	}
	return ""
}

// Retryable reports whether trying the same thing again later can help. An
// unreachable wiki is retryable, but where MaybeApplied(err) holds the first
// attempt may have been carried out: read the wiki back before retrying.
func Retryable(err error) bool {
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Temporary()
	}
	_, ok := errors.AsType[*UnavailableError](err)
	return ok
}
