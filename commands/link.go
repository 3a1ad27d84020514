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
			Summary: i18n.M("wikimod-command-link-summary"),
			Usage:   "/link user=WIKINAME [method=mail|page]   then   /link code=CODE",
			Help:    i18n.M("wikimod-command-link-help"),
			Params: []Param{
				{Name: "user", Description: i18n.M("wikimod-param-link-user")},
				{Name: "method", Description: i18n.M("wikimod-param-link-method")},
				{Name: "code", Description: i18n.M("wikimod-param-link-code"), Secret: true},
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
			Summary: i18n.M("wikimod-command-unlink-summary"),
			Usage:   "/unlink",
		},
		Run: s.runUnlink,
	}
}

func (s *Service) whoamiCommand() Command {
	return Command{
		Spec: Spec{
			Name:    "whoami",
			Summary: i18n.M("wikimod-command-whoami-summary"),
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
		return Reply{}, usage("wikimod-link-usage-user-and-code", req.Spec.Usage)
	case hasCode:
		return s.linkWithCode(ctx, req, code)
	case user == "":
		return Reply{}, usage("wikimod-link-usage-no-user", req.Spec.Usage)
	case method == "" || method == LinkByMail:
		return s.startLinkByMail(ctx, req, user)
	case method == LinkByPage:
		return s.linkByPage(ctx, req, user)
	}
	return Reply{}, usage("wikimod-link-usage-bad-method", truncate(method, 40))
}

// linkable reads the account and refuses one that cannot be linked.
func (s *Service) linkable(ctx context.Context, req *Request, name string) (mw.UserInfo, error) {
	name = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(name, "User:"), "user:"))
	if name == "" {
		return mw.UserInfo{}, usage("wikimod-link-usage-no-name")
	}
	u, err := req.Wiki.accounts.get(ctx, name, true)
	if err != nil {
		return mw.UserInfo{}, err
	}
	switch {
	case u.Invalid:
		return u, &Error{Outcome: OutcomeInvalid, Code: "invalid-user", Message: i18n.M("wikimod-link-invalid-user", truncate(name, 85))}
	case u.Missing:
		return u, &Error{Outcome: OutcomeInvalid, Code: "no-such-user", Message: i18n.M("wikimod-link-no-such-user", u.Name)}
	case u.Block != nil:
		return u, &Error{Outcome: OutcomeDenied, Code: "blocked", Message: i18n.Sentences(
			i18n.M("wikimod-link-blocked", u.Name), describeBlock(u.Block))}
	}
	if l, ok, err := s.links.Link(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID); err != nil {
		return u, fmt.Errorf("reading the chat user's link: %w", err)
	} else if ok && l.WikiUser == u.Name {
		return u, &Error{Outcome: OutcomeOK, Code: "already-linked", Message: i18n.M("wikimod-link-already-linked", u.Name)}
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
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "no-email", Message: i18n.M("wikimod-link-no-email", u.Name, QuoteArg(u.Name))}
	}
	if err := s.takeLinkMail(ctx, req, u.Name); err != nil {
		return Reply{}, err
	}
	code, err := s.newAttempt(ctx, req.Wiki, req.Actor, u.Name, LinkByMail, 0)
	if err != nil {
		return Reply{}, err
	}
	subject, text := s.linkMail(ctx, req, u.Name, code)
	err = req.Wiki.Client.EmailUser(ctx, u.Name, subject, text)
	if err != nil && !mw.MaybeApplied(err) {
		s.dropAttempt(req.Wiki, req.Actor)
		return Reply{}, mailError(u.Name, err, code)
	}
	r := Reply{Title: i18n.M("wikimod-link-code-sent-title"), Code: "code-sent",
		Text: i18n.M("wikimod-link-code-sent-text", u.Name, i18n.Duration(codeValidity))}
	if err != nil {
		r = Reply{Title: i18n.M("wikimod-link-mail-unknown-title"), Outcome: OutcomeUnknown, Code: "mail-unknown",
			Text: i18n.M("wikimod-link-mail-unknown-text", u.Name, QuoteArg(u.Name), i18n.Duration(codeValidity))}
	}
	req.Result = map[string]string{"wikiuser": u.Name, "method": LinkByMail}
	return r, nil
}

