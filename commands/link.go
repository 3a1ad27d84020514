package commands

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

const (
	// codeValidity is how long a link code may be used.
	codeValidity = 15 * time.Minute
	// maxWrongCodes voids an attempt: after this many wrong codes the
	// person must start again, with a new code.
	maxWrongCodes = 5
	// codeLength is the length of a code, in codeAlphabet's letters: 50
	// random bits.
	codeLength = 10
	// codeAlphabet has no I, L, O or U, so a code read aloud or copied by
	// hand is not mistaken (readCode maps I and L to 1, O to 0).
	codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	// codeLine is how the mail and the page show a code.
	codeLine = "Your wikimod code: "
	// linkPageSuffix is the subpage of the account's user page that the
	// page method reads.
	linkPageSuffix = "/wikimod"
	// maxPageRevisions is how many revisions of the page, saved since an
	// attempt by page began, wikimod reads to find who saved the code
	// first; a page changed more often than that proves nothing.
	maxPageRevisions = 50
)

// The limits on the mails /link has the wiki send. The bot's grants lift
// the wiki's own rate limits, so without these anyone in the chat could
// flood a wiki account's mailbox through the bot. They are kept in the
// database (LinkStore.TakeLinkMail): a restart does not reset them, and
// replicas share them.
const (
	// LinkMailInterval is the least time between two link mails to one
	// wiki account, and between two asked for by one chat user.
	LinkMailInterval = 5 * time.Minute
	// LinkMailsPerAccountPerDay caps the link mails to one wiki account in
	// any 24 hours, whoever asks.
	LinkMailsPerAccountPerDay = 3
	// LinkMailsPerChatUserPerDay caps the link mails one chat user may ask
	// for in any 24 hours, to any accounts on any wikis.
	LinkMailsPerChatUserPerDay = 5
)

// linkMailLimits are the limits above, as the store applies them.
var linkMailLimits = []MailLimit{
	{Name: "account-interval", Scope: MailsToAccount, Max: 1, Per: LinkMailInterval},
	{Name: "account-day", Scope: MailsToAccount, Max: LinkMailsPerAccountPerDay, Per: 24 * time.Hour},
	{Name: "chat-user-interval", Scope: MailsForChatUser, Max: 1, Per: LinkMailInterval},
	{Name: "chat-user-day", Scope: MailsForChatUser, Max: LinkMailsPerChatUserPerDay, Per: 24 * time.Hour},
}

func (s *Service) linkCommand() Command {
	return Command{
		Spec: Spec{
			Name:    "link",
			Summary: "Link your chat account to your wiki account, proven on the wiki; you then act with its rights",
			Usage:   "/link user=WIKINAME [method=mail|page]   then   /link code=CODE",
			Help: "By mail (the default), the wiki mails the account a code through its own mail form; give it back with `/link code=CODE` within 15 minutes. " +
				"By page, for accounts without email: wikimod gives you a code, you save it on `User:WIKINAME/wikimod` while logged in as WIKINAME, then run `/link user=WIKINAME method=page` again. " +
				"Five wrong codes void the attempt. Once linked, your rights through wikimod are exactly your wiki account's, and the wiki's logs name you.",
			Params: []Param{
				{Name: "user", Description: "Your wiki user name"},
				{Name: "method", Description: "How to prove it: mail (a code mailed through the wiki, the default) or page (a code saved on your user page)"},
				{Name: "code", Description: "The code from the mail", Secret: true},
			},
			AskSecret:       "code",
			AskSecretUnless: []string{"user"},
		},
		Run: s.runLink,
	}
}

func (s *Service) unlinkCommand() Command {
	return Command{
		Spec: Spec{
			Name:    "unlink",
			Summary: "Remove the link between your chat account and your wiki account",
			Usage:   "/unlink",
		},
		Run: s.runUnlink,
	}
}

func (s *Service) whoamiCommand() Command {
	return Command{
		Spec: Spec{
			Name:    "whoami",
			Summary: "Show your linked wiki account, its groups and rights as the wiki has them now, and the commands you may run",
			Usage:   "/whoami",
		},
		Run: s.runWhoami,
	}
}

