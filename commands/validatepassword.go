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
			Summary: "Check a password against the wiki's password policy (action=validatepassword)",
			Usage:   `/validatepassword password=PASSWORD [user=NEWNAME] [email=ADDRESS] [realname=NAME]`,
			Right:   mw.RightRead,
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

// cmdValidatePassword is the command's name.
const cmdValidatePassword = "validatepassword"

func (s *Service) runValidatePassword(ctx context.Context, req *Request) (Reply, error) {
	if err := checkKeys(req.Spec, req.Args, false); err != nil {
		return Reply{}, err
	}
	password, _ := req.Args.Get("password")
	if password == "" {
		return Reply{}, usageErrorf("Give the password to check: `%s`. Where the chat platform has private forms, leave it out and wikimod asks for it privately.", req.Spec.Usage)
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
		r.Title = i18n.Raw("The wiki accepts this password for the new account " + user + ".")
	case v.Validity == "Good":
		r.Title = i18n.Raw("The wiki accepts this password for an account like the bot's.")
	case user != "":
		r.Title = i18n.Raw("The wiki would refuse to create the account " + user + " with this password.")
		r.Text = i18n.Raw("A new account's password must meet every rule of the wiki's policy. Choose one that meets the rules below.")
	case v.Validity == "Change":
		r.Title = i18n.Raw("The wiki accepts this password for an existing account like the bot's, but would ask for it to be changed at login. It would refuse it for a new account.")
		r.Text = i18n.Raw("Choose a password that meets the rules below.")
	default:
		r.Title = i18n.Raw("The wiki rejects this password.")
		r.Text = i18n.Raw("Choose a password that meets the rules below.")
	}
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
