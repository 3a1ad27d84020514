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
			Summary:    "Create a wiki account (action=createaccount)",
			Usage:      `/createaccount username=NAME [email=ADDRESS] [realname=NAME] [password=PASSWORD] [reason=TEXT]`,
			Right:      mw.RightCreateAccount,
			Grant:      `createaccount ("Create accounts")`,
			Write:      true,
			Params: []Param{
				{Name: "username", Description: "The new account's user name", Required: true},
				{Name: "email", Description: "Email address; without a password, the wiki mails a temporary one there"},
				{Name: "realname", Description: "Real name"},
				{Name: "password", Description: "A password; leave it out to have the wiki email a temporary one", Secret: true},
				{Name: "reason", Description: "Reason, shown in the user creation log"},
			},
			AskSecret:          "password",
			SecretOptionalWith: []string{"email"},
		},
		Run: s.runCreateAccount,
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
	shortened := s.ReasonShortened(req.Actor, p.Reason)
	p.Reason = s.SignedReason(req.Actor, p.Reason)
	p.Password, _ = args.Get("password")
	if p.Username == "" {
		return Reply{}, usageErrorf("Which user name? Usage: `%s`", req.Spec.Usage)
	}
	if p.Password == "" {
		if p.Email == "" {
			return Reply{}, usageErrorf("Without a password the wiki mails a temporary one, so give `email=`. Or give a `password=` (where the chat platform has private forms, leave it out and wikimod asks for it privately).")
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
			var reasons []string
			for _, m := range v.Messages {
				reason := "- " + m.Text + " (`" + m.Code + "`)"
				if advice, ok := adviceFor(cmdCreateAccount, m.Code); ok {
					reason += " " + advice
				}
				reasons = append(reasons, reason)
			}
			code := "password-invalid"
			if len(v.Messages) > 0 {
				code = v.Messages[0].Code
			}
			return Reply{}, &Error{Outcome: OutcomeWikiError, Code: code, AboutSecret: true, Message: i18n.Raw(fmt.Sprintf(
				"The wiki's password policy refuses that password for a new account, so no account was created:\n%s\nChoose a password that meets every rule and try again.", strings.Join(reasons, "\n")))}
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
		r := Reply{Title: i18n.Raw("Account " + res.Username + " created."), URL: req.Site.PageURL("User:" + res.Username)}
		if p.MailPassword {
			r.Text = i18n.Raw("The wiki has mailed a temporary password to " + p.Email + ".")
		} else {
			r.Text = i18n.Raw("It can log in with the password given.")
		}
		if shortened {
			r.Text = i18n.Lines(r.Text, shortenedNote)
		}
		return r, nil
	case "FAIL":
		e := explainCreateAccountFail(orDefault(res.MessageCode, "createaccount-fail"), res.Message, nil, secretValues(req.Spec, args))
		// Several rules broken at once come as one composite code; all of
		// them are password rules.
		e.AboutSecret = p.Password != "" && (strings.HasPrefix(e.Code, "password") || e.Code == "badretype" || isCompositeCode(e.Code))
		return Reply{}, e
	case "UI":
		return Reply{}, &Error{Outcome: OutcomeWikiError, Code: "createaccount-ui", Message: i18n.Raw(fmt.Sprintf(
			"The wiki asks for a further step that a chat bot cannot complete (%s)%s. Create the account on the wiki's Special:CreateAccount page instead.",
			uiFields(res.Requests), sentence(res.Message)))}
	case "REDIRECT":
		return Reply{}, &Error{Outcome: OutcomeWikiError, Code: "createaccount-redirect", Message: i18n.Raw("The wiki wants account creation to go through another site (a single sign-on or third-party login), which a chat bot cannot do. Create the account on the wiki instead.")}
	case "RESTART":
		return Reply{}, &Error{Outcome: OutcomeWikiError, Code: "createaccount-restart", Message: i18n.Raw("The wiki asked to start account creation over" + sentence(res.Message) + ". Try the command again; if it repeats, create the account on the wiki.")}
	}
	return Reply{}, fmt.Errorf("createaccount: unknown status %q", res.Status)
}

func uiFields(reqs []mw.AuthRequest) string {
	var names []string
	for _, r := range reqs {
		for name, f := range r.Fields {
			if f.Label != "" {
				name = f.Label
			}
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "no fields named"
	}
	sort.Strings(names)
	return "it asks for: " + strings.Join(names, ", ")
}

func sentence(msg string) string {
	if msg == "" {
		return ""
	}
	return `: "` + msg + `"`
}

// createAccountReadBack answers a /createaccount whose request may have
// reached the wiki but whose answer was lost: it looks the account up and
// says whether it exists now, or that this cannot be known.
func (s *Service) createAccountReadBack(ctx context.Context, req *Request, username string, sendErr error) (Reply, error) {
	s.log.Warn("createaccount: the wiki's answer was lost; looking the account up", "err", sendErr)
	if errors.Is(ctx.Err(), context.Canceled) {
		// wikimod is stopping: it does not wait for the wiki any longer.
		return Reply{}, wikiErrorFor("", sendErr, nil)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	users, err := req.Wiki.Client.UserGroups(rctx, username)
	if err != nil {
		return Reply{}, &Error{Outcome: OutcomeUnknown, Code: "outcome-unknown", Message: i18n.Raw("The request to create the account " + username +
			" was sent, but the wiki's answer was lost and the wiki still does not answer, so wikimod cannot tell whether the account was created. Look for it on the wiki (Special:ListUsers) before trying again.")}
	}
	for name := range users {
		req.Result = map[string]string{"read_back": "exists", "username": name}
		return Reply{Code: "read-back", Title: i18n.Raw("Account " + name + " exists."), URL: req.Site.PageURL("User:" + name),
			Text: i18n.Raw("The wiki's answer was lost, so wikimod looked the account up: it exists now.")}, nil
	}
	req.Result = map[string]string{"read_back": "missing"}
	return Reply{Outcome: OutcomeUnknown, Code: "outcome-unknown", Title: i18n.Raw("Not known whether " + username + " was created."),
		Text: i18n.Raw("The request was sent, but the wiki's answer was lost, so wikimod looked the account up: it does not exist now. " +
			"If the wiki was only slow, it may still create it; look again before trying again.")}, nil
}