func (s *Service) runLink(ctx context.Context, req *Request) (Reply, error) {
	if err := checkKeys(req.Spec, req.Args, false); err != nil {
		return Reply{}, err
	}
	user, _ := req.Args.Get("user")
	method, _ := req.Args.Get("method")
	code, hasCode := req.Args.Get("code")
	user, method = strings.TrimSpace(user), strings.ToLower(strings.TrimSpace(method))
	switch {
	case hasCode && (user != "" || method != ""):
		return Reply{}, usageErrorf("Give either `user=` (to start) or `code=` (to finish), not both. Usage: `%s`", req.Spec.Usage)
	case hasCode:
		return s.linkWithCode(ctx, req, code)
	case user == "":
		return Reply{}, usageErrorf("Say which wiki account is yours: `/link user=WIKINAME`. Usage: `%s`", req.Spec.Usage)
	case method == "" || method == LinkByMail:
		return s.startLinkByMail(ctx, req, user)
	case method == LinkByPage:
		return s.linkByPage(ctx, req, user)
	}
	return Reply{}, usageErrorf("`method` is `mail` or `page`, not `%s`.", truncate(method, 40))
}

// linkable reads the account and refuses one that cannot be linked.
func (s *Service) linkable(ctx context.Context, req *Request, name string) (mw.UserInfo, error) {
	name = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(name, "User:"), "user:"))
	if name == "" {
		return mw.UserInfo{}, usageErrorf("Give your wiki user name: `/link user=WIKINAME`.")
	}
	u, err := req.Wiki.accounts.get(ctx, name, true)
	if err != nil {
		return mw.UserInfo{}, err
	}
	switch {
	case u.Invalid:
		return u, &Error{Outcome: OutcomeInvalid, Code: "invalid-user", Message: i18n.Raw(fmt.Sprintf(
			"`%s` is not a valid wiki user name. Give the name you log in to the wiki with.", truncate(name, 85)))}
	case u.Missing:
		return u, &Error{Outcome: OutcomeInvalid, Code: "no-such-user", Message: i18n.Raw(fmt.Sprintf(
			"The wiki has no account named `%s`, so nothing was linked. Check the spelling; it is the name you log in to the wiki with.", u.Name))}
	case u.Block != nil:
		return u, &Error{Outcome: OutcomeDenied, Code: "blocked", Message: i18n.Raw(fmt.Sprintf(
			"The wiki account `%s` is blocked (%s), so it cannot be linked and nothing was done.", u.Name, describeBlock(u.Block)))}
	}
	if l, ok, err := s.links.Link(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID); err != nil {
		return u, fmt.Errorf("reading the chat user's link: %w", err)
	} else if ok && l.WikiUser == u.Name {
		return u, &Error{Outcome: OutcomeOK, Code: "already-linked", Message: i18n.Raw(fmt.Sprintf(
			"You are already linked to the wiki account `%s`. `/whoami` shows what it may do.", u.Name))}
	}
	return u, nil
}

// startLinkByMail mails the account a code through the wiki.
func (s *Service) startLinkByMail(ctx context.Context, req *Request, name string) (Reply, error) {
	u, err := s.linkable(ctx, req, name)
	if err != nil {
		return alreadyLinked(err)
	}
	if !u.Emailable {
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "no-email", Message: i18n.Raw(fmt.Sprintf(
			"The wiki cannot mail `%s`: the account has no email address, or does not accept mail from other users. "+
				"Link by page instead: `/link user=%s method=page`.", u.Name, QuoteArg(u.Name)))}
	}
	if err := s.takeLinkMail(ctx, req, u.Name); err != nil {
		return Reply{}, err
	}
	code, err := s.newAttempt(ctx, req.Wiki, req.Actor, u.Name, LinkByMail, 0)
	if err != nil {
		return Reply{}, err
	}
	text := fmt.Sprintf("Someone using the %s account %s asked wikimod to link it to your wiki account, %s.\n\n"+
		"%s%s\n\n"+
		"Give this code to wikimod within 15 minutes with /link code=CODE. If this was not you, ignore this mail: nothing is linked without the code.\n",
		s.platformNoun(req.Actor.Platform), mailActorName(req.Actor), u.Name, codeLine, code)
	err = req.Wiki.Client.EmailUser(ctx, u.Name, "wikimod: link your chat account", text)
	if err != nil && !mw.MaybeApplied(err) {
		s.dropAttempt(req.Wiki, req.Actor)
		return Reply{}, mailError(u.Name, err, code)
	}
	r := Reply{Title: i18n.Raw("Code sent."), Code: "code-sent", Text: i18n.Raw(fmt.Sprintf(
		"The wiki has mailed a code to the email address of `%s`. Run `/link` again and give the code (`/link code=CODE`) within 15 minutes. "+
			"Nothing is linked until then.", u.Name))}
	if err != nil {
		r = Reply{Title: i18n.Raw("Not known whether the mail was sent."), Outcome: OutcomeUnknown, Code: "mail-unknown", Text: i18n.Raw(fmt.Sprintf(
			"The wiki did not answer while sending the code to `%s`, so the mail may or may not come. If it comes within 15 minutes, "+
				"give its code with `/link code=CODE`; if not, start again with `/link user=%s`.", u.Name, QuoteArg(u.Name)))}
	}
	req.Result = map[string]string{"wikiuser": u.Name, "method": LinkByMail}
	return r, nil
}

