package commands

import (
	"context"
	"errors"
	"html"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// advice says, for one error code, what it means for the person in the chat
// and how to do it right. Some codes mean different things depending on
// which command met them: byCommand holds the advice for those commands,
// text the advice that holds whatever the command.
type advice struct {
	text      string
	byCommand map[string]string
	// echoes is set for codes whose wiki text can quote something a user
	// typed (a title, an expiry, a user name). Only those texts could carry
	// a secret, if someone typed it into another field; the wiki never
	// quotes the password parameter itself, so the texts of every other code
	// are shown exactly as the wiki wrote them.
	echoes bool
}

// Advice shared by codes that mean the same thing.
const (
	adviceUserConfigPage = "This is a site-wide or personal script or style page (CSS, JS or JSON). Only accounts with the matching right (such as `editsitecss`, `editusercss`, `editsitejs`) may change it, so the bot may not protect it. An administrator must do it on the wiki."
	adviceRateLimited    = "The wiki is rate-limiting the bot. Wait a minute and try again; an operator can give the bot password the `highvolume` grant, which lifts most limits."
	adviceReadOnly       = "The wiki is read-only at the moment (the wiki's text may say why and for how long). Nothing was changed; try again later."
	adviceInternal       = "The wiki hit an internal error, so nothing is known to have been done. Try again in a few minutes; if it repeats, tell the wiki's operators."
	adviceOperators      = "wikimod sent the wiki a request it does not accept. Tell the bot's operators: this is a bug in wikimod, not something to fix in the command."
	adviceCaptcha        = "The wiki asks a CAPTCHA for this, which a chat bot cannot answer. Give the bot's account the `skipcaptcha` right on the wiki, or do it on the wiki's own page (Special:CreateAccount)."
)

// Advice for the password rules, shared by /validatepassword and
// /createaccount: in both the password is `password=`.
const (
	advicePasswordTooShort  = "The password is shorter than the wiki allows (the wiki's text says how long it must be). Choose a longer `password=`."
	advicePasswordTooLong   = "The password is longer than the wiki allows (the wiki's text gives the limit). Choose a shorter `password=`."
	advicePasswordCommon    = "The password is on the wiki's list of the 100,000 most common passwords. Choose one that is harder to guess, such as several unrelated words."
	advicePasswordForbidden = "That user name and password pair is on the wiki's list of forbidden defaults (such as `ExamplePassword`). Choose another `password=`."
)

// wikiAdvice holds the advice for every error code the four API modules of
// MediaWiki 1.39 to 1.45 are known to return, read from their sources
// (ApiProtect, ApiValidatePassword, ApiResetPassword, ApiAMCreateAccount,
// AuthManager and its providers, PasswordPolicyChecks, PasswordReset,
// PermissionManager, ApiBase, ApiMain). A code is the API's: message keys
// such as `noname` or `readonlytext` reach the API mapped to `invaliduser`
// and `readonly` (ApiMessageTrait::$messageMap), `apierror-` is dropped.
// The wiki's own text is shown beside the advice.
var wikiAdvice = map[string]advice{
	// action=protect (1.39–1.45: ApiProtect raises the same codes throughout).
	"invalidexpiry": {echoes: true, text: "The wiki cannot read that expiry. Use a duration like `expiry=\"1 week\"`, a time like `expiry=2026-12-01T12:00:00Z`, or `expiry=infinite`; `TYPE_expiry=` (such as `edit_expiry=`) takes the same forms."},
	"pastexpiry":    {echoes: true, text: "That expiry is in the past. Give a time in the future, such as `expiry=\"3 days\"`, or `expiry=infinite`."},
	"toofewexpiries": {text: "The wiki got a different number of expiries than protection types. Give one `expiry=` for all types, or a `TYPE_expiry=` (such as `edit_expiry=`) for each type you set. " +
		"If that is what you did, tell the bot's operators: wikimod should have matched them."},
	"protect-invalidlevel": {echoes: true, text: "The wiki does not offer that protection level here, or the bot's account may not set it (the `sysop` level needs the `editprotected` right, which the bot password's `protect` grant carries). " +
		"`/help protect` lists the levels; `TYPE=all` lifts a protection."},
	"protect-invalidaction": {echoes: true, text: "That protection type does not apply to this page. Existing pages take `edit=` and `move=` (and `upload=` for files only); a page that does not exist takes only `create=`. Check the spelling of the type."},
	"create-titleexists":    {text: "The page exists, so `create=` protection does not apply to it. Protect it with `edit=` and `move=` instead."},
	"missingtitle-createonly": {text: "The page does not exist, so only `create` protection applies to it: `create=LEVEL` stops anyone creating the page. " +
		"Check the title's spelling."},
	"pagecannotexist":              {text: "That title is in a namespace that holds no real pages (such as `Special:` or `Media:`), so it cannot be protected. Check the title."},
	"invalidtitle":                 {echoes: true, text: "That is not a valid page title: titles cannot be empty or contain characters such as `# < > [ ] | { }`. Check the title."},
	"nosuchpageid":                 {text: "There is no page with that `pageid=`. Check the number, or give the page's title instead."},
	"missingtitle":                 {text: "There is no page with that title. Check the spelling; to stop the page being created, use `create=LEVEL`."},
	"badinteger":                   {echoes: true, text: "A value that must be a whole number is not one: `pageid=` takes a page's numeric id."},
	"cantedit":                     {text: "The wiki lets only those who may edit a page protect it, and the bot's account may not edit this one (it may be protected above the bot's rights, or be someone's script or style page). An administrator must change it on the wiki."},
	"protectednamespace":           {text: "The bot's account may not edit any page in this namespace, so it may not protect them either. An administrator must do it on the wiki."},
	"protectednamespace-interface": {text: "Pages in the `MediaWiki:` namespace need the `editinterface` right, which the bot's account lacks. An administrator must protect this page on the wiki."},
	"unsupportednamespace":         {text: "Special pages cannot be protected. Check the title."},
	"cascadeprotected":             {text: "The page is covered by cascading protection from another page that includes it (the wiki's text names it). Change that page's protection instead, or ask an administrator."},
	"protectedpage":                {text: "The page is protected at a level the bot's account may not change. An administrator must change it on the wiki."},
	"sitecssprotected":             {text: adviceUserConfigPage},
	"sitejsonprotected":            {text: adviceUserConfigPage},
	"sitejsprotected":              {text: adviceUserConfigPage},
	"siterawhtmlprotected":         {text: adviceUserConfigPage},
	"customcssprotected":           {text: adviceUserConfigPage},
	"customjsonprotected":          {text: adviceUserConfigPage},
	"customjsprotected":            {text: adviceUserConfigPage},
	"mycustomcssprotected":         {text: adviceUserConfigPage},
	"mycustomjsonprotected":        {text: adviceUserConfigPage},
	"mycustomjsprotected":          {text: adviceUserConfigPage},
	"mycustomjsredirectprotected":  {text: adviceUserConfigPage},
	"badtags":                      {echoes: true, text: "That change tag cannot be applied by hand on this wiki. Leave `tags=` out, or use a tag Special:Tags lists as active and applied manually."},
	"tags-apply-not-allowed-one":   {echoes: true, text: "That change tag cannot be applied by hand on this wiki. Leave `tags=` out, or use a tag Special:Tags lists as active and applied manually."},
	"tags-apply-not-allowed-multi": {echoes: true, text: "Those change tags cannot be applied by hand on this wiki. Leave `tags=` out, or use tags Special:Tags lists as active and applied manually."},
	"tags-apply-no-permission":     {text: "The bot's account may not apply change tags. Leave `tags=` out."},
	"tags-apply-blocked":           {text: "The bot's account is blocked, so it may not apply change tags. Leave `tags=` out."},
	"badexpiry":                    {echoes: true, text: "The wiki cannot read that `watchlistexpiry=`. Use a duration like `1 month` or `infinite`."},
	"badexpiry-past":               {echoes: true, text: "That `watchlistexpiry=` is in the past. Give a time in the future, such as `1 month`."},
	"no-null-revision":             {echoes: true, text: "The wiki could not record the protection in the page's history (an internal problem). Check the page's protection on the wiki, then try again; if it repeats, tell the wiki's operators."},

	// action=validatepassword (1.39–1.45), and the password rules that
	// createaccount checks in the same way (PasswordPolicyChecks).
	"userexists": {
		text: "That user name is already taken: for `/createaccount` choose another `username=`; for `/validatepassword` give a `user=` nobody has yet, or leave `user=` out.",
		byCommand: map[string]string{
			cmdValidatePassword: "That user name is already taken, and `user=` must be a name nobody has yet: the wiki checks the password as for a new account of that name. Give another `user=`, or leave it out to check the password against the rules for an account like the bot's.",
			cmdCreateAccount:    "That user name is already taken on the wiki. Choose another `username=`.",
		},
	},
	"baduser_user": {echoes: true,
		text: "That is not a name a new account may have: names may not contain characters such as `@ : = # < > [ ] | { }`, may not look like an IP address, and from MediaWiki 1.43 may not start with `~` (kept for temporary accounts).",
		byCommand: map[string]string{
			cmdValidatePassword: "`user=` is not a name a new account may have: names may not contain characters such as `@ : = # < > [ ] | { }`, may not look like an IP address, and from MediaWiki 1.43 may not start with `~` (kept for temporary accounts). Give another `user=`, or leave it out.",
			cmdCreateAccount:    "That is not a name a new account may have: names may not contain characters such as `@ : = # < > [ ] | { }`, may not look like an IP address, and from MediaWiki 1.43 may not start with `~` (kept for temporary accounts). Choose another `username=`.",
			cmdResetPassword:    "`user=` is not a valid user name. Check the spelling, or give `email=ADDRESS` instead.",
		},
	},
	"baduser": {echoes: true,
		text: "That is not a valid user name: names may not contain characters such as `@ : # < > [ ] | { }` or be an IP address.",
		byCommand: map[string]string{
			cmdValidatePassword: "`user=` is not a valid user name: names may not contain characters such as `@ : # < > [ ] | { }` or be an IP address. Give another `user=`, or leave it out.",
			cmdCreateAccount:    "`username=` is not a valid user name: names may not contain characters such as `@ : # < > [ ] | { }` or be an IP address. Choose another `username=`.",
			cmdResetPassword:    "`user=` is not a valid user name. Check the spelling, or give `email=ADDRESS` instead.",
		},
	},
	"passwordtooshort":         {text: advicePasswordTooShort},
	"passwordtoolong":          {text: advicePasswordTooLong},
	"passwordincommonlist":     {text: advicePasswordCommon},
	"password-login-forbidden": {text: advicePasswordForbidden},
	"password-substring-username-match": {
		text: "The password appears within the user name (ignoring case), which the wiki forbids. Choose a `password=` that is not part of the name.",
		byCommand: map[string]string{
			cmdValidatePassword: "The password appears within the user name (ignoring case): the name in `user=`, or the bot's own name when `user=` is left out. Choose a `password=` that is not part of the name.",
			cmdCreateAccount:    "The password appears within `username=` (ignoring case), which the wiki forbids. Choose a `password=` that is not part of the new account's name.",
		},
	},
	// Older wikis' password rules (before 1.33 and 1.35); kept for wikis
	// whose extensions still use the keys.
	"password-name-match":      {text: "The password must not be the same as the user name. Choose another `password=`."},
	"passwordinlargeblacklist": {text: advicePasswordCommon},

	// action=resetpassword (1.39–1.45; PasswordReset).
	"passwordreset-disabled":      {text: "Password resets are switched off on this wiki. The person must ask the wiki's operators for a new password."},
	"passwordreset-emaildisabled": {text: "This wiki does not send email, so it cannot send a password reset."},
	"passwordreset-nodata":        {text: "Give `user=NAME` or `email=ADDRESS`. A wiki ignores `email=` unless it allows resets by email address, and `user=` unless it allows them by name; if one is ignored, try the other."},
	// Raised since PasswordReset checks the address itself (not in 1.39,
	// which answered success to a malformed address).
	"passwordreset-invalidemail": {text: "`email=` is not a valid email address. Check it, or give `user=NAME` instead."},
	"passwordreset-ignored":      {text: "Nothing on the wiki handled the reset: no login method there takes temporary passwords for this account. Tell the wiki's operators."},
	"passwordreset-nocaller":     {text: "The wiki could not tell who asked for the reset. Tell the bot's operators."},
	"passwordreset-nosuchcaller": {text: "The wiki could not tell who asked for the reset. Tell the bot's operators."},
	"passwordreset-emailerror":   {text: "The wiki could not send the reset mail. Tell the wiki's operators."},
	"blocked-mailpassword":       {text: "The address (or account) wikimod sends resets from is blocked on the wiki, and a blocked address may not request password resets. An administrator must lift or narrow the block."},
	"resetpass_forbidden-reason": {text: "This wiki does not let passwords be changed through it (they are managed elsewhere, such as a single sign-on), so it cannot reset them."},
	"resetpass_forbidden":        {text: "This wiki does not let passwords be changed through it, so it cannot reset them."},
	"invalidip":                  {text: "The wiki could not tell the address the request came from, so it refused. Tell the bot's operators (a proxy in front of the wiki may drop the address)."},
	"moduledisabled": {text: "This wiki has switched off this part of its API.",
		byCommand: map[string]string{cmdResetPassword: "This wiki offers no way to reset passwords through its API (resets by name and by email address are both off)."}},

	// action=createaccount: the messagecode of a FAIL status (1.39–1.45;
	// AuthManager and its providers). Several rules broken at once come as
	// one composite code: see explainCreateAccountFail.
	"invaliduser": {
		text: "That is not a valid user name: names may not contain characters such as `@ : = # < > [ ] | { }` or be an IP address, and from MediaWiki 1.43 may not start with `~`.",
		byCommand: map[string]string{
			cmdCreateAccount: "`username=` is not a name a new account may have: names may not contain characters such as `@ : = # < > [ ] | { }` (`=` from MediaWiki 1.43), may not look like an IP address or name a namespace, and from 1.43 may not start with `~` (kept for temporary accounts). Choose another `username=`.",
			cmdResetPassword: "`user=` is not a valid user name. Check the spelling, or give `email=ADDRESS` instead.",
		},
	},
	"usernameinprogress":                 {text: "Another request is creating an account with that name right now. Wait a moment and look the name up before trying again."},
	"badretype":                          {text: "The wiki got two different passwords. wikimod sends the same `password=` twice, so try again; if it repeats, tell the bot's operators."},
	"invalidemailaddress":                {text: "`email=` is not a valid email address. Correct it, or leave it out."},
	"noemailcreate":                      {text: "Without a `password=` the wiki mails a temporary password, so it needs a valid `email=`. Give `email=ADDRESS`, or give a `password=`."},
	"emaildisabled":                      {text: "This wiki does not send email, so it cannot mail a temporary password. Give a `password=` instead."},
	"acct_creation_throttle_hit":         {text: "Too many accounts were created from the bot's address recently (the wiki's text says how many and for how long). Try again later; an operator can give the bot password the `highvolume` grant, which lifts this limit."},
	"createaccount-hook-aborted":         {echoes: true, text: "An extension on the wiki refused to create this account; the wiki's text says why. Change what it names (often the `username=`) and try again."},
	"authmanager-create-disabled":        {text: "Account creation is switched off on this wiki."},
	"userlogin-cannot-create":            {text: "Account creation is switched off on this wiki."},
	"authmanager-create-no-primary":      {text: "None of the wiki's login methods would take the details given. Most often no `password=` was given and the wiki would not mail one from this session: give a `password=` (or `email=` for a mailed one)."},
	"authmanager-create-not-in-progress": {text: "The wiki lost track of the account creation (its session data ran out). Try the command again."},
	"sorbs_create_account_reason":        {text: "The wiki refuses to create accounts from the bot's address: a DNS blocklist names it as an open proxy. Tell the wiki's operators (they can exempt the address with `$wgProxyWhitelist`)."},
	"cantcreateaccount-text":             {text: "Account creation from the bot's address is blocked on the wiki (the wiki's text gives the block). An administrator must lift the block."},
	"cantcreateaccount-range-text":       {text: "Account creation from the bot's address range is blocked on the wiki (the wiki's text gives the block). An administrator must lift the block."},
	"createaccount-text":                 {text: "The wiki refused to create this account."},
	"createaccount-fail":                 {text: "The wiki refused to create the account without saying why. Check the details and try again."},
	"captcha-createaccount-fail":         {text: adviceCaptcha},
	// Extensions often installed with account creation open to the public.
	"antispoof-name-conflict":              {echoes: true, text: "The name is too similar to an existing account's (the AntiSpoof extension; the wiki's text names it). Choose a clearly different `username=`, or have an administrator with `override-antispoof` create it."},
	"antispoof-name-illegal":               {echoes: true, text: "The AntiSpoof extension refuses that name (the wiki's text says why, such as mixed scripts). Choose another `username=`."},
	"titleblacklist-forbidden-new-account": {echoes: true, text: "The wiki's title blacklist forbids that user name. Choose another `username=`, or have an administrator with `tboverride` create it."},
	"abusefilter-disallowed":               {echoes: true, text: "An abuse filter on the wiki refused this (its text says which). Change what it objects to, or ask an administrator."},

	// Any module: ApiMain, ApiBase and the permission checks (1.39–1.45).
	"permissiondenied": {
		text: "The bot's account lacks the wiki permission for this.",
		byCommand: map[string]string{
			cmdProtect:       "The bot's account lacks the right to protect pages (`protect`, or `editprotected` for the `sysop` level). An operator must give the bot password the `protect` grant and its account the rights.",
			cmdCreateAccount: "The bot's account lacks the right to create accounts (`createaccount`). An operator must give the bot password the `createaccount` grant and its account the right.",
			cmdResetPassword: "The account wikimod sends resets from lacks the right `editmyprivateinfo`, which no bot-password grant carries. Operators: leave `reset_with_bot_session` off so that resets are sent without logging in.",
		},
	},
	"badaccess": {
		text: "The bot's account lacks the wiki permission for this.",
		byCommand: map[string]string{
			cmdResetPassword: "The account wikimod sends resets from lacks the right `editmyprivateinfo`, which no bot-password grant carries. Operators: leave `reset_with_bot_session` off so that resets are sent without logging in.",
		},
	},
	"blocked": {
		text: "The bot's account or address is blocked on the wiki (the wiki's text gives the block). An administrator must lift the block.",
		byCommand: map[string]string{
			cmdProtect:       "The bot's account or address is blocked on the wiki, so it may not protect pages (the wiki's text gives the block). An administrator must lift the block.",
			cmdCreateAccount: "The bot's account or address is blocked from creating accounts (the wiki's text gives the block). An administrator must lift the block or allow account creation in it.",
		},
	},
	"autoblocked": {
		text: "The bot's address is blocked automatically, because a blocked user used it. An administrator must lift the autoblock (Special:BlockList).",
		byCommand: map[string]string{
			cmdCreateAccount: "The bot's address is blocked automatically from creating accounts, because a blocked user used it. An administrator must lift the autoblock (Special:BlockList).",
		},
	},
	"readonly":                      {text: adviceReadOnly},
	"ratelimited":                   {text: adviceRateLimited},
	"actionthrottledtext":           {text: adviceRateLimited},
	"maxlag":                        {text: "The wiki's database is lagging behind. Try again in a minute."},
	"writeapidenied":                {text: "The bot's account may not use the write API (MediaWiki 1.39 needs the `writeapi` right; 1.43 has dropped it). Tell the bot's operators."},
	"noapiwrite":                    {text: "This wiki has switched off changes through its API."},
	"mwoauth-invalid-authorization": {text: "The wiki rejected the bot's credentials. Tell the bot's operators."},
	"badvalue": {echoes: true, text: "A value is not one the wiki accepts; the wiki's text names the parameter.",
		byCommand: map[string]string{cmdProtect: "A value is not one the wiki accepts; the wiki's text names the parameter (`watchlist=` takes `watch`, `unwatch`, `preferences` or `nochange`)."}},
	"missingparam": {text: "A value the wiki requires is missing; the wiki's text names it. If it names `token`, tell the bot's operators.",
		byCommand: map[string]string{
			cmdProtect:          "Give the page (`/protect TITLE`, or `pageid=`) and at least one protection such as `edit=sysop`.",
			cmdValidatePassword: "Give the password to check: `password=`.",
			cmdResetPassword:    "Give `user=NAME` or `email=ADDRESS`.",
			cmdCreateAccount:    "Give `username=`, and a `password=` or an `email=` for a mailed one.",
		}},
	"invalidparammix": {text: "Some of the values given cannot be used together; the wiki's text names them.",
		byCommand: map[string]string{cmdProtect: "Give the page by title or by `pageid=`, not both."}},
	"mustbeposted":          {text: adviceOperators},
	"mustpostparams":        {text: adviceOperators},
	"unknown_action":        {text: "This wiki does not offer that API module (it may be too old, or the module is switched off)."},
	"badtoken":              {text: "The wiki rejected the bot's session token twice. Try again; if it repeats, tell the bot's operators."},
	"notoken":               {text: adviceOperators},
	"assertuserfailed":      {text: "The bot lost its session with the wiki and could not log in again. Tell the bot's operators."},
	"assertnameduserfailed": {text: "The bot's session with the wiki now belongs to another account. Tell the bot's operators."},
	"assertbotfailed":       {text: "The bot's account lacks the `bot` right the request asserted. Tell the bot's operators."},
	"unknownerror":          {echoes: true, text: adviceInternal},
	"unknownerror-nocode":   {text: adviceInternal},
	"noname": {text: "That is not a valid user name.",
		byCommand: map[string]string{cmdCreateAccount: "`username=` is not a name a new account may have. Choose another `username=`.", cmdResetPassword: "`user=` is not a valid user name. Check the spelling."}},
	"badipaddress": {text: "The wiki could not tell the address the request came from, so it refused. Tell the bot's operators."},
}

// commandForModule names the chat command behind an API module where only
// one command sends it. validatepassword is sent by two (/validatepassword,
// and /createaccount to check a password first), so it names none.
func commandForModule(module string) string {
	switch module {
	case mw.ModuleProtect:
		return cmdProtect
	case mw.ModuleResetPassword:
		return cmdResetPassword
	case mw.ModuleCreateAccount:
		return cmdCreateAccount
	}
	return ""
}

// adviceFor returns the advice for code met by command ("" when not known),
// and whether there is any.
func adviceFor(command, code string) (string, bool) {
	if a, ok := wikiAdvice[code]; ok {
		if s, ok := a.byCommand[command]; ok {
			return s, true
		}
		return a.text, true
	}
	switch {
	case strings.HasPrefix(code, "captcha"):
		// ConfirmEdit and similar extensions ask a question a chat bot
		// cannot answer for the person it creates an account for.
		return adviceCaptcha, true
	case strings.HasPrefix(code, "internal_api_error_"):
		return adviceInternal, true
	case strings.HasPrefix(code, "authmanager-"):
		return "The wiki's login system refused this; its text says why.", true
	}
	return "", false
}

// echoes reports whether the wiki's text for code could quote something a
// user typed. Unknown codes are assumed to.
func echoes(code string) bool {
	a, ok := wikiAdvice[code]
	return !ok || a.echoes
}

// wikiError turns an error from the wiki client into an *Error with plain
// words, for whichever command met it (see wikiErrorFor).
func wikiError(err error, secrets []string) *Error {
	return wikiErrorFor("", err, secrets)
}

// wikiErrorFor turns an error from the wiki client into an *Error with plain
// words, with the advice for command where a code means something else
// there. Without a command, the module that raised the error stands for the
// command where only one command sends that module. Secrets are kept out of
// anything the wiki echoed back.
func wikiErrorFor(command string, err error, secrets []string) *Error {
	var apiErr *mw.APIError
	var loginErr *mw.LoginError
	var unErr *mw.UnavailableError
	switch {
	case errors.As(err, &apiErr):
		if command == "" {
			command = commandForModule(apiErr.Module)
		}
		return explainWikiCodeFor(command, apiErr.Code, apiErr.Text, secrets)
	case errors.As(err, &loginErr):
		return &Error{Outcome: OutcomeFailed, Code: "login-" + strings.ToLower(loginErr.Result),
			Message: i18n.Raw("The bot cannot log in to the wiki, so nothing was done. Its operators need to check its bot password (`wikimod check`).")}
	case errors.Is(err, context.Canceled) && mw.MaybeApplied(err):
		return &Error{Outcome: OutcomeUnknown, Code: "stopped",
			Message: i18n.Raw("wikimod was stopping and cut this command short after its request was sent, so it may or may not have been done. Check on the wiki before trying again.")}
	case errors.Is(err, context.Canceled):
		return &Error{Outcome: OutcomeFailed, Code: "stopped",
			Message: i18n.Raw("wikimod was stopping and cut this command short before it changed anything on the wiki. Run it again in a minute.")}
	case mw.MaybeApplied(err):
		// The request reached the wiki, or may have: its answer was lost.
		// Commands that can read the wiki back do so before this; here
		// nothing more is known.
		return &Error{Outcome: OutcomeUnknown, Code: "outcome-unknown",
			Message: i18n.Raw("The request was sent, but the wiki's answer was lost (it timed out or the connection dropped), so wikimod cannot tell whether it was done. Check on the wiki before trying again.")}
	case errors.As(err, &unErr):
		return &Error{Outcome: OutcomeFailed, Code: "wiki-unavailable",
			Message: i18n.Raw("The wiki did not answer, so nothing was done. Try again in a few minutes; if it persists, tell the bot's operators.")}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Outcome: OutcomeFailed, Code: "timeout",
			Message: i18n.Raw("The wiki took too long to answer. Check on the wiki whether the change was made before trying again.")}
	}
	return nil
}

