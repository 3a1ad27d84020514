package commands

import (
	"context"
	"errors"
	"html"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// advice says, for one error code, what it means for the person in the chat
// and how to do it right: key is the catalogue key of the advice that holds
// whatever the command. Some codes mean something more particular to one
// command; that command's own table (Command.Advice, in the command's file)
// names the advice for them, and this one knows no command.
type advice struct {
	key string
	// echoes is set for codes whose wiki text can quote something a user
	// typed (a title, an expiry, a user name). Only those texts could carry
	// a secret, if someone typed it into another field; the wiki never
	// quotes the password parameter itself, so the texts of every other code
	// are shown exactly as the wiki wrote them.
	echoes bool
}

// Advice shared by codes that mean the same thing (catalogue keys).
const (
	adviceUserConfigPage = "wikimod-error-script-page"
	adviceRateLimited    = "wikimod-error-ratelimited"
	adviceInternal       = "wikimod-error-unknownerror"
	adviceOperators      = "wikimod-error-bot-bug"
	adviceCaptcha        = "wikimod-error-captcha"
	advicePasswordCommon = "wikimod-error-passwordincommonlist"
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
	"invalidexpiry":                {echoes: true, key: "wikimod-error-invalidexpiry"},
	"pastexpiry":                   {echoes: true, key: "wikimod-error-pastexpiry"},
	"toofewexpiries":               {key: "wikimod-error-toofewexpiries"},
	"protect-invalidlevel":         {echoes: true, key: "wikimod-error-protect-invalidlevel"},
	"protect-invalidaction":        {echoes: true, key: "wikimod-error-protect-invalidaction"},
	"create-titleexists":           {key: "wikimod-error-create-titleexists"},
	"missingtitle-createonly":      {key: "wikimod-error-missingtitle-createonly"},
	"pagecannotexist":              {key: "wikimod-error-pagecannotexist"},
	"invalidtitle":                 {echoes: true, key: "wikimod-error-invalidtitle"},
	"nosuchpageid":                 {key: "wikimod-error-nosuchpageid"},
	"missingtitle":                 {key: "wikimod-error-missingtitle"},
	"badinteger":                   {echoes: true, key: "wikimod-error-badinteger"},
	"cantedit":                     {key: "wikimod-error-cantedit"},
	"protectednamespace":           {key: "wikimod-error-protectednamespace"},
	"protectednamespace-interface": {key: "wikimod-error-protectednamespace-interface"},
	"unsupportednamespace":         {key: "wikimod-error-unsupportednamespace"},
	"cascadeprotected":             {key: "wikimod-error-cascadeprotected"},
	"protectedpage":                {key: "wikimod-error-protectedpage"},
	"sitecssprotected":             {key: adviceUserConfigPage},
	"sitejsonprotected":            {key: adviceUserConfigPage},
	"sitejsprotected":              {key: adviceUserConfigPage},
	"siterawhtmlprotected":         {key: adviceUserConfigPage},
	"customcssprotected":           {key: adviceUserConfigPage},
	"customjsonprotected":          {key: adviceUserConfigPage},
	"customjsprotected":            {key: adviceUserConfigPage},
	"mycustomcssprotected":         {key: adviceUserConfigPage},
	"mycustomjsonprotected":        {key: adviceUserConfigPage},
	"mycustomjsprotected":          {key: adviceUserConfigPage},
	"mycustomjsredirectprotected":  {key: adviceUserConfigPage},
	"badtags":                      {echoes: true, key: "wikimod-error-badtags"},
	"tags-apply-not-allowed-one":   {echoes: true, key: "wikimod-error-badtags"},
	"tags-apply-not-allowed-multi": {echoes: true, key: "wikimod-error-tags-apply-not-allowed-multi"},
	"tags-apply-no-permission":     {key: "wikimod-error-tags-apply-no-permission"},
	"tags-apply-blocked":           {key: "wikimod-error-tags-apply-blocked"},
	"badexpiry":                    {echoes: true, key: "wikimod-error-badexpiry"},
	"badexpiry-past":               {echoes: true, key: "wikimod-error-badexpiry-past"},
	"no-null-revision":             {echoes: true, key: "wikimod-error-no-null-revision"},

	// action=validatepassword (1.39–1.45), and the password rules that
	// createaccount checks in the same way (PasswordPolicyChecks).
	"userexists":                        {key: "wikimod-error-userexists"},
	"baduser_user":                      {echoes: true, key: "wikimod-error-baduser_user"},
	"baduser":                           {echoes: true, key: "wikimod-error-baduser"},
	"passwordtooshort":                  {key: "wikimod-error-passwordtooshort"},
	"passwordtoolong":                   {key: "wikimod-error-passwordtoolong"},
	"passwordincommonlist":              {key: advicePasswordCommon},
	"password-login-forbidden":          {key: "wikimod-error-password-login-forbidden"},
	"password-substring-username-match": {key: "wikimod-error-password-substring-username-match"},

	// Older wikis' password rules (before 1.33 and 1.35); kept for wikis
	// whose extensions still use the keys.
	"password-name-match":      {key: "wikimod-error-password-name-match"},
	"passwordinlargeblacklist": {key: advicePasswordCommon},

	// action=resetpassword (1.39–1.45; PasswordReset).
	"passwordreset-disabled":      {key: "wikimod-error-passwordreset-disabled"},
	"passwordreset-emaildisabled": {key: "wikimod-error-passwordreset-emaildisabled"},
	"passwordreset-nodata":        {key: "wikimod-error-passwordreset-nodata"},

	// Raised since PasswordReset checks the address itself (not in 1.39,
	// which answered success to a malformed address).
	"passwordreset-invalidemail": {key: "wikimod-error-passwordreset-invalidemail"},
	"passwordreset-ignored":      {key: "wikimod-error-passwordreset-ignored"},
	"passwordreset-nocaller":     {key: "wikimod-error-passwordreset-nocaller"},
	"passwordreset-nosuchcaller": {key: "wikimod-error-passwordreset-nocaller"},
	"passwordreset-emailerror":   {key: "wikimod-error-passwordreset-emailerror"},
	"blocked-mailpassword":       {key: "wikimod-error-blocked-mailpassword"},
	"resetpass_forbidden-reason": {key: "wikimod-error-resetpass_forbidden-reason"},
	"resetpass_forbidden":        {key: "wikimod-error-resetpass_forbidden"},
	"invalidip":                  {key: "wikimod-error-invalidip"},
	"moduledisabled":             {key: "wikimod-error-moduledisabled"},

	// action=createaccount: the messagecode of a FAIL status (1.39–1.45;
	// AuthManager and its providers). Several rules broken at once come as
	// one composite code: see explainCreateAccountFail.
	"invaliduser":                        {key: "wikimod-error-invaliduser"},
	"usernameinprogress":                 {key: "wikimod-error-usernameinprogress"},
	"badretype":                          {key: "wikimod-error-badretype"},
	"invalidemailaddress":                {key: "wikimod-error-invalidemailaddress"},
	"noemailcreate":                      {key: "wikimod-error-noemailcreate"},
	"emaildisabled":                      {key: "wikimod-error-emaildisabled"},
	"acct_creation_throttle_hit":         {key: "wikimod-error-acct_creation_throttle_hit"},
	"createaccount-hook-aborted":         {echoes: true, key: "wikimod-error-createaccount-hook-aborted"},
	"authmanager-create-disabled":        {key: "wikimod-error-authmanager-create-disabled"},
	"userlogin-cannot-create":            {key: "wikimod-error-authmanager-create-disabled"},
	"authmanager-create-no-primary":      {key: "wikimod-error-authmanager-create-no-primary"},
	"authmanager-create-not-in-progress": {key: "wikimod-error-authmanager-create-not-in-progress"},
	"sorbs_create_account_reason":        {key: "wikimod-error-sorbs_create_account_reason"},
	"cantcreateaccount-text":             {key: "wikimod-error-cantcreateaccount-text"},
	"cantcreateaccount-range-text":       {key: "wikimod-error-cantcreateaccount-range-text"},
	"createaccount-text":                 {key: "wikimod-error-createaccount-text"},
	"createaccount-fail":                 {key: "wikimod-error-createaccount-fail"},
	"captcha-createaccount-fail":         {key: adviceCaptcha},

	// Extensions often installed with account creation open to the public.
	"antispoof-name-conflict":              {echoes: true, key: "wikimod-error-antispoof-name-conflict"},
	"antispoof-name-illegal":               {echoes: true, key: "wikimod-error-antispoof-name-illegal"},
	"titleblacklist-forbidden-new-account": {echoes: true, key: "wikimod-error-titleblacklist-forbidden-new-account"},
	"abusefilter-disallowed":               {echoes: true, key: "wikimod-error-abusefilter-disallowed"},

	// Any module: ApiMain, ApiBase and the permission checks (1.39–1.45).
	"permissiondenied":              {key: "wikimod-error-permissiondenied"},
	"badaccess":                     {key: "wikimod-error-permissiondenied"},
	"blocked":                       {key: "wikimod-error-blocked"},
	"autoblocked":                   {key: "wikimod-error-autoblocked"},
	"readonly":                      {key: "wikimod-error-readonly"},
	"ratelimited":                   {key: adviceRateLimited},
	"actionthrottledtext":           {key: adviceRateLimited},
	"maxlag":                        {key: "wikimod-error-maxlag"},
	"writeapidenied":                {key: "wikimod-error-writeapidenied"},
	"noapiwrite":                    {key: "wikimod-error-noapiwrite"},
	"mwoauth-invalid-authorization": {key: "wikimod-error-mwoauth-invalid-authorization"},
	"badvalue":                      {echoes: true, key: "wikimod-error-badvalue"},
	"missingparam":                  {key: "wikimod-error-missingparam"},
	"invalidparammix":               {key: "wikimod-error-invalidparammix"},
	"mustbeposted":                  {key: adviceOperators},
	"mustpostparams":                {key: adviceOperators},
	"unknown_action":                {key: "wikimod-error-unknown_action"},
	"badtoken":                      {key: "wikimod-error-badtoken"},
	"notoken":                       {key: adviceOperators},
	"assertuserfailed":              {key: "wikimod-error-assertuserfailed"},
	"assertnameduserfailed":         {key: "wikimod-error-assertnameduserfailed"},
	"assertbotfailed":               {key: "wikimod-error-assertbotfailed"},
	"unknownerror":                  {echoes: true, key: adviceInternal},
	"unknownerror-nocode":           {key: adviceInternal},
	"noname":                        {key: "wikimod-error-noname"},
	"badipaddress":                  {key: "wikimod-error-badipaddress"},
}

// adviceFor returns the advice for code met by a command whose own advice
// (Command.Advice, nil for none) is commandAdvice, and whether there is any.
func adviceFor(commandAdvice map[string]string, code string) (i18n.Message, bool) {
	if key, ok := commandAdvice[code]; ok {
		return i18n.M(key), true
	}
	if a, ok := wikiAdvice[code]; ok {
		return i18n.M(a.key), true
	}
	switch {
	case strings.HasPrefix(code, "captcha"):
		// ConfirmEdit and similar extensions ask a question a chat bot
		// cannot answer for the person it creates an account for.
		return i18n.M(adviceCaptcha), true
	case strings.HasPrefix(code, "internal_api_error_"):
		return i18n.M(adviceInternal), true
	case strings.HasPrefix(code, "authmanager-"):
		return i18n.M("wikimod-error-authmanager"), true
	}
	return i18n.Message{}, false
}

// echoes reports whether the wiki's text for code could quote something a
// user typed. Unknown codes are assumed to.
func echoes(code string) bool {
	a, ok := wikiAdvice[code]
	return !ok || a.echoes
}

// wikiError turns an error from the wiki client into an *Error with plain
// words, with the general advice for a wiki error code (see wikiErrorFor).
func wikiError(err error, secrets []string) *Error {
	return wikiErrorFor(nil, err, secrets)
}

// wikiErrorFor turns an error from the wiki client into an *Error with plain
// words, or returns nil when err is none of the wiki's. commandAdvice is the
// advice of the command that met it (Command.Advice), for the codes that
// mean something particular there. Secrets are kept out of anything the
// wiki echoed back.
func wikiErrorFor(commandAdvice map[string]string, err error, secrets []string) *Error {
	var apiErr *mw.APIError
	var loginErr *mw.LoginError
	var unErr *mw.UnavailableError
	switch {
	case errors.As(err, &apiErr):
		return explainWikiCodeFor(commandAdvice, apiErr.Code, apiErr.Text, secrets)
	case errors.As(err, &loginErr):
		return &Error{Outcome: OutcomeFailed, Code: "login-" + strings.ToLower(loginErr.Result), Message: i18n.M("wikimod-wikierror-login")}
	case errors.Is(err, context.Canceled) && mw.MaybeApplied(err):
		return &Error{Outcome: OutcomeUnknown, Code: "stopped", Message: i18n.M("wikimod-wikierror-stopped-after-send")}
	case errors.Is(err, context.Canceled):
		return &Error{Outcome: OutcomeFailed, Code: "stopped", Message: i18n.M("wikimod-wikierror-stopped")}
	case mw.MaybeApplied(err):
		// The request reached the wiki, or may have: its answer was lost.
		// Commands that can read the wiki back do so before this; here
		// nothing more is known.
		return &Error{Outcome: OutcomeUnknown, Code: "outcome-unknown", Message: i18n.M("wikimod-wikierror-answer-lost")}
	case errors.As(err, &unErr):
		return &Error{Outcome: OutcomeFailed, Code: "wiki-unavailable", Message: i18n.M("wikimod-wikierror-unavailable")}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Outcome: OutcomeFailed, Code: "timeout", Message: i18n.M("wikimod-wikierror-timeout")}
	}
	return nil
}