// mailError explains why the wiki would not send the code.
func mailError(name string, err error, code string) error {
	switch {
	case errors.Is(err, mw.ErrNotEmailable):
		return &Error{Outcome: OutcomeWikiError, Code: mw.ErrorCode(err), Message: i18n.Raw(fmt.Sprintf(
			"The wiki will not mail `%s`: the account has no email address, or does not accept mail from other users. "+
				"Nothing was linked. Link by page instead: `/link user=%s method=page`.", name, QuoteArg(name)))}
	case errors.Is(err, mw.ErrNoSuchUser):
		return &Error{Outcome: OutcomeWikiError, Code: mw.ErrorCode(err), Message: i18n.Raw(fmt.Sprintf(
			"The wiki has no account named `%s` to mail, so nothing was linked. Check the spelling.", name))}
	case errors.Is(err, mw.ErrCannotSendEmail):
		return &Error{Outcome: OutcomeWikiError, Code: mw.ErrorCode(err), Message: i18n.Raw(fmt.Sprintf(
			"The wiki will not send mail for wikimod (`%s`): the bot's account needs an email address, and its bot password the `sendemail` grant. "+
				"Nothing was linked. Ask the bot's operators, or link by page: `/link user=%s method=page`.", mw.ErrorCode(err), QuoteArg(name)))}
	}
	return wikiErrorFor("link", err, []string{code})
}

// takeLinkMail counts the mail about to go to the account against the
// limits, or refuses it: the refusal names the limit (in its code, for the
// audit log) and the moment to try again.
func (s *Service) takeLinkMail(ctx context.Context, req *Request, wikiUser string) error {
	now := s.now()
	hit, taken, err := s.links.TakeLinkMail(ctx, LinkMail{Wiki: req.Wiki.Name, WikiUser: wikiUser,
		Platform: req.Actor.Platform, UserID: req.Actor.UserID, Sent: now}, linkMailLimits)
	if err != nil {
		return fmt.Errorf("counting the link mail: %w", err)
	}
	if taken {
		return nil
	}
	l := hit.Limit
	why := fmt.Sprintf("wikimod sends the wiki account `%s` at most %s, so that nobody can flood its mailbox, and it has had that many already.", wikiUser, mailRate(l))
	if l.Scope == MailsForChatUser {
		why = fmt.Sprintf("wikimod sends at most %s for one chat user, to any accounts, and you have asked for that many already.", mailRate(l))
	}
	msg := fmt.Sprintf("No code was mailed: %s Try again after %s UTC (in %s).",
		why, hit.Until.UTC().Format("2006-01-02 15:04:05"), waitWords(hit.Until.Sub(now)))
	if a, ok, err := s.links.LinkAttempt(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID); err == nil && ok &&
		a.Method == LinkByMail && a.WikiUser == wikiUser && now.Before(a.Expires) {
		msg += fmt.Sprintf(" The code mailed to you before still works until %s UTC: give it with `/link code=CODE`.", a.Expires.UTC().Format("15:04:05"))
	}
	msg += fmt.Sprintf(" Linking by page sends no mail: `/link user=%s method=page`.", QuoteArg(wikiUser))
	return &Error{Outcome: OutcomeDenied, Code: "mail-limit:" + l.Name, Message: i18n.Raw(msg)}
}