// explainWikiCode builds the reply for a wiki error code and the wiki's text,
// for whichever command met it (see explainWikiCodeFor).
func explainWikiCode(code, text string, secrets []string) *Error {
	return explainWikiCodeFor("", code, text, secrets)
}

// explainWikiCodeFor builds the reply for a wiki error code and the wiki's
// text met by command (protect, validatepassword, resetpassword,
// createaccount; "" when not known). The wiki's text is shown as the wiki
// wrote it, with a secret removed only where the text can quote what a user
// typed (see wikiText). A composite createaccount code, for several rules
// broken at once, is explained rule by rule.
func explainWikiCodeFor(command, code, text string, secrets []string) *Error {
	if isCompositeCode(code) {
		return explainCreateAccountFail(code, text, nil, secrets)
	}
	text = wikiText(code, text, secrets)
	advice, known := adviceFor(command, code)
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
	return &Error{Outcome: OutcomeWikiError, Code: code, Message: i18n.Raw(msg + " (code `" + code + "`)")}
}

// explainCreateAccountFail builds the reply for a FAIL status of
// action=createaccount from its messagecode and message. validity is what
// action=validatepassword answered for the same password and user name just
// before, if it was asked (nil otherwise): it names each rule, where the
// FAIL of several rules at once names none (see explainPasswordFailure).
//
// The FAIL message is wikitext (the API's default messageformat), so links
// and tags are turned into plain text first.
func explainCreateAccountFail(messagecode, message string, validity []mw.Message, secrets []string) *Error {
	if messagecode == "" {
		messagecode = "createaccount-fail"
	}
	message = plainWikitext(message)
	rules := explainPasswordFailure(messagecode, message, validity, secrets)
	if len(rules) <= 1 && !isCompositeCode(messagecode) {
		return explainWikiCodeFor(cmdCreateAccount, messagecode, message, secrets)
	}
	code := messagecode
	var b strings.Builder
	if len(rules) > 1 {
		b.WriteString("The wiki refused to create the account, for " + strconv.Itoa(len(rules)) + " reasons:")
	} else {
		b.WriteString("The wiki refused to create the account:")
	}
	for _, r := range rules {
		if code == messagecode && r.Code != "" {
			// The first rule the wiki named stands for the whole refusal in
			// the audit log: the composite code says nothing.
			code = r.Code
		}
		b.WriteString("\n- ")
		b.WriteString(r.Text)
		if r.Advice != "" {
			b.WriteString(" — " + r.Advice)
		}
		if r.Code != "" {
			b.WriteString(" (code `" + r.Code + "`)")
		}
	}
	return &Error{Outcome: OutcomeWikiError, Code: code, Message: i18n.Raw(b.String())}
}