// linkMail writes the mail that carries a code to the wiki account
// wikiUser: in the wiki's content language, which the account's holder
// reads on the wiki, and, when it says otherwise, in the requester's
// language too, first the one and then the other.
func (s *Service) linkMail(ctx context.Context, req *Request, wikiUser, code string) (subject, text string) {
	subjectMsg := i18n.M("wikimod-link-mail-subject")
	textMsg := i18n.M("wikimod-link-mail-text", s.platformNoun(req.Actor.Platform), mailActorName(req.Actor), wikiUser,
		i18n.M("wikimod-link-code-line", code), i18n.Duration(codeValidity))
	var subjects, texts []string
	requester, _ := s.LanguageOf(ctx, req.Actor, req.Wiki)
	for _, lang := range []string{req.Site.Lang, requester} {
		l := i18n.Localizer{Lang: lang}
		if t := l.Text(textMsg); !slices.Contains(texts, t) {
			subjects, texts = append(subjects, l.Text(subjectMsg)), append(texts, t)
		}
	}
	return strings.Join(slices.Compact(subjects), " / "), strings.Join(texts, "\n\n----\n\n") + "\n"
}

// mailError explains why the wiki would not send the code.
func mailError(name string, err error, code string) error {
	switch {
	case errors.Is(err, mw.ErrNotEmailable):
		return &Error{Outcome: OutcomeWikiError, Code: mw.ErrorCode(err), Message: i18n.M("wikimod-link-not-emailable", name, QuoteArg(name))}
	case errors.Is(err, mw.ErrNoSuchUser):
		return &Error{Outcome: OutcomeWikiError, Code: mw.ErrorCode(err), Message: i18n.M("wikimod-link-mail-no-such-user", name)}
	case errors.Is(err, mw.ErrCannotSendEmail):
		return &Error{Outcome: OutcomeWikiError, Code: mw.ErrorCode(err), Message: i18n.M("wikimod-link-cannot-send-email", mw.ErrorCode(err), QuoteArg(name))}
	}
	if e := wikiErrorFor(nil, err, []string{code}); e != nil {
		return e
	}
	return err
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
	why := i18n.M("wikimod-link-mail-limit-account-every", wikiUser, l.Max, i18n.Duration(l.Per))
	switch {
	case l.Scope == MailsToAccount && l.Per == 24*time.Hour:
		why = i18n.M("wikimod-link-mail-limit-account-day", wikiUser, l.Max)
	case l.Scope == MailsForChatUser && l.Per == 24*time.Hour:
		why = i18n.M("wikimod-link-mail-limit-chat-user-day", l.Max)
	case l.Scope == MailsForChatUser:
		why = i18n.M("wikimod-link-mail-limit-chat-user-every", l.Max, i18n.Duration(l.Per))
	}
	parts := []i18n.Message{why, i18n.M("wikimod-link-mail-limit-retry", when(hit.Until), waitFor(hit.Until.Sub(now)))}
	if a, ok, err := s.links.LinkAttempt(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID); err == nil && ok &&
		a.Method == LinkByMail && a.WikiUser == wikiUser && now.Before(a.Expires) {
		parts = append(parts, i18n.M("wikimod-link-mail-limit-code-works", when(a.Expires)))
	}
	parts = append(parts, i18n.M("wikimod-link-mail-limit-by-page", QuoteArg(wikiUser)))
	return &Error{Outcome: OutcomeDenied, Code: "mail-limit:" + l.Name, Message: i18n.Sentences(parts...)}
}

