package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/qqx"
	"github.com/wikimod/wikimod/mw"
)

// Texts the wiki really sent (MediaWiki 1.39, errorformat=plaintext for API
// errors, the default wikitext messageformat for createaccount's message).
const (
	textCommon    = "The password entered is in a list of very commonly used passwords. Please choose a more unique password."
	textTooShort  = "Passwords must be at least 8 characters."
	textSubstring = "Your password must not appear within your username."
	// A createaccount FAIL for a password that breaks two rules at once.
	compositeCode    = "___1____2"
	compositeMessage = "* " + textTooShort + "\n* " + textCommon
	// A createaccount FAIL from a blocked address.
	blockedMessage = "<strong>Your username or IP address has been blocked.</strong>\n\nThe block was made by [[User:Admin|\u202aAdmin\u202c]].\n" +
		"The reason given is <em>probe block</em>.\n\n* Start of block: 22:34, 21 November 2026\n* Expiration of block: infinite\n* Intended blockee: 127.0.0.1\n\n" +
		"You can contact [[User:Admin|\u202aAdmin\u202c]] or another [[TestWiki:Administrators|administrator]] to discuss the block."
)

// The codes users are known to have met, each of which must be explained.
var mustExplain = []string{
	// action=protect
	"invalidexpiry", "pastexpiry", "toofewexpiries", "protect-invalidlevel", "protect-invalidaction",
	"create-titleexists", "missingtitle-createonly", "cantedit", "pagecannotexist", "invalidtitle",
	"nosuchpageid", "badinteger", "badtags", "cascadeprotected", "protectednamespace",
	"protectednamespace-interface", "customcssprotected", "sitejsprotected",
	// action=validatepassword and the password rules
	"userexists", "baduser", "baduser_user", "passwordtooshort", "passwordtoolong",
	"passwordincommonlist", "password-substring-username-match", "password-login-forbidden",
	"password-name-match", "passwordinlargeblacklist",
	// action=resetpassword
	"passwordreset-disabled", "passwordreset-emaildisabled", "passwordreset-nodata",
	"passwordreset-invalidemail", "passwordreset-ignored", "blocked-mailpassword",
	"resetpass_forbidden-reason", "invalidip", "moduledisabled", "badaccess",
	// action=createaccount
	"invaliduser", "usernameinprogress", "badretype", "invalidemailaddress", "noemailcreate",
	"emaildisabled", "acct_creation_throttle_hit", "createaccount-hook-aborted",
	"authmanager-create-disabled", "authmanager-create-no-primary", "authmanager-create-not-in-progress",
	"userlogin-cannot-create", "sorbs_create_account_reason", "cantcreateaccount-text",
	"captcha-createaccount-fail", "blocked", "autoblocked",
	// any module
	"badtoken", "assertuserfailed", "assertnameduserfailed", "readonly", "ratelimited", "maxlag",
	"permissiondenied", "missingparam", "invalidparammix", "badvalue", "mustbeposted", "mustpostparams",
	"writeapidenied", "internal_api_error_DBQueryError", "captcha-anything", "authmanager-anything",
}

// commandAdvice is each command's own advice (Command.Advice), and none
// ("") for a command that has none.
var commandAdvice = map[string]map[string]string{
	"":                  nil,
	cmdProtect:          protectAdvice,
	cmdValidatePassword: validatePasswordAdvice,
	cmdResetPassword:    resetPasswordAdvice,
	cmdCreateAccount:    createAccountAdvice,
}

// inCatalogue reports whether the English catalogue has key.
func inCatalogue(key string) bool {
	return strings.HasPrefix(key, "wikimod-error-") && i18n.Default().Doc(key) != "" && !strings.Contains(english(i18n.M(key)), "⧼")
}

func TestWikiErrorsEveryCodeHasAdvice(t *testing.T) {
	for code, a := range wikiAdvice {
		if !inCatalogue(a.key) {
			t.Errorf("%s: advice %q is not in the catalogue", code, a.key)
		}
	}
	for cmd, table := range commandAdvice {
		for code, key := range table {
			if _, ok := wikiAdvice[code]; !ok {
				// The general table says whether the code's text echoes
				// what a user typed.
				t.Errorf("/%s: advice for %s, a code wikiAdvice does not know", cmd, code)
			}
			if !inCatalogue(key) {
				t.Errorf("/%s: advice %q for %s is not in the catalogue", cmd, key, code)
			}
		}
	}
	for _, code := range mustExplain {
		for cmd, table := range commandAdvice {
			if m, ok := adviceFor(table, code); !ok || strings.TrimSpace(english(m)) == "" {
				t.Errorf("%s from %q: not explained", code, cmd)
			}
		}
	}
}