// passwordRule is one reason the wiki gave for refusing a password or an
// account: the code of the rule when it can be told ("" otherwise), the
// wiki's text for it, and what to do.
type passwordRule struct {
	Code   string
	Text   string
	Advice string
}

// compositeCodeRe matches the messagecode MediaWiki makes of several errors
// at once. Status::getMessage (StatusFormatter::getMessage from 1.42) wraps
// them in a RawMessage whose key is its own text, "* $1\n* $2" for two;
// ApiAuthManagerHelper::formatAuthenticationResponse takes
// ApiMessage::create($message)->getApiCode() as messagecode, and getApiCode
// replaces every character outside [a-zA-Z0-9_-] with "_": "___1____2",
// "___1____2____3" and so on. The message itself is that RawMessage as text:
// "* first text\n* second text".
var compositeCodeRe = regexp.MustCompile(`^___1(?:____[0-9]+)+$`)

// isCompositeCode reports whether a createaccount messagecode stands for
// several errors at once. Besides "___1____2", newer MediaWiki, whose
// RawMessage::getKey answers "rawmessage", would send that instead.
func isCompositeCode(code string) bool {
	return compositeCodeRe.MatchString(code) || code == "rawmessage"
}

// compositeCount is how many errors a composite code says there are, or 0
// when it does not say.
func compositeCount(code string) int {
	if !compositeCodeRe.MatchString(code) {
		return 0
	}
	return strings.Count(code, "____") + 1
}