// waitFor says a wait to the second, rounded up, in the largest units
// that say it exactly: "4 minutes and 12 seconds", "23 hours and 59
// minutes", so that a person told to wait it is never too early.
func waitFor(d time.Duration) i18n.Message {
	secs := max(time.Duration(1), (d+time.Second-1)/time.Second)
	var parts []i18n.Message
	for _, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
		if n := secs * time.Second / unit; n > 0 {
			parts = append(parts, i18n.Duration(n*unit))
			secs -= n * unit / time.Second
		}
	}
	return i18n.List(parts...)
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
		return Reply{Title: i18n.M("wikimod-link-page-code-title"), Code: "code-given", Text: i18n.M("wikimod-link-page-code-text",
			u.Name, page, i18n.M("wikimod-link-code-line", code), QuoteArg(u.Name), i18n.Duration(codeValidity))}, nil
	}
	h, err := req.Wiki.Client.RevisionsAfter(ctx, page, a.BaseRevision, maxPageRevisions)
	if err != nil {
		return Reply{}, err
	}
	if err := s.checkPageHistory(req, a, u.Name, page, h); err != nil {
		return Reply{}, err
	}
	if len(h.After) == 0 {
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "page-not-saved", Message: i18n.M("wikimod-link-page-not-saved", page, u.Name)}
	}
	first := firstHoldingCode(a, h.After)
	if first == nil {
		return s.wrongCode(ctx, req, page)
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
		return &Error{Outcome: OutcomeInvalid, Code: "page-missing", Message: i18n.M("wikimod-link-page-missing", page, name)}
	case h.Truncated:
		s.dropAttempt(req.Wiki, req.Actor)
		return &Error{Outcome: OutcomeDenied, Code: "page-too-busy", Message: i18n.Sentences(
			i18n.M("wikimod-link-page-too-busy", page, maxPageRevisions), startPageAgain(name, page))}
	case h.Before != nil && !h.Before.ContentHidden && pageHoldsCode(a, h.Before.Content):
		s.dropAttempt(req.Wiki, req.Actor)
		return &Error{Outcome: OutcomeDenied, Code: "page-code-before-attempt", Message: i18n.Sentences(
			i18n.M("wikimod-link-page-code-before-attempt", page), startPageAgain(name, page))}
	}
	return nil
}

// checkFirstSaver refuses the code unless the account itself saved the
// version that first held it: a code someone else put on the page proves
// nothing, whoever edits the page afterwards. It voids the attempt, since
// that code is spoilt for good.
func (s *Service) checkFirstSaver(req *Request, name, page string, first *mw.Revision) error {
	var why i18n.Message
	switch {
	case first.ContentHidden:
		why = i18n.M("wikimod-link-page-text-hidden", page)
	case first.UserHidden || first.User == "":
		why = i18n.M("wikimod-link-page-saver-hidden", page, name)
	case first.User != name:
		why = i18n.M("wikimod-link-page-saved-by-other", page, first.User, name)
	default:
		return nil
	}
	s.dropAttempt(req.Wiki, req.Actor)
	return &Error{Outcome: OutcomeDenied, Code: "page-not-own", Message: i18n.Sentences(why, i18n.M("wikimod-link-attempt-void"), startPageAgain(name, page))}
}

// startPageAgain tells a person whose code by page was refused for good
// how to link.
func startPageAgain(name, page string) i18n.Message {
	return i18n.M("wikimod-link-page-start-again", QuoteArg(name), page, name)
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
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "no-attempt", Message: i18n.M("wikimod-link-no-attempt")}
	case !s.now().Before(a.Expires):
		s.dropAttempt(req.Wiki, req.Actor)
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "code-expired", Message: i18n.M("wikimod-link-code-expired",
			QuoteArg(a.WikiUser), i18n.Duration(codeValidity))}
	case a.Method == LinkByPage:
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "page-method", Message: i18n.M("wikimod-link-page-method",
			"User:"+a.WikiUser+linkPageSuffix, QuoteArg(a.WikiUser))}
	}
	if !codeMatches(a, readCode(code)) {
		return s.wrongCode(ctx, req, "")
	}
	return s.completeLink(ctx, req, a)
}