func TestWikiErrorsAdviceDependsOnCommand(t *testing.T) {
	cases := []struct {
		code, command string
		says          []string
		not           []string
	}{
		{"userexists", cmdValidatePassword, []string{"already taken", "`user=`", "nobody has yet"}, []string{"username="}},
		{"userexists", cmdCreateAccount, []string{"already taken", "`username=`"}, []string{"`user=`"}},
		{"invaliduser", cmdCreateAccount, []string{"`username=`", "`~`"}, nil},
		{"invaliduser", cmdResetPassword, []string{"`user=`", "`email="}, []string{"username="}},
		{"baduser_user", cmdValidatePassword, []string{"`user=`", "`~`", "1.43"}, nil},
		{"baduser_user", cmdCreateAccount, []string{"`username=`"}, nil},
		{"baduser", cmdResetPassword, []string{"`user=`"}, []string{"username="}},
		{"password-substring-username-match", cmdValidatePassword, []string{"`user=`", "`password=`"}, []string{"username="}},
		{"password-substring-username-match", cmdCreateAccount, []string{"`username=`", "`password=`"}, nil},
		{"permissiondenied", cmdProtect, []string{"`protect`", "editprotected"}, nil},
		{"permissiondenied", cmdCreateAccount, []string{"`createaccount`"}, nil},
		{"badaccess", cmdResetPassword, []string{"editmyprivateinfo", "reset_with_bot_session"}, nil},
		{"blocked", cmdCreateAccount, []string{"creating accounts"}, nil},
		{"blocked", cmdProtect, []string{"protect"}, nil},
		{"missingparam", cmdProtect, []string{"`pageid=`", "edit=sysop"}, nil},
		{"missingparam", cmdValidatePassword, []string{"`password=`"}, nil},
		{"invalidparammix", cmdProtect, []string{"not both"}, nil},
		{"moduledisabled", cmdResetPassword, []string{"reset"}, nil},
	}
	for _, tc := range cases {
		m, _ := adviceFor(commandAdvice[tc.command], tc.code)
		s := english(m)
		for _, want := range tc.says {
			if !strings.Contains(s, want) {
				t.Errorf("%s from /%s: %q lacks %q", tc.code, tc.command, s, want)
			}
		}
		for _, not := range tc.not {
			if strings.Contains(s, not) {
				t.Errorf("%s from /%s: %q should not say %q", tc.code, tc.command, s, not)
			}
		}
		if general, _ := adviceFor(nil, tc.code); english(general) == s {
			t.Errorf("%s from /%s: the general advice, not the command's", tc.code, tc.command)
		}
	}
	// A command's own advice differs from the general advice, or it would
	// not need it.
	for cmd, table := range commandAdvice {
		for code, key := range table {
			if general, _ := adviceFor(nil, code); english(general) == english(i18n.M(key)) {
				t.Errorf("%s: advice for /%s repeats the general advice", code, cmd)
			}
		}
	}
}

// TestWikiErrorsCommandsOwnAdvice: the advice a command carries is what a
// refusal it meets says; without it, the general advice, whichever module
// raised the code.
func TestWikiErrorsCommandsOwnAdvice(t *testing.T) {
	err := fmt.Errorf("reset: %w", &mw.APIError{Code: "invaliduser", Text: "Invalid username.", Module: "resetpassword"})
	e := wikiErrorFor(resetPasswordAdvice, err, nil)
	if e == nil || !strings.Contains(english(e.Message), english(i18n.M("wikimod-error-baduser-resetpassword"))) || e.Code != "invaliduser" || e.Outcome != OutcomeWikiError {
		t.Fatalf("wikiErrorFor = %+v, want the resetpassword advice", e)
	}
	if e := wikiError(err, nil); !strings.Contains(english(e.Message), english(i18n.M("wikimod-error-invaliduser"))) {
		t.Errorf("without a command: %q, want the general advice", english(e.Message))
	}
	err = &mw.APIError{Code: "userexists", Text: "Username entered already in use.", Module: "validatepassword"}
	if e := wikiErrorFor(createAccountAdvice, err, nil); !strings.Contains(english(e.Message), english(i18n.M("wikimod-error-userexists-createaccount"))) {
		t.Errorf("from /createaccount: %q, want its advice", english(e.Message))
	}
}