// mailRate says how many mails a limit allows: "one link mail every 5
// minutes", "3 link mails a day".
func mailRate(l MailLimit) string {
	n := "one link mail"
	if l.Max != 1 {
		n = Plural(l.Max, "link mail")
	}
	if l.Per == 24*time.Hour {
		return n + " a day"
	}
	return n + " every " + waitWords(l.Per)
}

// waitWords says a wait to the second, rounded up: "4 minutes 12
// seconds", "23 hours 59 minutes".
func waitWords(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	var parts []string
	for _, u := range []struct {
		name string
		size int
	}{{"hour", 3600}, {"minute", 60}, {"second", 1}} {
		if n := secs / u.size; n > 0 {
			parts = append(parts, Plural(n, u.name))
			secs -= n * u.size
		}
	}
	return strings.Join(parts, " ")
}

// linkByPage starts a link by page, or finishes one: the account saves the
// code on its own subpage.
func (s *Service) linkByPage(ctx context.Context, req *Request, name string) (Reply, error) {
	u, err := s.linkable(ctx, req, name)
	if err != nil {
		return alreadyLinked(err)
	}
	page := "User:" + u.Name + linkPageSuffix
	a, ok, err := s.links.LinkAttempt(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID)
	if err != nil {
		return Reply{}, fmt.Errorf("reading the link attempt: %w", err)
	}
	if !ok || a.Method != LinkByPage || a.WikiUser != u.Name || !s.now().Before(a.Expires) {
		// Only revisions saved after this one can hold the new code.
		base, err := req.Wiki.Client.LatestRevision(ctx, page)
		if err != nil {
			return Reply{}, err
		}
		code, err := s.newAttempt(ctx, req.Wiki, req.Actor, u.Name, LinkByPage, base.ID)
		if err != nil {
			return Reply{}, err
		}
		req.Result = map[string]string{"wikiuser": u.Name, "method": LinkByPage}
		return Reply{Title: i18n.Raw("Save this code on your user page."), Code: "code-given", Text: i18n.Raw(fmt.Sprintf(
			"Logged in to the wiki as `%s`, save the page `%s` with this line:\n`%s%s`\n"+
				"Then run `/link user=%s method=page` again within 15 minutes. Only you see this message; nothing is linked until the page checks out.",
			u.Name, page, codeLine, code, QuoteArg(u.Name)))}, nil
	}
	h, err := req.Wiki.Client.RevisionsAfter(ctx, page, a.BaseRevision, maxPageRevisions)
	if err != nil {
		return Reply{}, err
	}
	if err := s.checkPageHistory(req, a, u.Name, page, h); err != nil {
		return Reply{}, err
	}
	if len(h.After) == 0 {
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "page-not-saved", Message: i18n.Raw(fmt.Sprintf(
			"`%s` has not been saved since wikimod gave you the code, so nothing was linked. Save it, logged in as `%s`, with the line wikimod gave you, then run this again.", page, u.Name))}
	}
	first := firstHoldingCode(a, h.After)
	if first == nil {
		return s.wrongCode(ctx, req, fmt.Sprintf("No version of `%s` saved since wikimod gave you the code holds your current code", page))
	}
	if err := s.checkFirstSaver(req, u.Name, page, first); err != nil {
		return Reply{}, err
	}
	return s.completeLink(ctx, req, a)
}

// checkPageHistory refuses a page that is gone, whose history since the
// attempt began is too long to read, or that held the code before the
// attempt began; the last two void the attempt.
func (s *Service) checkPageHistory(req *Request, a LinkAttempt, name, page string, h mw.History) error {
	switch {
	case h.Missing:
		return &Error{Outcome: OutcomeInvalid, Code: "page-missing", Message: i18n.Raw(fmt.Sprintf(
			"`%s` does not exist yet. Save it, logged in as `%s`, with the line wikimod gave you, then run this again.", page, name))}
	case h.Truncated:
		s.dropAttempt(req.Wiki, req.Actor)
		return &Error{Outcome: OutcomeDenied, Code: "page-too-busy", Message: i18n.Raw(fmt.Sprintf(
			"`%s` was saved more than %d times since wikimod gave you the code, too many to tell who saved your code first, so this attempt is void and nothing was linked. %s",
			page, maxPageRevisions, startPageAgain(name, page)))}
	case h.Before != nil && !h.Before.ContentHidden && pageHoldsCode(a, h.Before.Content):
		s.dropAttempt(req.Wiki, req.Actor)
		return &Error{Outcome: OutcomeDenied, Code: "page-code-before-attempt", Message: i18n.Raw(fmt.Sprintf(
			"`%s` already held your code before this attempt began, and only a code saved after it counts, so this attempt is void and nothing was linked. %s",
			page, startPageAgain(name, page)))}
	}
	return nil
}