// explainWikiCode builds the reply for a wiki error code and the wiki's
// text, with the general advice (see explainWikiCodeFor).
func explainWikiCode(code, text string, secrets []string) *Error {
	return explainWikiCodeFor(nil, code, text, secrets)
}

// explainWikiCodeFor builds the reply for a wiki error code and the wiki's
// text met by a command whose own advice is commandAdvice (nil for none).
// The wiki's text is shown as the wiki wrote it, with a secret removed only
// where the text can quote what a user typed (see wikiText). A composite
// createaccount code, for several rules broken at once, is explained rule
// by rule.
func explainWikiCodeFor(commandAdvice map[string]string, code, text string, secrets []string) *Error {
	if isCompositeCode(code) {
		return explainCreateAccountFail(commandAdvice, code, text, nil, secrets)
	}
	text = wikiText(code, text, secrets)
	advice, known := adviceFor(commandAdvice, code)
	var msg i18n.Message
	switch {
	case known && text != "":
		msg = i18n.Lines(i18n.M("wikimod-wikierror-said", i18n.Raw(text)), i18n.M("wikimod-wikierror-code", advice, code))
	case known:
		msg = i18n.M("wikimod-wikierror-code", advice, code)
	case text != "":
		msg = i18n.M("wikimod-wikierror-code", i18n.M("wikimod-wikierror-said", i18n.Raw(text)), code)
	default:
		msg = i18n.M("wikimod-wikierror-code", i18n.M("wikimod-wikierror-refused"), code)
	}
	return &Error{Outcome: OutcomeWikiError, Code: code, Message: msg}
}

