package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

func (s *Service) createAccountCommand() Command {
	return Command{
		Spec: Spec{
			Name:       cmdCreateAccount,
			Positional: "username",
			Summary:    i18n.M("wikimod-command-createaccount-summary"),
			Usage:      `/createaccount username=NAME [email=ADDRESS] [realname=NAME] [password=PASSWORD] [reason=TEXT]`,
			Right:      mw.RightCreateAccount,
			Grant:      `createaccount ("Create accounts")`,
			Write:      true,
			Params: []Param{
				{Name: "username", Description: i18n.M("wikimod-param-createaccount-username"), Required: true},
				{Name: "email", Description: i18n.M("wikimod-param-createaccount-email")},
				{Name: "realname", Description: i18n.M("wikimod-param-createaccount-realname")},
				{Name: "password", Description: i18n.M("wikimod-param-createaccount-password"), Secret: true},
				{Name: "reason", Description: i18n.M("wikimod-param-createaccount-reason")},
			},
			AskSecret:          "password",
			SecretOptionalWith: []string{"email"},
		},
		Run:    s.runCreateAccount,
		Advice: createAccountAdvice,
		// An account the wiki created is in its user creation log.
		Settle: func(rec AuditRecord) (string, string) {
			if name := normalizeTitle(positionalOr(rec, "username")); name != "" {
				return mw.LogNewUsers, "User:" + name
			}
			return mw.LogNewUsers, ""
		},
	}
}

// cmdCreateAccount is the command's name.
const cmdCreateAccount = "createaccount"

// createAccountAdvice is the advice (catalogue keys by the wiki's error
// code) for the codes that mean something particular to /createaccount,
// whose new account's name is `username=`: the wiki checks the name and
// the password as for that account, and refusals concern creating
// accounts; wikiAdvice has the rest.
var createAccountAdvice = map[string]string{
	"userexists":                        "wikimod-error-userexists-createaccount",
	"baduser_user":                      "wikimod-error-baduser_user-createaccount",
	"baduser":                           "wikimod-error-baduser-createaccount",
	"invaliduser":                       "wikimod-error-invaliduser-createaccount",
	"noname":                            "wikimod-error-noname-createaccount",
	"password-substring-username-match": "wikimod-error-password-substring-username-match-createaccount",
	"permissiondenied":                  "wikimod-error-permissiondenied-createaccount",
	"blocked":                           "wikimod-error-blocked-createaccount",
	"autoblocked":                       "wikimod-error-autoblocked-createaccount",
	"missingparam":                      "wikimod-error-missingparam-createaccount",
}

func (s *Service) runCreateAccount(ctx context.Context, req *Request) (Reply, error) {
	args, err := foldPositional(req.Spec, req.Args)
	if err != nil {
		return Reply{}, err
	}
	p := mw.CreateAccountParams{}
	p.Username, _ = args.Get("username")
	p.Username = strings.TrimSpace(p.Username)
	p.Email, _ = args.Get("email")
	p.RealName, _ = args.Get("realname")
	p.Reason, _ = args.Get("reason")
	shortened := s.ReasonShortened(ctx, req.Wiki, req.Actor, p.Reason)
	p.Reason = s.SignedReason(ctx, req.Wiki, req.Actor, p.Reason)
	p.Password, _ = args.Get("password")
	if p.Username == "" {
		return Reply{}, usage("wikimod-createaccount-no-username", req.Spec.Usage)
	}
	if p.Password == "" {
		if p.Email == "" {
			return Reply{}, usage("wikimod-createaccount-no-email")
		}
		p.MailPassword = true
	} else {
		// Check the password first: the wiki's policy gives every reason at
		// once, where account creation stops at the first.
		v, err := req.Wiki.Client.ValidatePassword(ctx, mw.ValidatePasswordParams{Password: p.Password, User: p.Username, Email: p.Email, RealName: p.RealName})
		if err != nil {
			return Reply{}, err
		}
		if v.Validity != "Good" {
			// Any rule broken blocks a new account, even one the wiki would
			// only ask an existing account to fix at login.
			req.Result = map[string]any{"validity": v.Validity, "messages": messageCodes(v.Messages)}
			return Reply{}, policyRefusal(v.Messages)
		}
	}
	res, err := req.Wiki.Client.CreateAccount(ctx, p)
	if mw.MaybeApplied(err) {
		return s.createAccountReadBack(ctx, req, p.Username, err)
	}
	if err != nil {
		return Reply{}, err
	}
	req.Result = map[string]string{"status": res.Status, "username": res.Username, "messagecode": res.MessageCode}
	switch res.Status {
	case "PASS":
		r := Reply{Title: i18n.M("wikimod-createaccount-created-title", res.Username), URL: req.Site.PageURL("User:" + res.Username)}
		if p.MailPassword {
			r.Text = i18n.M("wikimod-createaccount-mailed-text", p.Email)
		} else {
			r.Text = i18n.M("wikimod-createaccount-password-text")
		}
		if shortened {
			r.Text = i18n.Lines(r.Text, shortenedNote)
		}
		return r, nil
	case "FAIL":
		e := explainCreateAccountFail(createAccountAdvice, orDefault(res.MessageCode, "createaccount-fail"), res.Message, nil, secretValues(req.Spec, args))
		// Several rules broken at once come as one composite code; all of
		// them are password rules.
		e.AboutSecret = p.Password != "" && (strings.HasPrefix(e.Code, "password") || e.Code == "badretype" || isCompositeCode(e.Code))
		return Reply{}, e
	}
	if e := unfinished(res); e != nil {
		return Reply{}, e
	}
	return Reply{}, fmt.Errorf("createaccount: unknown status %q", res.Status)
}