// checkFirstSaver refuses the code unless the account itself saved the
// version that first held it: a code someone else put on the page proves
// nothing, whoever edits the page afterwards. It voids the attempt, since
// that code is spoilt for good.
func (s *Service) checkFirstSaver(req *Request, name, page string, first *mw.Revision) error {
	var why string
	switch {
	case first.ContentHidden:
		why = fmt.Sprintf("An administrator has hidden the text of a version of `%s` saved since wikimod gave you the code, so wikimod cannot tell who saved your code first.", page)
	case first.UserHidden || first.User == "":
		why = fmt.Sprintf("Your code was first saved on `%s` by someone whose name is hidden, not visibly by `%s`.", page, name)
	case first.User != name:
		why = fmt.Sprintf("Your code was first saved on `%s` by `%s`, not by `%s`: a code someone else saved proves nothing, whoever edits the page afterwards.", page, first.User, name)
	default:
		return nil
	}
	s.dropAttempt(req.Wiki, req.Actor)
	return &Error{Outcome: OutcomeDenied, Code: "page-not-own", Message: i18n.Raw(why + " This attempt is void and nothing was linked. " + startPageAgain(name, page))}
}

// startPageAgain tells a person whose code by page was refused for good
// how to link.
func startPageAgain(name, page string) string {
	return fmt.Sprintf("Start again with `/link user=%s method=page` for a new code, save it on `%s` yourself, logged in as `%s`, and run the command again.",
		QuoteArg(name), page, name)
}

// firstHoldingCode is the oldest of revs (given newest first) that holds
// the attempt's code, or whose text is hidden and so might: nil if none.
func firstHoldingCode(a LinkAttempt, revs []mw.Revision) *mw.Revision {
	for i := len(revs) - 1; i >= 0; i-- {
		if revs[i].ContentHidden || pageHoldsCode(a, revs[i].Content) {
			return &revs[i]
		}
	}
	return nil
}

// linkWithCode finishes a link by mail.
func (s *Service) linkWithCode(ctx context.Context, req *Request, code string) (Reply, error) {
	a, ok, err := s.links.LinkAttempt(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID)
	if err != nil {
		return Reply{}, fmt.Errorf("reading the link attempt: %w", err)
	}
	switch {
	case !ok:
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "no-attempt", Message: i18n.Raw("You have no link in progress, so the code was not checked. Start with `/link user=WIKINAME`; the wiki then mails you a code.")}
	case !s.now().Before(a.Expires):
		s.dropAttempt(req.Wiki, req.Actor)
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "code-expired", Message: i18n.Raw(fmt.Sprintf(
			"Your code has expired (codes last 15 minutes), so nothing was linked. Start again with `/link user=%s`.", QuoteArg(a.WikiUser)))}
	case a.Method == LinkByPage:
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "page-method", Message: i18n.Raw(fmt.Sprintf(
			"Your link in progress is by page: save the line wikimod gave you on `User:%s%s`, then run `/link user=%s method=page`.", a.WikiUser, linkPageSuffix, QuoteArg(a.WikiUser)))}
	}
	if !codeMatches(a, readCode(code)) {
		return s.wrongCode(ctx, req, "That code is not the one mailed to you")
	}
	return s.completeLink(ctx, req, a)
}

