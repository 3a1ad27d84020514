package commands

import (
	"context"
	"errors"
	"strings"

	"github.com/wikimod/wikimod/mw"
)

// wikiAdvice says, for each error code the four API modules are known to
// return, what it means for the person in the chat and how to do it right.
// The wiki's own text is shown beside it.
var wikiAdvice = map[string]string{
	// action=protect
	"invalidexpiry":              "The wiki cannot read that expiry. Use a duration like `expiry=\"1 week\"`, a time like `expiry=2026-12-01T12:00:00Z`, or `expiry=infinite`.",
	"pastexpiry":                 "That expiry is in the past. Give a time in the future, such as `expiry=\"3 days\"`.",
	"toofewexpiries":             "Give either one expiry for all protections or one for each (`edit_expiry=`, `move_expiry=`, ...).",
	"protect-invalidlevel":       "That protection level does not exist on this wiki. `/help protect` lists the levels it offers.",
	"protect-invalidaction":      "That protection type does not exist on this wiki. `/help protect` lists the types it offers.",
	"create-titleexists":         "The page exists, so it cannot get create protection. Protect `edit` and `move` instead.",
	"missingtitle-createonly":    "The page does not exist, so only `create` protection applies to it.",
	"cantedit":                   "The bot's account may not edit that page, so it may not protect it either.",
	"missingtitle":               "There is no page with that title. Check the spelling, or use `create=` to protect a title that does not exist yet.",
	"nosuchpageid":               "There is no page with that id.",
	"invalidtitle":               "That is not a valid page title.",
	"protectedpage":              "The page is protected at a level the bot's account cannot change.",
	"cascadeprotected":           "The page is protected by cascading protection from another page; change that page's protection instead.",
	"protect-cascadeon":          "Cascading protection is on; it only works with levels that allow cascading (usually `sysop`).",
	"tags-apply-not-allowed-one": "That change tag cannot be applied by hand. Leave `tags=` out or use a tag the wiki allows.",
	"tags-apply-no-permission":   "The bot's account may not apply change tags.",
	// action=validatepassword
	"userexists":          "That user name is already taken. For a new account, choose another name; to check a password in general, leave `user=` out.",
	"baduser_user":        "That is not a valid user name.",
	"baduser":             "That is not a valid user name.",
	"invalidemailaddress": "That email address is not valid.",
	// action=resetpassword
	"passwordreset-disabled":      "Password resets are switched off on this wiki.",
	"passwordreset-emaildisabled": "This wiki does not send email, so it cannot send a reset.",
	"passwordreset-nodata":        "Give exactly one of `user=NAME` or `email=ADDRESS`. (Reset by email address only works if the wiki allows it.)",
	"passwordreset-ignored":       "The wiki did not handle the reset; an extension may have stopped it.",
	"passwordreset-emailerror":    "The wiki could not send the reset mail; tell the wiki's operators.",
	"blocked-mailpassword":        "The bot's address is blocked from requesting password resets.",
	"resetpass_forbidden-reason":  "That account's password may not be reset.",
	"moduledisabled":              "This wiki offers no way to reset passwords through the API.",
	"badipaddress":                "The wiki refused the request's address.",
	"noname":                      "That is not a valid user name.",
	// action=createaccount (FAIL message codes)
	"passwordincommonlist":          "That password is too common. Choose a longer, less guessable one.",
	"passwordtooshort":              "That password is too short for this wiki.",
	"passwordtoolong":               "That password is too long for this wiki.",
	"password-name-match":           "The password must not be the same as the user name.",
	"password-login-forbidden":      "That user name and password combination is not allowed.",
	"badretype":                     "The two passwords do not match.",
	"noemailcreate":                 "The wiki needs a valid email address to mail a temporary password. Give `email=` or a `password=`.",
	"emaildisabled":                 "This wiki does not send email, so it cannot mail a temporary password. Give a `password=` instead.",
	"acct_creation_throttle_hit":    "Too many accounts were created from the bot's address recently. Try again later; an operator can give the bot password the `highvolume` grant, which lifts the throttle.",
	"createaccount-hook-aborted":    "An extension on the wiki refused to create this account.",
	"authmanager-create-disabled":   "Account creation is switched off on this wiki.",
	"authmanager-create-no-primary": "The wiki could not create the account with the details given.",
	"sorbs_create_account_reason":   "The wiki refuses account creation from the bot's address (listed as an open proxy).",
	"createaccount-text":            "The wiki refused to create this account.",
	// Any module
	"permissiondenied":              "The bot's account lacks the wiki permission for this.",
	"badaccess":                     "The bot's account lacks the wiki permission for this.",
	"blocked":                       "The bot's account is blocked on the wiki.",
	"autoblocked":                   "The bot's address is blocked on the wiki.",
	"readonly":                      "The wiki is read-only at the moment. Try again later.",
	"ratelimited":                   "The wiki is rate-limiting the bot. Wait a minute and try again; an operator can give the bot password the `highvolume` grant.",
	"actionthrottledtext":           "The wiki is rate-limiting the bot. Wait a minute and try again.",
	"maxlag":                        "The wiki's database is lagging. Try again in a minute.",
	"writeapidenied":                "The bot's account may not use the write API.",
	"mwoauth-invalid-authorization": "The wiki rejected the bot's credentials.",
	"badvalue":                      "A value is not one the wiki accepts.",
	"missingparam":                  "A required value is missing.",
	"invalidparammix":               "Some of the values given cannot be used together.",
	"badtoken":                      "The wiki rejected the bot's session token twice. Try again.",
	"assertuserfailed":              "The bot lost its session with the wiki and could not log in again. Tell the bot's operators.",
}