// englishRuleTexts are the beginnings of the English texts of the rules that
// come together in a composite createaccount FAIL (password policy and the
// temporary-password and local-password providers), used to name a rule
// when nothing better tells it.
var englishRuleTexts = []struct{ prefix, code string }{
	{"Passwords must be at least", "passwordtooshort"},
	{"Passwords cannot be longer than", "passwordtoolong"},
	{"The password entered is in a list of very commonly used passwords", "passwordincommonlist"},
	{"Your password must not appear within your username", "password-substring-username-match"},
	{"Your password must be different from your username", "password-name-match"},
	{"The use of this username and password has been forbidden", "password-login-forbidden"},
	{"You need to provide a valid email address", "noemailcreate"},
	{"This site cannot send emails", "emaildisabled"},
	{"The passwords you entered do not match", "badretype"},
	{"The email address cannot be accepted", "invalidemailaddress"},
}

// explainPasswordFailure splits a createaccount FAIL into the rules it
// reports and explains each. For a single error it returns one rule with the
// wiki's code. For several at once (a composite messagecode, see
// compositeCodeRe) it splits the message at its "* " items and names each
// rule by, in turn: the validatepassword message with the same text; the
// validatepassword message at the same place, when the counts agree (both
// list one password check's errors in the order the policy ran them); the
// English text of a core rule. A rule that none of these names keeps Code "".
//
// validity may be nil, or carry codes without texts. The texts returned are
// the wiki's own, with secrets removed only from those that can quote what a
// user typed; they never contain the password otherwise.
func explainPasswordFailure(messagecode, message string, validity []mw.Message, secrets []string) []passwordRule {
	var items []string
	var codes []string
	if isCompositeCode(messagecode) {
		items = splitComposite(message)
		if n := compositeCount(messagecode); (n > 0 && len(items) != n) || len(items) == 0 {
			// A text of its own holds "* " lines (a block's details do):
			// the items cannot be told apart, so the message stays whole.
			items = []string{strings.TrimSpace(message)}
		}
		codes = make([]string, len(items))
		used := make([]bool, len(validity))
		for i, it := range items {
			for j, v := range validity {
				if !used[j] && v.Text != "" && sameText(v.Text, it) {
					codes[i], used[j] = v.Code, true
					break
				}
			}
		}
		if len(validity) == len(items) {
			for i := range items {
				if codes[i] == "" && !used[i] {
					codes[i], used[i] = validity[i].Code, true
				}
			}
		}
		for i, it := range items {
			if codes[i] == "" {
				codes[i] = englishRuleCode(it)
			}
		}
	} else {
		items = []string{strings.TrimSpace(message)}
		codes = []string{messagecode}
	}
	rules := make([]passwordRule, len(items))
	for i, it := range items {
		r := passwordRule{Code: codes[i], Text: wikiText(codes[i], it, secrets)}
		if a, ok := adviceFor(cmdCreateAccount, codes[i]); ok {
			r.Advice = a
		} else {
			r.Advice = "Fix what the wiki names and try again; `/validatepassword` lists every password rule broken."
		}
		rules[i] = r
	}
	return rules
}