// wrongCode counts a wrong code and voids the attempt at the last one.
func (s *Service) wrongCode(ctx context.Context, req *Request, what string) (Reply, error) {
	tries, err := s.links.AddWrongCode(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID)
	if err != nil {
		return Reply{}, fmt.Errorf("counting a wrong code: %w", err)
	}
	if tries >= maxWrongCodes {
		s.dropAttempt(req.Wiki, req.Actor)
		return Reply{}, &Error{Outcome: OutcomeDenied, Code: "too-many-wrong-codes", Message: i18n.Raw(fmt.Sprintf(
			"%s, and that was the %d%s wrong code: this attempt is void and nothing was linked. Start again with `/link user=WIKINAME`; you will get a new code.",
			what, tries, ordinalSuffix(tries)))}
	}
	left := "one more wrong code voids"
	if n := maxWrongCodes - tries; n > 1 {
		left = fmt.Sprintf("%d more wrong codes void", n)
	}
	return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "wrong-code", AboutSecret: true, Message: i18n.Raw(fmt.Sprintf(
		"%s, so nothing was linked. Check it and try again; %s the attempt.", what, left))}
}

// completeLink links the actor once the code has checked out, if the
// account is still linkable.
func (s *Service) completeLink(ctx context.Context, req *Request, a LinkAttempt) (Reply, error) {
	u, err := s.linkable(ctx, req, a.WikiUser)
	if err != nil {
		s.dropAttempt(req.Wiki, req.Actor)
		return alreadyLinked(err)
	}
	l := Link{Wiki: req.Wiki.Name, Platform: req.Actor.Platform, UserID: req.Actor.UserID, WikiUser: u.Name, Method: a.Method, Linked: s.now()}
	if err := s.links.SaveLink(ctx, l); err != nil {
		return Reply{}, fmt.Errorf("saving the link: %w", err)
	}
	s.dropAttempt(req.Wiki, req.Actor)
	req.Actor.WikiUser = u.Name
	req.Result = map[string]string{"wikiuser": u.Name, "method": a.Method}
	r := Reply{Title: i18n.Raw("Linked."), Code: "linked", Text: i18n.Raw(fmt.Sprintf(
		"Your %s account is now linked to the wiki account `%s`. Through wikimod you hold exactly what it holds on the wiki, and the wiki's logs name it for what you do. `/whoami` shows the details; `/unlink` undoes this.",
		s.platformNoun(req.Actor.Platform), u.Name))}
	r.Fields = append(r.Fields, Field{Label: i18n.Raw("Wiki groups"), Value: i18n.Raw(groupList(visibleGroups(u.Groups)))})
	return r, nil
}

func (s *Service) runUnlink(ctx context.Context, req *Request) (Reply, error) {
	if err := checkKeys(req.Spec, req.Args, false); err != nil {
		return Reply{}, err
	}
	l, had, err := s.links.Link(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID)
	if err != nil {
		return Reply{}, fmt.Errorf("reading the link: %w", err)
	}
	if _, err := s.links.DeleteLink(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID); err != nil {
		return Reply{}, fmt.Errorf("removing the link: %w", err)
	}
	if err := s.links.DeleteLinkAttempt(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID); err != nil {
		return Reply{}, fmt.Errorf("removing the link attempt: %w", err)
	}
	if !had {
		return Reply{Title: i18n.Raw("Not linked."), Code: "not-linked", Text: i18n.Raw("Your chat account was not linked to a wiki account; any link in progress is cancelled.")}, nil
	}
	req.Actor.WikiUser = l.WikiUser
	req.Result = map[string]string{"wikiuser": l.WikiUser}
	after := "your rights come from the bot's access rules again."
	if s.requireLink {
		after = "this bot acts only for linked people, so you may run nothing until you link again."
	}
	return Reply{Title: i18n.Raw("Unlinked."), Code: "unlinked", Text: i18n.Raw(fmt.Sprintf(
		"Your chat account is no longer linked to the wiki account `%s`; %s", l.WikiUser, after))}, nil
}