// wrongCode counts a wrong code and voids the attempt at the last one.
// page names the page a code by page was looked for on; "" stands for a
// code given by mail.
func (s *Service) wrongCode(ctx context.Context, req *Request, page string) (Reply, error) {
	tries, err := s.links.AddWrongCode(ctx, req.Wiki.Name, req.Actor.Platform, req.Actor.UserID)
	if err != nil {
		return Reply{}, fmt.Errorf("counting a wrong code: %w", err)
	}
	if tries >= maxWrongCodes {
		s.dropAttempt(req.Wiki, req.Actor)
		msg := i18n.M("wikimod-link-wrong-code-void-mail", maxWrongCodes)
		if page != "" {
			msg = i18n.M("wikimod-link-wrong-code-void-page", maxWrongCodes, page)
		}
		return Reply{}, &Error{Outcome: OutcomeDenied, Code: "too-many-wrong-codes", Message: msg}
	}
	msg := i18n.M("wikimod-link-wrong-code-mail", maxWrongCodes-tries)
	if page != "" {
		msg = i18n.M("wikimod-link-wrong-code-page", maxWrongCodes-tries, page)
	}
	return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "wrong-code", AboutSecret: true, Message: msg}
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
	r := Reply{Title: i18n.M("wikimod-link-linked-title"), Code: "linked",
		Text: i18n.M("wikimod-link-linked-text", s.platformNoun(req.Actor.Platform), u.Name)}
	r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-link-wiki-groups"), Value: groupList(visibleGroups(u.Groups))})
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
		return Reply{Title: i18n.M("wikimod-unlink-not-linked-title"), Code: "not-linked", Text: i18n.M("wikimod-unlink-not-linked-text")}, nil
	}
	req.Actor.WikiUser = l.WikiUser
	req.Result = map[string]string{"wikiuser": l.WikiUser}
	text := i18n.M("wikimod-unlink-text", l.WikiUser)
	if s.requireLink {
		text = i18n.M("wikimod-unlink-text-link-required", l.WikiUser)
	}
	return Reply{Title: i18n.M("wikimod-unlink-title"), Code: "unlinked", Text: text}, nil
}

func (s *Service) runWhoami(ctx context.Context, req *Request) (Reply, error) {
	if err := checkKeys(req.Spec, req.Args, false); err != nil {
		return Reply{}, err
	}
	a := req.Actor
	r := Reply{Title: i18n.M("wikimod-whoami-title")}
	r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-whoami-chat-account"),
		Value: i18n.M("wikimod-whoami-chat-account-value", s.PlatformTitle(a.Platform), actorName(a))})
	r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-whoami-language"), Value: s.languageWords(ctx, req)})
	st := req.standing
	if st.linked {
		// Live: what the wiki says now, not what the cache kept.
		u, err := req.Wiki.accounts.get(ctx, st.account.Name, true)
		if err != nil {
			return Reply{}, err
		}
		st = linkedStanding(u)
		r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-whoami-wiki-account"), Value: i18n.M("wikimod-whoami-wiki-account-linked", u.Name)})
		switch {
		case u.Missing || u.Invalid:
			r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-whoami-on-the-wiki"), Value: i18n.M("wikimod-whoami-account-gone")})
		case u.Block != nil:
			r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-whoami-blocked"),
				Value: i18n.Sentences(describeBlock(u.Block), i18n.M("wikimod-whoami-blocked-note"))})
		default:
			r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-whoami-groups-now"), Value: groupList(visibleGroups(u.Groups))})
		}
	} else {
		v := i18n.M("wikimod-whoami-not-linked")
		if st.unlinked {
			v = i18n.M("wikimod-whoami-not-linked-required")
		} else if st.groups != nil {
			v = i18n.Sentences(v, i18n.M("wikimod-whoami-mapped-until-linked", groupList(visibleGroups(st.groups))))
		}
		r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-whoami-wiki-account"), Value: v})
	}
	// A link in progress is part of who you are to wikimod: say so, and
	// what finishes it.
	if at, ok, err := s.links.LinkAttempt(ctx, req.Wiki.Name, a.Platform, a.UserID); err != nil {
		return Reply{}, err
	} else if ok && at.Expires.After(s.now()) {
		v := i18n.M("wikimod-whoami-link-by-mail", at.WikiUser, when(at.Expires), fromNow(at.Expires))
		if at.Method == LinkByPage {
			v = i18n.M("wikimod-whoami-link-by-page", at.WikiUser, when(at.Expires), fromNow(at.Expires),
				"User:"+at.WikiUser+linkPageSuffix, QuoteArg(at.WikiUser))
		}
		r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-whoami-link-in-progress"), Value: v})
	}
	if st.groups != nil {
		// Rights are codes, many of them: a plain list, cut to fit a
		// platform's field.
		r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-whoami-rights"),
			Value: i18n.Raw(truncate(strings.Join(st.rights(req.Site.GroupRights), ", "), 1000))})
	}
	r.Fields = append(r.Fields, Field{Label: i18n.M("wikimod-whoami-commands"), Value: s.mayRun(a, st, req.Site)})
	return r, nil
}