// wikiError turns an error from the wiki client into an *Error with plain
// words. Secrets are removed from anything the wiki echoed back.
func wikiError(err error, secrets []string) *Error {
	var apiErr *mw.APIError
	var loginErr *mw.LoginError
	var unErr *mw.UnavailableError
	switch {
	case errors.As(err, &apiErr):
		return explainWikiCode(apiErr.Code, apiErr.Text, secrets)
	case errors.As(err, &loginErr):
		return &Error{Outcome: OutcomeFailed, Code: "login-" + strings.ToLower(loginErr.Result),
			Message: "The bot cannot log in to the wiki, so nothing was done. Its operators need to check its bot password (`wikimod check`)."}
	case mw.MaybeApplied(err):
		// The request reached the wiki, or may have: its answer was lost.
		// Commands that can read the wiki back do so before this; here
		// nothing more is known.
		return &Error{Outcome: OutcomeUnknown, Code: "outcome-unknown",
			Message: "The request was sent, but the wiki's answer was lost (it timed out or the connection dropped), so wikimod cannot tell whether it was done. Check on the wiki before trying again."}
	case errors.As(err, &unErr):
		return &Error{Outcome: OutcomeFailed, Code: "wiki-unavailable",
			Message: "The wiki did not answer, so nothing was done. Try again in a few minutes; if it persists, tell the bot's operators."}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Outcome: OutcomeFailed, Code: "timeout",
			Message: "The wiki took too long to answer. Check on the wiki whether the change was made before trying again."}
	}
	return nil
}

// explainWikiCode builds the reply for a wiki error code and the wiki's text.
func explainWikiCode(code, text string, secrets []string) *Error {
	text = redact(text, secrets)
	advice, known := wikiAdvice[code]
	if !known && strings.HasPrefix(code, "captcha") {
		// ConfirmEdit and similar extensions ask a question a chat bot
		// cannot answer for the person it creates an account for.
		advice, known = "The wiki asks a CAPTCHA for this, which a chat bot cannot answer. "+
			"Give the bot's account the `skipcaptcha` right on the wiki, or create the account on Special:CreateAccount.", true
	}
	var msg string
	switch {
	case known && text != "":
		msg = "The wiki said: " + text + "\n" + advice
	case known:
		msg = advice
	case text != "":
		msg = "The wiki said: " + text
	default:
		msg = "The wiki refused the request."
	}
	return &Error{Outcome: OutcomeWikiError, Code: code, Message: msg + " (code `" + code + "`)"}
}

// redact removes secret values from text the wiki or a user may echo.
func redact(text string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return text
}