// TestWikiErrorsHaveNoEnglish renders in qqx the explanation of every code
// the tables know and the tests name, as each command meets it, and each
// other error of the wiki: nothing but the catalogue's keys, the wiki's
// own text and the code may be left.
func TestWikiErrorsHaveNoEnglish(t *testing.T) {
	qx := i18n.Localizer{Lang: "qqx"}
	const text = "Wiki text"
	codes := append([]string(nil), mustExplain...)
	for code := range wikiAdvice {
		codes = append(codes, code)
	}
	codes = append(codes, "some-extension-code", compositeCode)
	check := func(what string, e *Error, given ...string) {
		t.Helper()
		if e == nil {
			t.Errorf("%s: no explanation", what)
			return
		}
		out := qx.Text(e.Message)
		if left := qqx.English(out, given...); len(left) > 0 {
			t.Errorf("%s: English outside the catalogue %q in:\n%s", what, left, out)
		}
		if strings.Contains(english(e.Message), "⧼") {
			t.Errorf("%s: a message missing from the catalogue: %s", what, english(e.Message))
		}
	}
	for cmd, table := range commandAdvice {
		for _, code := range codes {
			// The code is the last parameter of a message; given whole, it
			// would take the same word out of a key.
			check(cmd+" "+code, explainWikiCodeFor(table, code, text, nil), text, ", "+code+")")
			check(cmd+" "+code+" without text", explainWikiCodeFor(table, code, "", nil), ", "+code+")")
		}
	}
	check("composite FAIL", explainCreateAccountFail(createAccountAdvice, compositeCode, compositeMessage, nil, nil), textCommon, textTooShort, ", passwordtooshort)", ", passwordincommonlist)")
	check("unknown composite rule", explainCreateAccountFail(createAccountAdvice, compositeCode, "* Eins.\n* Zwei.", nil, nil), "Eins.", "Zwei.")
	for _, err := range []error{
		&mw.LoginError{Result: "Failed"},
		context.Canceled,
		context.DeadlineExceeded,
		&mw.UnavailableError{Err: errors.New("connection refused")},
		&mw.UnavailableError{Err: errors.New("read: connection reset"), MaybeApplied: true},
		&mw.UnavailableError{Err: context.Canceled, MaybeApplied: true},
	} {
		check(fmt.Sprint(err), wikiError(err, nil))
	}
	for _, res := range []*mw.CreateAccountResult{
		{Status: "UI", Message: text, Requests: []mw.AuthRequest{{ID: "CaptchaAuthenticationRequest", Fields: map[string]mw.AuthRequestField{
			"captchaWord": {Label: "Qqx Label"}, "captchaId": {}}}}},
		{Status: "UI"},
		{Status: "REDIRECT"},
		{Status: "RESTART", Message: text},
	} {
		check("createaccount "+res.Status, unfinished(res), text, "Qqx Label", "captchaId")
	}
	check("policy refusal", policyRefusal([]mw.Message{{Code: "passwordtooshort", Text: textTooShort}, {Code: "some-rule", Text: text}}), textTooShort, text, ", passwordtooshort)", ", some-rule)")
	for _, v := range []*mw.Validity{
		{Validity: "Good"}, {Validity: "Change", Messages: []mw.Message{{Code: "passwordincommonlist", Text: textCommon}}},
		{Validity: "Invalid", Messages: []mw.Message{{Code: "passwordtoolong", Text: text}}},
	} {
		for _, user := range []string{"", "Qqx Name"} {
			r := validityReply(v, user)
			out := r.Plain(qx)
			if left := qqx.English(out, user, textCommon, text, "passwordincommonlist", "passwordtoolong"); len(left) > 0 {
				t.Errorf("validatepassword %s for %q: English outside the catalogue %q in:\n%s", v.Validity, user, left, out)
			}
		}
	}
}

func TestWikiErrorsRedactionKeepsWikiText(t *testing.T) {
	secrets := []string{"password"}
	for cmd, table := range commandAdvice {
		e := explainWikiCodeFor(table, "passwordincommonlist", textCommon, secrets)
		if !strings.Contains(english(e.Message), textCommon) || strings.Contains(english(e.Message), redactedMark) {
			t.Errorf("/%s: the wiki's text was rewritten: %q", cmd, e.Message)
		}
	}
	if got := wikiText("passwordincommonlist", textCommon, secrets); got != textCommon {
		t.Errorf("wikiText = %q", got)
	}
	// The legacy entry point too.
	if e := explainWikiCode("passwordincommonlist", textCommon, secrets); !strings.Contains(english(e.Message), textCommon) {
		t.Errorf("explainWikiCode rewrote the text: %q", e.Message)
	}
	// A block's text quotes an administrator, not the user: a password that
	// is one of its words leaves it whole.
	if e := explainCreateAccountFail(createAccountAdvice, "blocked", blockedMessage, nil, []string{"probe"}); !strings.Contains(english(e.Message), "probe block") {
		t.Errorf("block text rewritten: %q", e.Message)
	}
	// A composite FAIL, whose items are password rules, for a password that
	// is a word of the texts.
	for _, pw := range []string{"password", "list", "Passwords", "8"} {
		e := explainCreateAccountFail(createAccountAdvice, compositeCode, compositeMessage, nil, []string{pw})
		if !strings.Contains(english(e.Message), textCommon) || !strings.Contains(english(e.Message), textTooShort) || strings.Contains(english(e.Message), redactedMark) {
			t.Errorf("password %q: composite text rewritten: %q", pw, e.Message)
		}
	}
}

