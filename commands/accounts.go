package commands

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/wikimod/wikimod/mw"
)

func (s *Service) validatePasswordCommand() Command {
	return Command{
		Spec: Spec{
			Name:    "validatepassword",
			Summary: "Check a password against the wiki's password policy (action=validatepassword)",
			Usage:   `/validatepassword password=PASSWORD [user=NEWNAME] [email=ADDRESS] [realname=NAME]`,
			Right:   "read",
			Params: []Param{
				{Name: "password", Description: "The password to check", Required: true, Secret: true},
				{Name: "user", Description: "A user name not yet taken, to check as for that new account"},
				{Name: "email", Description: "Email address of that new account"},
				{Name: "realname", Description: "Real name of that new account"},
			},
			AskSecret: "password",
		},
		Run: s.runValidatePassword,
	}
}

func (s *Service) runValidatePassword(ctx context.Context, req *Request) (Reply, error) {
	if err := checkKeys(req.Spec, req.Args, false); err != nil {
		return Reply{}, err
	}
	password, _ := req.Args.Get("password")
	if password == "" {
		return Reply{}, usageErrorf("Give the password to check: `%s`. On Discord and Slack, leave it out and wikimod asks for it privately.", req.Spec.Usage)
	}
	p := mw.ValidatePasswordParams{Password: password}
	p.User, _ = req.Args.Get("user")
	p.Email, _ = req.Args.Get("email")
	p.RealName, _ = req.Args.Get("realname")
	v, err := req.Wiki.Client.ValidatePassword(ctx, p)
	if err != nil {
		return Reply{}, err
	}
	req.Result = map[string]any{"validity": v.Validity, "messages": messageCodes(v.Messages)}
	return validityReply(v, p.User), nil
}

// validityReply says what the wiki thinks of a password. For a new account
// (user given) any rule broken blocks creating it, even one the wiki would
// only ask an existing account to fix at its next login. The wiki's texts
// are shown as they are: they never contain the password.
func validityReply(v *mw.Validity, user string) Reply {
	var r Reply
	switch {
	case v.Validity == "Good" && user != "":
		r.Title = "The wiki accepts this password for the new account " + user + "."
	case v.Validity == "Good":
		r.Title = "The wiki accepts this password for an account like the bot's."
	case user != "":
		r.Title = "The wiki would refuse to create the account " + user + " with this password."
		r.Text = "A new account's password must meet every rule of the wiki's policy. Choose one that meets the rules below."
	case v.Validity == "Change":
		r.Title = "The wiki accepts this password for an existing account like the bot's, but would ask for it to be changed at login. It would refuse it for a new account."
		r.Text = "Choose a password that meets the rules below."
	default:
		r.Title = "The wiki rejects this password."
		r.Text = "Choose a password that meets the rules below."
	}
	for _, m := range v.Messages {
		r.Fields = append(r.Fields, Field{Label: m.Code, Value: m.Text})
	}
	return r
}

func messageCodes(ms []mw.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Code
	}
	return out
}

func (s *Service) resetPasswordCommand() Command {
	return Command{
		Spec: Spec{
			Name:       "resetpassword",
			Positional: "user",
			Summary:    "Send a user a password reset email (action=resetpassword)",
			Usage:      `/resetpassword user=NAME  or  /resetpassword email=ADDRESS`,
			Right:      "editmyprivateinfo",
			Write:      true,
			Params: []Param{
				{Name: "user", Description: "The user whose password to reset"},
				{Name: "email", Description: "The email address of the account, instead of the user name"},
			},
		},
		Run: s.runResetPassword,
	}
}

func (s *Service) runResetPassword(ctx context.Context, req *Request) (Reply, error) {
	args, err := foldPositional(req.Spec, req.Args)
	if err != nil {
		return Reply{}, err
	}
	user, hasUser := args.Get("user")
	email, hasEmail := args.Get("email")
	user, email = strings.TrimSpace(user), strings.TrimSpace(email)
	switch {
	case hasUser && hasEmail:
		return Reply{}, usageErrorf("Give `user=` or `email=`, not both. Usage: `%s`", req.Spec.Usage)
	case user == "" && email == "":
		return Reply{}, usageErrorf("Whose password? Usage: `%s`", req.Spec.Usage)
	case hasEmail && !strings.Contains(email, "@"):
		return Reply{}, usageErrorf("`email=%s` is not an email address.", email)
	}
	warnings, err := req.Wiki.Reset.ResetPassword(ctx, mw.ResetPasswordParams{User: user, Email: email})
	if err != nil {
		return Reply{}, err
	}
	for _, w := range warnings {
		// A wiki that does not allow reset by email ignores the parameter
		// with a warning instead of failing.
		if strings.Contains(w.Text, "email") {
			return Reply{}, &Error{Outcome: OutcomeWikiError, Code: "passwordreset-noemailroute",
				Message: "This wiki does not allow resets by email address. Use `user=NAME` instead."}
		}
	}
	target := "user " + user
	if email != "" {
		target = "the account with address " + email
	}
	req.Result = map[string]string{"status": "success"}
	return Reply{
		Title: "Password reset requested for " + target + ".",
		Text: "If the account exists, has an email address, has not been sent a reset in the last day, and the wiki is not holding back resets from too many requests, " +
			"the wiki has mailed it a temporary password. The wiki does not say which, so as not to reveal who has an account.",
	}, nil
}

