package commands

import (
	"context"
	"strings"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

func (s *Service) resetPasswordCommand() Command {
	return Command{
		Spec: Spec{
			Name:       cmdResetPassword,
			Positional: "user",
			Summary:    i18n.M("wikimod-command-resetpassword-summary"),
			Usage:      `/resetpassword user=NAME  or  /resetpassword email=ADDRESS`,
			Right:      mw.RightEditMyPrivateInfo,
			Anonymous:  true,
			Write:      true,
			Params: []Param{
				{Name: "user", Description: i18n.M("wikimod-param-resetpassword-user")},
				{Name: "email", Description: i18n.M("wikimod-param-resetpassword-email")},
			},
		},
		Run:    s.runResetPassword,
		Advice: resetPasswordAdvice,
	}
}

// cmdResetPassword is the command's name.
const cmdResetPassword = "resetpassword"

// resetPasswordAdvice is the advice (catalogue keys by the wiki's error
// code) for the codes that mean something particular to /resetpassword:
// its `user=` names an account that exists, `email=` can stand for it, and
// the wiki's right to reset is one no bot-password grant carries;
// wikiAdvice has the rest.
var resetPasswordAdvice = map[string]string{
	"baduser_user":     "wikimod-error-baduser-resetpassword",
	"baduser":          "wikimod-error-baduser-resetpassword",
	"invaliduser":      "wikimod-error-baduser-resetpassword",
	"noname":           "wikimod-error-noname-resetpassword",
	"moduledisabled":   "wikimod-error-moduledisabled-resetpassword",
	"permissiondenied": "wikimod-error-permissiondenied-resetpassword",
	"badaccess":        "wikimod-error-permissiondenied-resetpassword",
	"missingparam":     "wikimod-error-missingparam-resetpassword",
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
		return Reply{}, usage("wikimod-resetpassword-both", req.Spec.Usage)
	case user == "" && email == "":
		return Reply{}, usage("wikimod-resetpassword-whose", req.Spec.Usage)
	case hasEmail && !strings.Contains(email, "@"):
		return Reply{}, usage("wikimod-resetpassword-bad-email", email)
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
				Message: i18n.M("wikimod-resetpassword-no-email-route")}
		}
	}
	title := i18n.M("wikimod-resetpassword-user-title", user)
	if email != "" {
		title = i18n.M("wikimod-resetpassword-email-title", email)
	}
	req.Result = map[string]string{"status": "success"}
	return Reply{Title: title, Text: i18n.M("wikimod-resetpassword-sent-text")}, nil
}
