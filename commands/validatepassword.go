package commands

import (
	"context"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

func (s *Service) validatePasswordCommand() Command {
	return Command{
		Spec: Spec{
			Name:    cmdValidatePassword,
			Summary: i18n.M("wikimod-command-validatepassword-summary"),
			Usage:   `/validatepassword password=PASSWORD [user=NEWNAME] [email=ADDRESS] [realname=NAME]`,
			Right:   mw.RightRead,
			Params: []Param{
				{Name: "password", Description: i18n.M("wikimod-param-validatepassword-password"), Required: true, Secret: true},
				{Name: "user", Description: i18n.M("wikimod-param-validatepassword-user")},
				{Name: "email", Description: i18n.M("wikimod-param-validatepassword-email")},
				{Name: "realname", Description: i18n.M("wikimod-param-validatepassword-realname")},
			},
			AskSecret: "password",
		},
		Run:    s.runValidatePassword,
		Advice: validatePasswordAdvice,
	}
}

// cmdValidatePassword is the command's name.
const cmdValidatePassword = "validatepassword"

// validatePasswordAdvice is the advice (catalogue keys by the wiki's error
// code) for the codes that mean something particular to /validatepassword,
// whose `user=` names an account that does not exist yet; wikiAdvice has
// the rest.
var validatePasswordAdvice = map[string]string{
	"userexists":                        "wikimod-error-userexists-validatepassword",
	"baduser_user":                      "wikimod-error-baduser_user-validatepassword",
	"baduser":                           "wikimod-error-baduser-validatepassword",
	"password-substring-username-match": "wikimod-error-password-substring-username-match-validatepassword",
	"missingparam":                      "wikimod-error-missingparam-validatepassword",
}

func (s *Service) runValidatePassword(ctx context.Context, req *Request) (Reply, error) {
	if err := checkKeys(req.Spec, req.Args, false); err != nil {
		return Reply{}, err
	}
	password, _ := req.Args.Get("password")
	if password == "" {
		return Reply{}, usage("wikimod-validatepassword-no-password", req.Spec.Usage)
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
		r.Title = i18n.M("wikimod-validatepassword-good-user-title", user)
	case v.Validity == "Good":
		r.Title = i18n.M("wikimod-validatepassword-good-title")
	case user != "":
		r.Title = i18n.M("wikimod-validatepassword-refused-user-title", user)
		r.Text = i18n.M("wikimod-validatepassword-refused-user-text")
	case v.Validity == "Change":
		r.Title = i18n.M("wikimod-validatepassword-change-title")
		r.Text = i18n.M("wikimod-validatepassword-choose-text")
	default:
		r.Title = i18n.M("wikimod-validatepassword-invalid-title")
		r.Text = i18n.M("wikimod-validatepassword-choose-text")
	}
	// Each rule broken: its code, and the wiki's text for it in the
	// reader's language, as the wiki wrote it.
	for _, m := range v.Messages {
		r.Fields = append(r.Fields, Field{Label: i18n.Raw(m.Code), Value: i18n.Raw(m.Text)})
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