// splitComposite splits the text of a composite message ("* a\n* b") into
// its items. A line that does not start an item continues the one before.
func splitComposite(message string) []string {
	var items []string
	for _, line := range strings.Split(strings.TrimSpace(message), "\n") {
		switch {
		case strings.HasPrefix(line, "* ") || line == "*":
			items = append(items, strings.TrimSpace(strings.TrimPrefix(line, "*")))
		case len(items) > 0:
			items[len(items)-1] += "\n" + line
		case strings.TrimSpace(line) != "":
			// Text before the first item: no composite of ours.
			return nil
		}
	}
	return items
}

// englishRuleCode names the core rule an English text is of, or "".
func englishRuleCode(text string) string {
	for _, r := range englishRuleTexts {
		if strings.HasPrefix(text, r.prefix) {
			return r.code
		}
	}
	return ""
}

// sameText compares two of the wiki's texts, the one of an API error
// (plaintext, newlines turned to spaces) and the one of a createaccount
// message (wikitext), ignoring how space is laid out.
func sameText(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

// wikiText returns the wiki's text for code as it may be shown in a reply.
// The wiki never quotes the password it was sent (the API marks it
// sensitive, and no message of the four modules has it as a parameter), so
// a text that quotes nothing a user typed is shown exactly as the wiki wrote
// it: "The password entered is in a list of very commonly used passwords"
// stays whole even when the password is "password". Only the texts that can
// quote a user's input (a title, a user name, an expiry), and those of codes
// not known, could carry a secret someone typed into another field; in them
// each whole occurrence of a secret is replaced (see redactWhole).
func wikiText(code, text string, secrets []string) string {
	if !echoes(code) {
		return text
	}
	return redactWhole(text, secrets)
}

// redactedMark stands in for a secret. It is the same whatever its length,
// so it tells nothing of the secret.
const redactedMark = "[redacted]"

// redactWhole replaces each whole occurrence of a secret in text: one not
// inside a longer word, so that "passwords" keeps its letters when the
// secret is "password" (replacing inside it would both mangle the wiki's
// words and show which word the secret is part of). A secret that begins or
// ends with punctuation needs no word boundary on that side. Longer secrets
// are matched first, so one that contains another is replaced whole, and the
// mark itself is never matched again.
func redactWhole(text string, secrets []string) string {
	var ss []string
	for _, s := range secrets {
		if s != "" {
			ss = append(ss, s)
		}
	}
	if len(ss) == 0 || text == "" {
		return text
	}
	sort.SliceStable(ss, func(i, j int) bool { return len(ss[i]) > len(ss[j]) })
	var b strings.Builder
	for i := 0; i < len(text); {
		if s := wholeSecretAt(text, i, ss); s != "" {
			b.WriteString(redactedMark)
			i += len(s)
			continue
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		b.WriteString(text[i : i+size])
		i += size
	}
	return b.String()
}

// wholeSecretAt returns the first of secrets that occurs whole at text[i:],
// or "".
func wholeSecretAt(text string, i int, secrets []string) string {
	for _, s := range secrets {
		if !strings.HasPrefix(text[i:], s) {
			continue
		}
		first, _ := utf8.DecodeRuneInString(s)
		last, _ := utf8.DecodeLastRuneInString(s)
		if i > 0 && isWordRune(first) {
			if before, _ := utf8.DecodeLastRuneInString(text[:i]); isWordRune(before) {
				continue
			}
		}
		if end := i + len(s); end < len(text) && isWordRune(last) {
			if after, _ := utf8.DecodeRuneInString(text[end:]); isWordRune(after) {
				continue
			}
		}
		return s
	}
	return ""
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_'
}

// redact removes every occurrence of a secret from text bound for the logs
// (an internal error, a recovered panic): there nothing of a secret may
// remain, and the text is for operators, not the wiki's words shown to a
// user. Replies use wikiText.
func redact(text string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, redactedMark)
		}
	}
	return text
}