// unfinished explains a status of action=createaccount that asks for more
// than a chat bot can give (UI, REDIRECT, RESTART), or returns nil for any
// other status.
func unfinished(res *mw.CreateAccountResult) *Error {
	switch res.Status {
	case "UI":
		ui := i18n.M("wikimod-createaccount-ui")
		if fields := uiFields(res.Requests); len(fields) > 0 {
			ui = i18n.M("wikimod-createaccount-ui-fields", i18n.List(fields...))
		}
		return &Error{Outcome: OutcomeWikiError, Code: "createaccount-ui", Message: i18n.Lines(ui, wikiSaid(res.Message))}
	case "REDIRECT":
		return &Error{Outcome: OutcomeWikiError, Code: "createaccount-redirect", Message: i18n.M("wikimod-createaccount-redirect")}
	case "RESTART":
		return &Error{Outcome: OutcomeWikiError, Code: "createaccount-restart", Message: i18n.Lines(i18n.M("wikimod-createaccount-restart"), wikiSaid(res.Message))}
	}
	return nil
}

// policyRefusal refuses to create an account whose password breaks rules
// of the wiki's policy (messages, as action=validatepassword named them):
// each rule in the wiki's words, with its code and what to do.
func policyRefusal(messages []mw.Message) *Error {
	lines := []i18n.Message{i18n.M("wikimod-createaccount-policy-refused")}
	for _, m := range messages {
		advice, _ := adviceFor(createAccountAdvice, m.Code)
		lines = append(lines, i18n.Sentences(i18n.M("wikimod-createaccount-policy-rule", i18n.Raw(m.Text), m.Code), advice))
	}
	lines = append(lines, i18n.M("wikimod-createaccount-policy-retry"))
	code := "password-invalid"
	if len(messages) > 0 {
		code = messages[0].Code
	}
	return &Error{Outcome: OutcomeWikiError, Code: code, AboutSecret: true, Message: i18n.Lines(lines...)}
}

// uiFields names the fields the wiki asks for in a UI status, in the
// wiki's words (their labels) where it gave them, else by their names.
func uiFields(reqs []mw.AuthRequest) []i18n.Message {
	var names []string
	for _, r := range reqs {
		for name, f := range r.Fields {
			if f.Label != "" {
				name = f.Label
			}
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := make([]i18n.Message, len(names))
	for i, n := range names {
		out[i] = i18n.Raw(n)
	}
	return out
}

// wikiSaid is the wiki's own text of a status, as the wiki wrote it, or
// no message when it gave none.
func wikiSaid(text string) i18n.Message {
	if text == "" {
		return i18n.Message{}
	}
	return i18n.M("wikimod-wikierror-said", i18n.Raw(text))
}

// createAccountReadBack answers a /createaccount whose request may have
// reached the wiki but whose answer was lost: it looks the account up and
// says whether it exists now, or that this cannot be known.
func (s *Service) createAccountReadBack(ctx context.Context, req *Request, username string, sendErr error) (Reply, error) {
	s.log.Warn("createaccount: the wiki's answer was lost; looking the account up", "err", sendErr)
	if errors.Is(ctx.Err(), context.Canceled) {
		// wikimod is stopping: it does not wait for the wiki any longer.
		return Reply{}, wikiError(sendErr, nil)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	users, err := req.Wiki.Client.UserGroups(rctx, username)
	if err != nil {
		return Reply{}, &Error{Outcome: OutcomeUnknown, Code: "outcome-unknown", Message: i18n.M("wikimod-createaccount-lost-unknown", username)}
	}
	for name := range users {
		req.Result = map[string]string{"read_back": "exists", "username": name}
		return Reply{Code: "read-back", Title: i18n.M("wikimod-createaccount-exists-title", name), URL: req.Site.PageURL("User:" + name),
			Text: i18n.M("wikimod-createaccount-exists-text")}, nil
	}
	req.Result = map[string]string{"read_back": "missing"}
	return Reply{Outcome: OutcomeUnknown, Code: "outcome-unknown", Title: i18n.M("wikimod-createaccount-unknown-title", username),
		Text: i18n.M("wikimod-createaccount-missing-text")}, nil
}