// whoamiLanguage maps where a person's language came from to the words
// /whoami says it with.
var whoamiLanguage = map[LanguageSource]string{
	LanguageChosen:      "wikimod-whoami-language-chosen",
	LanguagePlatform:    "wikimod-whoami-language-platform",
	LanguageChannel:     "wikimod-whoami-language-channel",
	LanguageWikiSetting: "wikimod-whoami-language-wiki-setting",
	LanguageWiki:        "wikimod-whoami-language-wiki",
	LanguageFallback:    "wikimod-whoami-language-fallback",
}

// languageWords says which language the request's actor is answered in,
// by its own name and its code, and where it came from (LanguageOf).
func (s *Service) languageWords(ctx context.Context, req *Request) i18n.Message {
	lang, source := s.LanguageOf(ctx, req.Actor, req.Wiki)
	name := i18n.Raw(cmp.Or(i18n.Autonym(i18n.Normalize(lang)), lang))
	key, ok := whoamiLanguage[source]
	if !ok {
		key = "wikimod-whoami-language-fallback"
	}
	msg := i18n.M(key, name, lang, s.PlatformTitle(req.Actor.Platform))
	if s.langs.Preferences != nil && source != LanguageChosen {
		msg = i18n.Sentences(msg, i18n.M("wikimod-whoami-language-choose"))
	}
	return msg
}

// mayRun lists the commands that need a right and that the standing
// allows, with the protection levels it may set.
func (s *Service) mayRun(a Actor, st standing, site *mw.SiteInfo) i18n.Message {
	var out []i18n.Message
	for _, sp := range s.Specs() {
		if sp.Right == "" || sp.ButtonOnly || st.check(a, site.GroupRights, sp.Right) != nil {
			continue
		}
		item := i18n.Raw("`/" + sp.Name + "`")
		if slices.ContainsFunc(sp.Params, func(p Param) bool { return p.Levels }) {
			var levels []string
			for _, l := range nonEmpty(site.Restrictions.Levels) {
				if st.holds(LevelRight(l), site.GroupRights) {
					levels = append(levels, l)
				}
			}
			names := i18n.M("wikimod-whoami-no-levels")
			if len(levels) > 0 {
				names = i18n.Raw(strings.Join(levels, ", "))
			}
			item = i18n.M("wikimod-whoami-command-levels", item, names)
		}
		out = append(out, item)
	}
	if len(out) == 0 {
		return i18n.M("wikimod-whoami-no-commands")
	}
	return i18n.List(out...)
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
		return Reply{Title: i18n.M("wikimod-link-already-linked-title"), Code: e.Code, Text: e.Message}, nil
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
func actorName(a Actor) i18n.Message {
	if a.UserName == "" || a.UserName == a.UserID {
		return i18n.Raw(a.UserID)
	}
	return i18n.M("wikimod-chat-user", a.UserName, a.UserID)
}

// mailActorName is a chat user as the mail to the wiki account names them.
// A chat user chooses their own display name, and may fill it with new
// lines, a line that looks like the code, markup or an address to click:
// only its first line is kept, and of that only letters, marks, digits,
// spaces and a few joining signs, short, so that it cannot forge a word of
// the mail around it. The id is treated the same way.
func mailActorName(a Actor) i18n.Message {
	id := mailSafe(a.UserID, 40)
	name := mailSafe(a.UserName, 40)
	switch {
	case name != "" && name != id:
		return i18n.M("wikimod-link-mail-chat-user", name, id)
	case id == "":
		return i18n.M("wikimod-link-mail-unnamed")
	}
	return i18n.Raw(id)
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