// Wikitext markup found in the messages of createaccount: links, the few
// tags core messages use, bold and italics, and the directional marks that
// wrap user names.
var (
	wikiLinkLabelRe = regexp.MustCompile(`\[\[[^\[\]|]*\|([^\[\]]*)\]\]`)
	wikiLinkRe      = regexp.MustCompile(`\[\[:?([^\[\]|]*)\]\]`)
	extLinkRe       = regexp.MustCompile(`\[(?:https?:)?//[^\s\]]+\s+([^\]]*)\]`)
	htmlTagRe       = regexp.MustCompile(`(?i)</?(?:strong|em|b|i|u|s|code|kbd|var|samp|span|small|big|sup|sub|bdi|p|div|ul|ol|li)(?:\s[^<>]*)?>|<br\s*/?>`)
	quoteMarkupRe   = regexp.MustCompile(`'{2,}`)
	bidiMarks       = strings.NewReplacer("\u202a", "", "\u202b", "", "\u202c", "", "\u202d", "", "\u202e", "",
		"\u2066", "", "\u2067", "", "\u2068", "", "\u2069", "", "\u200e", "", "\u200f", "")
)

// plainWikitext turns the wikitext of a createaccount message into plain
// text: a link becomes its label, tags and bold or italic quotes go, and
// entities (wfEscapeWikiText writes "[" as "&#91;") are decoded.
func plainWikitext(s string) string {
	s = wikiLinkLabelRe.ReplaceAllString(s, "$1")
	s = wikiLinkRe.ReplaceAllString(s, "$1")
	s = extLinkRe.ReplaceAllString(s, "$1")
	s = htmlTagRe.ReplaceAllString(s, "")
	s = quoteMarkupRe.ReplaceAllString(s, "")
	s = bidiMarks.Replace(s)
	return html.UnescapeString(s)
}