func (s *Service) runWhoami(ctx context.Context, req *Request) (Reply, error) {
	if err := checkKeys(req.Spec, req.Args, false); err != nil {
		return Reply{}, err
	}
	a := req.Actor
	r := Reply{Title: i18n.Raw("Who you are to wikimod")}
	r.Fields = append(r.Fields, Field{Label: i18n.Raw("Chat account"), Value: i18n.Raw(s.PlatformTitle(a.Platform) + " " + actorName(a))})
	st := req.standing
	if st.linked {
		// Live: what the wiki says now, not what the cache kept.
		u, err := req.Wiki.accounts.get(ctx, st.account.Name, true)
		if err != nil {
			return Reply{}, err
		}
		st = linkedStanding(u)
		r.Fields = append(r.Fields, Field{Label: i18n.Raw("Wiki account"), Value: i18n.Raw("`" + u.Name + "` (linked; your rights are its rights)")})
		switch {
		case u.Missing || u.Invalid:
			r.Fields = append(r.Fields, Field{Label: i18n.Raw("On the wiki"), Value: i18n.Raw("This account no longer exists. `/unlink`, then `/link` your current account.")})
		case u.Block != nil:
			r.Fields = append(r.Fields, Field{Label: i18n.Raw("Blocked"), Value: i18n.Raw(describeBlock(u.Block) + ": wikimod does nothing for you while the block lasts.")})
		default:
			r.Fields = append(r.Fields, Field{Label: i18n.Raw("Wiki groups (read now)"), Value: i18n.Raw(groupList(visibleGroups(u.Groups)))})
		}
	} else {
		v := "none. `/link user=WIKINAME` links one; your rights are then your wiki account's."
		if st.unlinked {
			v = "none, and this bot acts only for linked people: you may run nothing until you `/link user=WIKINAME`."
		} else if st.groups != nil {
			v += " Until then the bot's access rules map you to: " + groupList(visibleGroups(st.groups)) + "."
		}
		r.Fields = append(r.Fields, Field{Label: i18n.Raw("Wiki account"), Value: i18n.Raw(v)})
	}
	// A link in progress is part of who you are to wikimod: say so, and
	// what finishes it.
	if at, ok, err := s.links.LinkAttempt(ctx, req.Wiki.Name, a.Platform, a.UserID); err != nil {
		return Reply{}, err
	} else if ok && at.Expires.After(s.now()) {
		next := "give the code the wiki mailed it with `/link code=CODE`"
		if at.Method == LinkByPage {
			next = fmt.Sprintf("save your code on `User:%s/wikimod` while logged in as `%s`, then run `/link user=%s method=page` again", at.WikiUser, at.WikiUser, QuoteArg(at.WikiUser))
		}
		r.Fields = append(r.Fields, Field{Label: i18n.Raw("Link in progress"), Value: i18n.Raw(fmt.Sprintf("to `%s` by %s, until %s (%s): %s.",
			at.WikiUser, at.Method, at.Expires.UTC().Format("15:04 UTC"), Relative(at.Expires.Sub(s.now())), next))})
	}
	if st.groups != nil {
		r.Fields = append(r.Fields, Field{Label: i18n.Raw("Rights that follow"), Value: i18n.Raw(truncate(strings.Join(st.rights(req.Site.GroupRights), ", "), 1000))})
	}
	r.Fields = append(r.Fields, Field{Label: i18n.Raw("Commands you may run"), Value: i18n.Raw(s.mayRun(a, st, req.Site))})
	return r, nil
}

// mayRun lists the commands that need a right and that the standing
// allows, with the protection levels it may set.
func (s *Service) mayRun(a Actor, st standing, site *mw.SiteInfo) string {
	var out []string
	for _, sp := range s.Specs() {
		if sp.Right == "" || sp.ButtonOnly || st.check(a, site.GroupRights, sp.Right) != nil {
			continue
		}
		item := "`/" + sp.Name + "`"
		if slices.ContainsFunc(sp.Params, func(p Param) bool { return p.Levels }) {
			var levels []string
			for _, l := range nonEmpty(site.Restrictions.Levels) {
				if st.holds(LevelRight(l), site.GroupRights) {
					levels = append(levels, l)
				}
			}
			item += " (levels: " + cmp.Or(strings.Join(levels, ", "), "none") + ")"
		}
		out = append(out, item)
	}
	if len(out) == 0 {
		return "none besides `/help`, `/link`, `/unlink` and `/whoami`"
	}
	return strings.Join(out, ", ")
}

