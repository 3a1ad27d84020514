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
			Summary:    "Send a user a password reset email (action=resetpassword)",
			Usage:      `/resetpassword user=NAME  or  /resetpassword email=ADDRESS`,
			Right:      mw.RightEditMyPrivateInfo,
			Anonymous:  true,
			Write:      true,
			Params: []Param{
				{Name: "user", Description: "The user whose password to reset"},
				{Name: "email", Description: "The email address of the account, instead of the user name"},
			},
		},
		Run: s.runResetPassword,
	}
}

// cmdResetPassword is the command's name.
const cmdResetPassword = "resetpassword"

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
				Message: i18n.Raw("This wiki does not allow resets by email address. Use `user=NAME` instead.")}
		}
	}
	target := "user " + user
	if email != "" {
		target = "the account with address " + email
	}
	req.Result = map[string]string{"status": "success"}
	return Reply{
		Title: i18n.Raw("Password reset requested for " + target + "."),
		Text: i18n.Raw("If the account exists, has an email address, has not been sent a reset in the last day, and the wiki is not holding back resets from too many requests, " +
			"the wiki has mailed it a temporary password. The wiki does not say which, so as not to reveal who has an account."),
	}, nil
}