func (s *Service) createAccountCommand() Command {
	return Command{
		Spec: Spec{
			Name:       "createaccount",
			Positional: "username",
			Summary:    "Create a wiki account (action=createaccount)",
			Usage:      `/createaccount username=NAME [email=ADDRESS] [realname=NAME] [password=PASSWORD] [reason=TEXT]`,
			Right:      "createaccount",
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
	}
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
	shortened := ReasonShortened(req.Actor, p.Reason)
	p.Reason = SignedReason(req.Actor, p.Reason)
	p.Password, _ = args.Get("password")
	if p.Username == "" {
		return Reply{}, usageErrorf("Which user name? Usage: `%s`", req.Spec.Usage)
	}
	if p.Password == "" {
		if p.Email == "" {
			return Reply{}, usageErrorf("Without a password the wiki mails a temporary one, so give `email=`. Or give a `password=` (on Discord and Slack wikimod asks for it privately).")
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
			return Reply{}, &Error{Outcome: OutcomeWikiError, Code: code, AboutSecret: true, Message: fmt.Sprintf(
				"The wiki's password policy refuses that password for a new account, so no account was created:\n%s\nChoose a password that meets every rule and try again.", strings.Join(reasons, "\n"))}
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
		r := Reply{Title: "Account " + res.Username + " created.", URL: req.Site.PageURL("User:" + res.Username)}
		if p.MailPassword {
			r.Text = "The wiki has mailed a temporary password to " + p.Email + "."
		} else {
			r.Text = "It can log in with the password given."
		}
		if shortened {
			r.Text += "\n" + shortenedNote
		}
		return r, nil
	case "FAIL":
		e := explainCreateAccountFail(orDefault(res.MessageCode, "createaccount-fail"), res.Message, nil, secretValues(req.Spec, args))
		// Several rules broken at once come as one composite code; all of
		// them are password rules.
		e.AboutSecret = p.Password != "" && (strings.HasPrefix(e.Code, "password") || e.Code == "badretype" || isCompositeCode(e.Code))
		return Reply{}, e
	case "UI":
		return Reply{}, &Error{Outcome: OutcomeWikiError, Code: "createaccount-ui", Message: fmt.Sprintf(
			"The wiki asks for a further step that a chat bot cannot complete (%s)%s. Create the account on the wiki's Special:CreateAccount page instead.",
			uiFields(res.Requests), sentence(res.Message))}
	case "REDIRECT":
		return Reply{}, &Error{Outcome: OutcomeWikiError, Code: "createaccount-redirect", Message: "The wiki wants account creation to go through another site (a single sign-on or third-party login), which a chat bot cannot do. Create the account on the wiki instead."}
	case "RESTART":
		return Reply{}, &Error{Outcome: OutcomeWikiError, Code: "createaccount-restart", Message: "The wiki asked to start account creation over" + sentence(res.Message) + ". Try the command again; if it repeats, create the account on the wiki."}
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
		return Reply{}, &Error{Outcome: OutcomeUnknown, Code: "outcome-unknown", Message: "The request to create the account " + username +
			" was sent, but the wiki's answer was lost and the wiki still does not answer, so wikimod cannot tell whether the account was created. Look for it on the wiki (Special:ListUsers) before trying again."}
	}
	for name := range users {
		req.Result = map[string]string{"read_back": "exists", "username": name}
		return Reply{Code: "read-back", Title: "Account " + name + " exists.", URL: req.Site.PageURL("User:" + name),
			Text: "The wiki's answer was lost, so wikimod looked the account up: it exists now."}, nil
	}
	req.Result = map[string]string{"read_back": "missing"}
	return Reply{Outcome: OutcomeUnknown, Code: "outcome-unknown", Title: "Not known whether " + username + " was created.",
		Text: "The request was sent, but the wiki's answer was lost, so wikimod looked the account up: it does not exist now. " +
			"If the wiki was only slow, it may still create it; look again before trying again."}, nil
}