// explainCreateAccountFail builds the reply for a FAIL status of
// action=createaccount from its messagecode and message, with the advice
// of the command that met it (commandAdvice, nil for none). validity is
// what action=validatepassword answered for the same password and user
// name just before, if it was asked (nil otherwise): it names each rule,
// where the FAIL of several rules at once names none (see
// explainPasswordFailure).
//
// The FAIL message is wikitext (the API's default messageformat), so links
// and tags are turned into plain text first.
func explainCreateAccountFail(commandAdvice map[string]string, messagecode, message string, validity []mw.Message, secrets []string) *Error {
	if messagecode == "" {
		messagecode = "createaccount-fail"
	}
	message = plainWikitext(message)
	rules := explainPasswordFailure(commandAdvice, messagecode, message, validity, secrets)
	if len(rules) <= 1 && !isCompositeCode(messagecode) {
		return explainWikiCodeFor(commandAdvice, messagecode, message, secrets)
	}
	code := messagecode
	lines := []i18n.Message{i18n.M("wikimod-wikierror-account-refused", len(rules))}
	for _, r := range rules {
		if code == messagecode && r.Code != "" {
			// The first rule the wiki named stands for the whole refusal in
			// the audit log: the composite code says nothing.
			code = r.Code
		}
		line := i18n.M("wikimod-wikierror-rule", i18n.Raw(r.Text), r.Advice)
		if r.Code != "" {
			line = i18n.M("wikimod-wikierror-code", line, r.Code)
		}
		lines = append(lines, line)
	}
	return &Error{Outcome: OutcomeWikiError, Code: code, Message: i18n.Lines(lines...)}
}

// passwordRule is one reason the wiki gave for refusing a password or an
// account: the code of the rule when it can be told ("" otherwise), the
// wiki's text for it, and what to do.
type passwordRule struct {
	Code   string
	Text   string
	Advice i18n.Message
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
// user typed; they never contain the password otherwise. The advice is
// commandAdvice's where it has some for the rule (see adviceFor).
func explainPasswordFailure(commandAdvice map[string]string, messagecode, message string, validity []mw.Message, secrets []string) []passwordRule {
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
		if a, ok := adviceFor(commandAdvice, codes[i]); ok {
			r.Advice = a
		} else {
			r.Advice = i18n.M("wikimod-wikierror-rule-fix")
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