func TestWikiErrorsRedactsWholeSecretsInEchoes(t *testing.T) {
	cases := []struct {
		text    string
		secrets []string
		want    string
	}{
		{`Invalid value "hunter2" for user parameter "user".`, []string{"hunter2"}, `Invalid value "[redacted]" for user parameter "user".`},
		{`Invalid value "hunter22" for user parameter "user".`, []string{"hunter2"}, `Invalid value "hunter22" for user parameter "user".`},
		{`Invalid value "xhunter2" for user parameter "user".`, []string{"hunter2"}, `Invalid value "xhunter2" for user parameter "user".`},
		{"Bad title \"Hunter2\".", []string{"hunter2"}, "Bad title \"Hunter2\"."}, // exact secret only
		{"passwords and password.", []string{"password"}, "passwords and [redacted]."},
		{"p@ss! and p@ss!x and xp@ss!", []string{"p@ss!"}, "[redacted] and [redacted]x and xp@ss!"},
		{"Ünïcødé1 and Ünïcødé12", []string{"Ünïcødé1"}, "[redacted] and Ünïcødé12"},
		{"abc-def abc", []string{"abc", "abc-def"}, "[redacted] [redacted]"},
		{"redacted [redacted]", []string{"redacted"}, "[redacted] [[redacted]]"},
		{"nothing here", []string{""}, "nothing here"},
	}
	for _, tc := range cases {
		if got := redactWhole(tc.text, tc.secrets); got != tc.want {
			t.Errorf("redactWhole(%q, %q) = %q, want %q", tc.text, tc.secrets, got, tc.want)
		}
	}
	// Through a reply: an echo of a user name that holds the password.
	e := explainWikiCodeFor(validatePasswordAdvice, "baduser_user", `Invalid value "Sesame#Open" for user parameter "user".`, []string{"Sesame"})
	if strings.Contains(english(e.Message), "Sesame") || !strings.Contains(english(e.Message), redactedMark) {
		t.Errorf("echo not redacted: %q", e.Message)
	}
	// An unknown code's text is treated as an echo.
	if got := wikiText("some-extension-code", "Name Sesame is taken", []string{"Sesame"}); got != "Name [redacted] is taken" {
		t.Errorf("unknown code: %q", got)
	}
	// The logs' redaction leaves nothing of a secret.
	if got := redact("passwords", []string{"password"}); strings.Contains(got, "password") {
		t.Errorf("redact = %q", got)
	}
}

func TestWikiErrorsCompositeCodes(t *testing.T) {
	for code, n := range map[string]int{"___1____2": 2, "___1____2____3": 3, "___1____2____3____4____5____6____7____8____9____10": 10} {
		if !isCompositeCode(code) || compositeCount(code) != n {
			t.Errorf("%s: composite %v, count %d, want %d", code, isCompositeCode(code), compositeCount(code), n)
		}
	}
	for _, code := range []string{"passwordtooshort", "___1", "____1____2", "___1____x", ""} {
		if isCompositeCode(code) {
			t.Errorf("%q taken for composite", code)
		}
	}
	if !isCompositeCode("rawmessage") || compositeCount("rawmessage") != 0 {
		t.Errorf("rawmessage")
	}
}