// newAttempt starts a link attempt and returns its code, which is kept
// only as a salted hash. baseRevision is, for a link by page, the page's
// latest revision now.
func (s *Service) newAttempt(ctx context.Context, w *Wiki, actor Actor, wikiUser, method string, baseRevision int64) (string, error) {
	if _, err := s.links.PruneLinkAttempts(ctx, s.now().Add(-24*time.Hour)); err != nil {
		s.log.Warn("pruning link attempts", "err", err)
	}
	code := newCode()
	salt := make([]byte, 16)
	rand.Read(salt)
	a := LinkAttempt{Wiki: w.Name, Platform: actor.Platform, UserID: actor.UserID, WikiUser: wikiUser, Method: method,
		Salt: salt, CodeHash: hashCode(salt, code), Expires: s.now().Add(codeValidity), BaseRevision: baseRevision}
	if err := s.links.SaveLinkAttempt(ctx, a); err != nil {
		return "", fmt.Errorf("saving the link attempt: %w", err)
	}
	return code, nil
}

// dropAttempt ends the actor's attempt; a failure is only logged, since
// the attempt expires anyway.
func (s *Service) dropAttempt(w *Wiki, actor Actor) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.links.DeleteLinkAttempt(ctx, w.Name, actor.Platform, actor.UserID); err != nil {
		s.log.Warn("ending a link attempt", "actor", actor.String(), "err", err)
	}
}

// alreadyLinked turns the "already linked" notice into a plain reply.
func alreadyLinked(err error) (Reply, error) {
	if e, ok := AsError(err); ok && e.Code == "already-linked" {
		return Reply{Title: i18n.Raw("Already linked."), Code: e.Code, Text: e.Message}, nil
	}
	return Reply{}, err
}

func newCode() string {
	b := make([]byte, codeLength)
	rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)] // 256 is a multiple of 32: no bias
	}
	return string(b)
}

func hashCode(salt []byte, code string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(code))
	return h.Sum(nil)
}

func codeMatches(a LinkAttempt, code string) bool {
	return len(code) == codeLength && subtle.ConstantTimeCompare(hashCode(a.Salt, code), a.CodeHash) == 1
}

// readCode reads a typed code: case, spaces and dashes do not matter, and
// the letters a code never has are read as the digits they look like.
func readCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
		case r == 'O':
			b.WriteByte('0')
		case r == 'I' || r == 'L':
			b.WriteByte('1')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// pageHoldsCode looks for the attempt's code among the words of a page.
func pageHoldsCode(a LinkAttempt, content string) bool {
	if len(content) > 64<<10 {
		content = content[:64<<10]
	}
	words := strings.FieldsFunc(content, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z')
	})
	for _, w := range words {
		if len(w) == codeLength && codeMatches(a, readCode(w)) {
			return true
		}
	}
	return false
}

// actorName is a chat user as a reader knows them: name and id.
func actorName(a Actor) string {
	if a.UserName == "" || a.UserName == a.UserID {
		return a.UserID
	}
	return a.UserName + " (" + a.UserID + ")"
}

// mailActorName is a chat user as the mail to the wiki account names them.
// A chat user chooses their own display name, and may fill it with new
// lines, a line that looks like the code, markup or an address to click:
// only its first line is kept, and of that only letters, marks, digits,
// spaces and a few joining signs, short, so that it cannot forge a word of
// the mail around it. The id is treated the same way.
func mailActorName(a Actor) string {
	id := mailSafe(a.UserID, 40)
	name := mailSafe(a.UserName, 40)
	if name == "" || name == id {
		return cmp.Or(id, "(unnamed)")
	}
	return "\u201c" + name + "\u201d (" + id + ")"
}

// mailSafe keeps of s what comes before its first control character or
// line break, and of that its letters, marks, digits and the signs - _ ',
// with every other run of characters one space, at most limit characters.
func mailSafe(s string, limit int) string {
	if i := strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp)
	}); i >= 0 {
		s = s[:i]
	}
	var b strings.Builder
	n, space := 0, false
	for _, r := range s {
		if n == limit {
			break
		}
		if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '\'' {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
				n++
			}
			space = false
			b.WriteRune(r)
			n++
			continue
		}
		space = true
	}
	return b.String()
}

// visibleGroups leaves out the groups every account is in.
func visibleGroups(groups []string) []string {
	var out []string
	for _, g := range groups {
		if !slices.Contains(ImplicitGroups, g) {
			out = append(out, g)
		}
	}
	return out
}

func ordinalSuffix(n int) string {
	switch n % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}