func TestWikiErrorsPasswordFailure(t *testing.T) {
	codesOf := func(rules []passwordRule) []string {
		var out []string
		for _, r := range rules {
			out = append(out, r.Code)
		}
		return out
	}
	cases := []struct {
		name, code, message string
		validity            []mw.Message
		want                []string
	}{
		{"single rule", "password-substring-username-match", textSubstring, nil, []string{"password-substring-username-match"}},
		{"English texts", compositeCode, compositeMessage, nil, []string{"passwordtooshort", "passwordincommonlist"}},
		{"validity texts", compositeCode, "* Das Passwort ist zu kurz.\n* Das Passwort ist zu häufig.",
			[]mw.Message{{Code: "passwordincommonlist", Text: "Das Passwort ist zu häufig."}, {Code: "passwordtooshort", Text: "Das Passwort ist zu kurz."}},
			[]string{"passwordtooshort", "passwordincommonlist"}},
		{"validity codes in order", compositeCode, "* Das Passwort ist zu kurz.\n* Das Passwort ist zu häufig.",
			[]mw.Message{{Code: "passwordtooshort"}, {Code: "passwordincommonlist"}},
			[]string{"passwordtooshort", "passwordincommonlist"}},
		{"an extra rule before the password's", "___1____2____3", "* You need to provide a valid email address.\n* " + textTooShort + "\n* " + textCommon,
			[]mw.Message{{Code: "passwordtooshort", Text: textTooShort}, {Code: "passwordincommonlist", Text: textCommon}},
			[]string{"noemailcreate", "passwordtooshort", "passwordincommonlist"}},
		// MediaWiki 1.43.9, password "user" for the new account Probeuserxyz.
		{"three rules", "___1____2____3", "* " + textTooShort + "\n* " + textSubstring + "\n* " + textCommon, nil,
			[]string{"passwordtooshort", "password-substring-username-match", "passwordincommonlist"}},
		{"unknown rule", compositeCode, "* Ein Grund.\n* Noch einer.", nil, []string{"", ""}},
		{"multi-line item", compositeCode, "* Username entered already in use.\nPlease choose a different name.\n* " + textCommon, nil, []string{"", "passwordincommonlist"}},
		{"items that cannot be told apart", compositeCode, "* " + blockedMessage + "\n* " + textCommon, nil, []string{""}},
		{"newer rawmessage", "rawmessage", compositeMessage, nil, []string{"passwordtooshort", "passwordincommonlist"}},
	}
	for _, tc := range cases {
		rules := explainPasswordFailure(createAccountAdvice, tc.code, tc.message, tc.validity, []string{"password"})
		if got := codesOf(rules); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: codes %q, want %q", tc.name, got, tc.want)
		}
		for _, r := range rules {
			if r.Text == "" || english(r.Advice) == "" {
				t.Errorf("%s: rule %+v lacks text or advice", tc.name, r)
			}
		}
	}

	e := explainCreateAccountFail(createAccountAdvice, compositeCode, compositeMessage, nil, []string{"pass"})
	for _, want := range []string{"for 2 reasons", textTooShort, textCommon, english(i18n.M("wikimod-error-passwordtooshort")), english(i18n.M(advicePasswordCommon)),
		"- " + textTooShort + " — ", "(code `passwordtooshort`)", "(code `passwordincommonlist`)"} {
		if !strings.Contains(english(e.Message), want) {
			t.Errorf("composite reply lacks %q: %s", want, e.Message)
		}
	}
	if e.Code != "passwordtooshort" || e.Outcome != OutcomeWikiError || strings.Contains(english(e.Message), "___1") {
		t.Errorf("composite reply: %s/%s %q", e.Outcome, e.Code, e.Message)
	}
	// Through the entry point the lead uses today.
	if e2 := explainWikiCode(compositeCode, compositeMessage, nil); english(e2.Message) != english(e.Message) {
		t.Errorf("explainWikiCode composite = %q", e2.Message)
	}
}

func TestWikiErrorsCreateAccountFailIsPlainText(t *testing.T) {
	e := explainCreateAccountFail(createAccountAdvice, "blocked", blockedMessage, nil, nil)
	for _, bad := range []string{"<strong>", "[[", "]]", "\u202a", "<em>"} {
		if strings.Contains(english(e.Message), bad) {
			t.Errorf("markup %q left in %q", bad, e.Message)
		}
	}
	for _, want := range []string{"The block was made by Admin.", "another administrator", "probe block", "creating accounts"} {
		if !strings.Contains(english(e.Message), want) {
			t.Errorf("reply lacks %q: %q", want, e.Message)
		}
	}
	if got := plainWikitext("Bad name &#91;x&#93; '''bold''' [https://example.org the site] [[:Category:A]]"); got != "Bad name [x] bold the site Category:A" {
		t.Errorf("plainWikitext = %q", got)
	}
	// An empty messagecode still explains.
	if e := explainCreateAccountFail(createAccountAdvice, "", "", nil, nil); e.Code != "createaccount-fail" || english(e.Message) == "" {
		t.Errorf("empty FAIL: %+v", e)
	}
}
