package commands

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// Param describes one argument of a command. Platforms build their forms
// from it (Discord options, Slack usage hints); the audit log drops Secret
// values.
type Param struct {
	Name string
	// Description says in a line what the parameter is for: /help shows
	// it, and platforms show it beside their options and form fields
	// (Discord's in every language the catalogue has). Its English stays
	// within Discord's 100 characters.
	Description i18n.Message
	Required    bool
	Secret      bool // a password: never logged, stored or echoed
	Flag        bool // a yes/no switch
	// Levels marks a parameter whose values are the wiki's protection levels.
	Levels bool
	// TextOnly marks a parameter typed in text commands only, not offered
	// as a platform's option (a page id, where platforms offer titles).
	TextOnly bool
	// Titles marks a parameter that takes a page title, for which platforms
	// may offer suggestions as the title is typed (SuggestTitles).
	Titles bool
	// Wiki marks the parameter that names the wiki (Service.Wikis are
	// its values).
	Wiki bool
}

// Spec describes a command.
type Spec struct {
	Name string
	// Summary is one line, for command lists (/help's, Discord's, Slack's
	// manifest), in each reader's language. Its English stays within
	// Discord's 100 characters.
	Summary i18n.Message
	// Usage is the text grammar, for /help: syntax, typed as it is, not
	// language.
	Usage string
	// Help is what else to know, for /help COMMAND; zero for nothing more.
	Help i18n.Message
	// Positional names the parameter that bare words stand for ("title" for
	// /protect). Where it is empty, bare words are refused, and the audit log
	// does not keep them: they may be a mistyped password.
	Positional string
	// Right is the wiki right the command needs; Config.Rights overrides it.
	// Empty means anyone may use it, even an unmapped actor.
	Right  string
	Params []Param
	// AskSecret names the secret parameter a platform should ask for in a
	// private form (a modal) when it was not typed; empty if none.
	AskSecret string
	// AskSecretUnless names parameters that, when given, mean the command
	// is not at the step that needs the secret (/link user=NAME starts
	// what /link code=CODE finishes): no form is shown then.
	AskSecretUnless []string
	// SecretOptionalWith names parameters that, when given, let the
	// secret be left empty in the form (/createaccount with an email
	// address: the wiki mails a temporary password). See SecretMayBeEmpty.
	SecretOptionalWith []string
	// ButtonOnly marks a command that buttons run (a reminder's Extend):
	// platforms do not register it as a slash command. It can still be
	// typed where commands are typed (the console).
	ButtonOnly bool
	// Write marks a command that may change the wiki. The queue runs such
	// commands one at a time, in the order they arrived. Platforms offer
	// such commands to moderators only where they can (Discord's default
	// member permissions).
	Write bool
	// Grant is the bot-password grant (Special:BotPasswords) that gives the
	// bot the command's right, as wikimod check names it; empty for the
	// basic grant every bot password has.
	Grant string
	// Anonymous marks a command sent from the wiki's anonymous session
	// where one is configured (Wiki.Reset): no grant carries its right.
	Anonymous bool
	// NoWiki marks a command that needs no wiki (/help): where none can be
	// chosen for it, it runs without one (Request.Wiki and Site nil). It
	// must need no right.
	NoWiki bool
	// WritesWith, where set, tells of a Write command which runs may
	// change the wiki: the others (a batch's cancel, which must reach it
	// while it runs) wait in the wiki's read lane. Nil: every run may.
	WritesWith func(Args) bool
	// Timeout bounds a run of the command where it needs longer than one
	// request's worth (a batch of pages, which bounds each page by the
	// usual limit). Zero: the wiki's or the service's limit.
	Timeout time.Duration
}

// Param returns the named parameter.
func (s Spec) Param(name string) (Param, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// AsksSecret reports whether a platform should ask for the spec's secret
// in a private form before running the command with args: the command has
// one, it was not given, and nothing was given that makes it unneeded.
func (s Spec) AsksSecret(args Args) bool {
	if s.AskSecret == "" {
		return false
	}
	if v, _ := args.Get(s.AskSecret); v != "" {
		return false
	}
	for _, p := range s.AskSecretUnless {
		if _, given := args.Get(p); given {
			return false
		}
	}
	return true
}

// SecretMayBeEmpty reports whether the form that asks for the spec's
// secret may be sent empty, given the other args: the secret is not a
// required parameter, the form is not the step the secret is for (see
// AskSecretUnless), and one of SecretOptionalWith was given. Every platform
// decides its form's required field with it.
func (s Spec) SecretMayBeEmpty(args Args) bool {
	p, ok := s.Param(s.AskSecret)
	if !ok || p.Required || len(s.AskSecretUnless) > 0 {
		return false
	}
	for _, name := range s.SecretOptionalWith {
		if v, _ := args.Get(name); v != "" {
			return true
		}
	}
	return false
}

// Command is a command the service can run: a value that carries
// everything about itself, so that the service, the settle pass, the
// adapters (their forms, Discord's registration, Slack's manifest) and
// wikimod check all read it rather than know commands by name. Each of
// wikimod's commands is one file of this package (protect.go,
// createaccount.go, ...) or of the package that adds it (the reminders').
type Command struct {
	Spec Spec
	// Run does the work once the actor holds Spec's right. It returns the
	// reply, or an error: an *Error is shown as it is, anything else is
	// explained as a wiki error or logged as an internal failure.
	Run func(ctx context.Context, req *Request) (Reply, error)
	// Settle names what a run leaves in the wiki's logs, so that the
	// settle pass (Service.Settle) can tell whether a run that a stop left
	// unfinished took effect: the log type, and the title of the entry a
	// run that took effect writes ("" when the record does not say, as
	// when it lost its arguments). Nil means the command leaves no trace
	// in the logs: a Spec.Write command is then settled as "may-have-run",
	// any other as "no-change".
	Settle func(rec AuditRecord) (logType, title string)
	// Advice maps the wiki's error codes that mean something particular
	// when this command meets them to the catalogue key of what to tell
	// the person then; every other code gets the advice that holds
	// whatever the command (wikiAdvice). Nil: the general advice only.
	Advice map[string]string
}

// Request is one command being run.
type Request struct {
	Actor Actor
	Args  Args
	Spec  Spec
	// Wiki is the wiki the command runs against.
	Wiki *Wiki
	// Site is that wiki's site information (cached).
	Site *mw.SiteInfo
	// Result is what the wiki answered, kept in the audit log. Commands set it.
	Result any

	standing standing
	svc      *Service
	// after is work the command leaves until its reply is out: the
	// reminders' tracking of a protection, which the moderator need not
	// wait for. The reminders' sync of the protect log makes up for it
	// should the process die in between.
	after func(context.Context)
	// progress shows the person how a long run goes (Job.Progress); nil
	// where the platform cannot.
	progress func(context.Context, Reply)
	// sig is the request's signer, made once for the language and the
	// linked wiki account it was made with (signer).
	sig         *signer
	sigLang     string
	sigWikiUser string
}

// Check returns a denial unless the actor holds the given rights.
func (r *Request) Check(rights ...string) error {
	return r.standing.check(r.Actor, r.Site.GroupRights, rights...)
}

// AuditRecord is one entry of the audit log: one command attempt.
type AuditRecord struct {
	ID       int64
	Time     time.Time
	Platform string
	UserID   string
	UserName string
	// WikiUser is the wiki account the chat identity is linked to, when
	// it is: the account whose rights the command ran with.
	WikiUser string
	// Wiki names the wiki the command was for (Wiki.Name); "" when no
	// wiki could be chosen.
	Wiki string
	// Owner names the wikimod process that took the command
	// (Config.Instance), so that when it dies, another settles what it
	// left unfinished, and none settles what a live one is running.
	Owner   string
	Channel string
	Command string
	// Args are the arguments with every secret replaced by "[redacted]".
	// Positional words are under the key "_".
	Args     map[string]string
	Outcome  Outcome
	Code     string
	Result   json.RawMessage // the wiki's answer, when there was one
	Duration time.Duration
}

// Auditor records command attempts. Begin is called before anything is sent
// to the wiki and must set rec.ID; it stores rec.Outcome, which is
// OutcomeQueued for a command accepted into the queue and OutcomePending
// for one about to run. Start moves a queued record to pending when its turn
// comes. Finish records how it ended. If Begin or Start fails, the command
// is not run.
type Auditor interface {
	Begin(ctx context.Context, rec *AuditRecord) error
	Start(ctx context.Context, id int64) error
	Finish(ctx context.Context, rec *AuditRecord) error
}

// Config configures a Service.
type Config struct {
	// Wikis are the wikis the service acts on; at least one, with distinct
	// names.
	Wikis []*Wiki
	// Wiki is a shorthand for one wiki named DefaultWiki, with that
	// session for everything, used when Wikis is empty.
	Wiki *mw.Client
	// Routes pick the wiki of a command that names none.
	Routes Routes
	// Policy maps actors to wiki groups. Required.
	Policy *Policy
	// Identity configures linked wiki accounts; with Identity.Links set,
	// /link, /unlink and /whoami are offered, and a linked actor holds
	// what their wiki account holds.
	Identity IdentityConfig
	// Rights overrides the right a command needs, by command name.
	Rights map[string]string
	// Audit records every attempt. Required.
	Audit Auditor
	// Extra commands beyond the four API commands and /help.
	Extra []Command
	// OnProtect is called after a successful /protect, for example to
	// schedule expiry reminders. Errors are logged, not shown. A queued
	// command calls it once its reply has gone out; Execute, before it
	// returns.
	OnProtect func(ctx context.Context, actor Actor, res *ProtectOutcome) error
	// Observe is called after every command, for metrics; wiki is "" for
	// a command no wiki could be chosen for.
	Observe func(wiki, command string, outcome Outcome, d time.Duration)
	// Timeout bounds one command, from the moment its turn comes. Zero
	// means 30 seconds.
	Timeout time.Duration
	// Queue bounds the commands the platforms submit (Submit).
	Queue QueueConfig
	// Instance names this process among the replicas sharing one
	// database; it is each audit record's Owner.
	Instance string
	// UserLimit bounds the commands one chat user gives on one wiki.
	UserLimit UserLimit
	// Platforms describe the chat platforms commands come from, each as
	// its adapter gives it: the words replies and signatures name it with.
	Platforms []Platform
	// OnRefusal counts a command refused before it became one (a person
	// past their UserLimit), as the adapters count refused requests:
	// platform, kind (KindRateLimited), source and a detail without
	// secrets. Nil counts nothing.
	OnRefusal func(platform, kind, source, detail string)
	// Languages are the channels' and wikis' configured languages and
	// where people's own choices are kept.
	Languages LanguageConfig
	// Batches keeps the batches /protect previews for many pages at once
	// (titles=, category=, prefix=); nil: /protect takes one page.
	Batches BatchStore
	// BatchLimit is the most pages one batch takes ([commands]
	// batch_limit). Zero means DefaultBatchLimit.
	BatchLimit int
	// Now is the clock. Nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service runs commands for actors.
type Service struct {
	instance    string
	wikis       map[string]*Wiki
	wikiNames   []string // sorted
	routes      Routes
	policy      *Policy
	links       LinkStore
	requireLink bool
	rights      map[string]string
	audit       Auditor
	onProtect   func(ctx context.Context, actor Actor, res *ProtectOutcome) error
	observe     func(string, string, Outcome, time.Duration)
	timeout     time.Duration
	now         func() time.Time
	log         *slog.Logger
	commands    map[string]Command
	order       []string
	queue       *queue
	limiter     *userLimiter
	onRefusal   func(platform, kind, source, detail string)
	platforms   map[string]Platform
	langs       LanguageConfig
	chosenMu    sync.Mutex
	chosen      map[chosenKey]chosen // people's /language choices, read recently
	batches     BatchStore
	batchLimit  int
}

// New checks cfg and returns a service.
func New(cfg Config) (*Service, error) {
	if len(cfg.Wikis) == 0 && cfg.Wiki != nil {
		cfg.Wikis = []*Wiki{{Name: DefaultWiki, Client: cfg.Wiki}}
	}
	if len(cfg.Wikis) == 0 {
		return nil, errors.New("commands: no wiki")
	}
	if cfg.Policy == nil {
		return nil, errors.New("commands: no access policy")
	}
	if cfg.Audit == nil {
		return nil, errors.New("commands: no audit log")
	}
	s := &Service{
		instance:    cfg.Instance,
		wikis:       map[string]*Wiki{},
		routes:      cfg.Routes,
		policy:      cfg.Policy,
		links:       cfg.Identity.Links,
		langs:       cfg.Languages,
		requireLink: cfg.Identity.RequireLink,
		rights:      cfg.Rights,
		audit:       cfg.Audit,
		onProtect:   cfg.OnProtect,
		observe:     cfg.Observe,
		timeout:     cfg.Timeout,
		now:         cfg.Now,
		log:         cfg.Logger,
		commands:    map[string]Command{},
		limiter:     newUserLimiter(cfg.UserLimit),
		onRefusal:   cfg.OnRefusal,
		platforms:   map[string]Platform{},
		batches:     cfg.Batches,
		batchLimit:  cmp.Or(cfg.BatchLimit, DefaultBatchLimit),
	}
	for _, p := range cfg.Platforms {
		s.platforms[p.Name] = p
	}
	if s.timeout == 0 {
		s.timeout = 30 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.requireLink && s.links == nil {
		return nil, errors.New("commands: links are required but there is no link store")
	}
	for _, w := range cfg.Wikis {
		if w == nil || w.Client == nil || w.Name == "" {
			return nil, errors.New("commands: a wiki without a name or a client")
		}
		if _, dup := s.wikis[w.Name]; dup {
			return nil, fmt.Errorf("commands: wiki %q given twice", w.Name)
		}
		if w.Reset == nil {
			w.Reset = w.Client
		}
		w.accounts = &accountCache{wiki: w.Client, ttl: cmp.Or(cfg.Identity.RightsTTL, time.Minute), now: s.now, m: map[string]cachedAccount{}}
		s.wikis[w.Name] = w
		s.wikiNames = append(s.wikiNames, w.Name)
	}
	sort.Strings(s.wikiNames)
	for key, name := range s.routes.all() {
		if _, ok := s.wikis[name]; !ok {
			return nil, fmt.Errorf("commands: %s routes to wiki %q, which is not configured (wikis: %s)", key, name, strings.Join(s.wikiNames, ", "))
		}
	}
	all := []Command{s.protectCommand(), s.validatePasswordCommand(), s.resetPasswordCommand(), s.createAccountCommand()}
	if s.links != nil {
		all = append(all, s.linkCommand(), s.unlinkCommand(), s.whoamiCommand())
	}
	if s.langs.Preferences != nil {
		all = append(all, s.languageCommand())
	}
	if s.batches != nil {
		all = append(all, s.batchCommand())
	}
	all = append(all, cfg.Extra...)
	all = append(all, s.helpCommand())
	for _, c := range all {
		if _, dup := s.commands[c.Spec.Name]; dup {
			return nil, fmt.Errorf("commands: %q defined twice", c.Spec.Name)
		}
		s.commands[c.Spec.Name] = c
		s.order = append(s.order, c.Spec.Name)
	}
	for _, rights := range append([]map[string]string{cfg.Rights}, wikiRights(cfg.Wikis)...) {
		for name := range rights {
			if _, ok := s.commands[name]; !ok {
				return nil, fmt.Errorf("commands: rights: no command %q (commands are %s)", name, strings.Join(s.order, ", "))
			}
		}
	}
	s.queue = newQueue(cfg.Queue)
	s.startQueue()
	return s, nil
}

func wikiRights(wikis []*Wiki) []map[string]string {
	var out []map[string]string
	for _, w := range wikis {
		out = append(out, w.Rights)
	}
	return out
}

// wikiParam is the parameter every command takes when there is more than
// one wiki.
var wikiParam = Param{Name: "wiki", Description: i18n.M("wikimod-param-wiki"), Wiki: true}

// Specs returns the specs of every command, in a stable order, with each
// command's effective right (as Config.Rights sets it; a wiki may override
// it). With more than one wiki, each takes the parameter wiki.
func (s *Service) Specs() []Spec {
	out := make([]Spec, 0, len(s.order))
	for _, name := range s.order {
		sp, _ := s.Spec(name)
		out = append(out, sp)
	}
	return out
}

// Spec returns the spec of one command.
func (s *Service) Spec(name string) (Spec, bool) {
	c, ok := s.commands[name]
	if !ok {
		return Spec{}, false
	}
	sp := c.Spec
	sp.Right = s.right(nil, sp)
	if len(s.wikis) > 1 {
		sp.Params = append(slices.Clip(sp.Params), wikiParam)
	}
	return sp, true
}

// right is the right a command needs on w (nil: by Config.Rights alone).
func (s *Service) right(w *Wiki, sp Spec) string {
	if w != nil {
		if r, ok := w.Rights[sp.Name]; ok {
			return r
		}
	}
	if r, ok := s.rights[sp.Name]; ok {
		return r
	}
	return sp.Right
}

// RequiredRights returns, by command name, the right each command needs on
// the named wiki.
func (s *Service) RequiredRights(wiki string) map[string]string {
	w := s.wikis[wiki]
	out := map[string]string{}
	for _, name := range s.order {
		if r := s.right(w, s.commands[name].Spec); r != "" {
			out[name] = r
		}
	}
	return out
}

// Wikis returns the names of the configured wikis, sorted.
func (s *Service) Wikis() []string { return slices.Clone(s.wikiNames) }

// Wiki returns the named wiki.
func (s *Service) Wiki(name string) (*Wiki, bool) {
	w, ok := s.wikis[name]
	return w, ok
}

// Authorize tells a platform, before it asks the actor for anything more (a
// password in a form), whether the actor may run the command with args at
// all. On a denial it returns the reply to show, and the attempt is audited
// like any other; unknown commands, and a wiki that cannot be chosen, are
// left for Execute to explain.
func (s *Service) Authorize(ctx context.Context, actor Actor, name string, args Args) (Reply, bool) {
	reply, ok := s.authorizeFirst(ctx, actor, name, args)
	if !ok {
		reply = s.localized(ctx, actor, reply)
	}
	return reply, ok
}

func (s *Service) authorizeFirst(ctx context.Context, actor Actor, name string, args Args) (Reply, bool) {
	name = normalizeName(name)
	if reply, over := s.overLimit(ctx, actor, name, args); over {
		return reply, false
	}
	cmd, known := s.commands[name]
	w, err := s.chooseWiki(ctx, actor, &args)
	if !known || err != nil {
		return Reply{}, true
	}
	right := s.right(w, cmd.Spec)
	if right == "" {
		return Reply{}, true
	}
	st, _, err := s.authorize(ctx, w, actor, right)
	if err == nil {
		return Reply{}, true
	}
	reply := s.named(w, s.errorReply(name, err, nil))
	s.refused(ctx, actor, name, w, st.wikiUser(), nil, reply)
	return reply, false
}

// refused audits, in one write, an attempt refused before it became a
// command (a denial before a form, a line that could not be read, a person
// past their limit) and counts it. args are what the audit log keeps of
// its arguments (nil: none); w is its wiki, nil when none was chosen.
// Every other attempt is begun when it is taken and finished when it ends
// (Submit and Execute, then finishRecord): these are the only two paths
// into the audit log.
func (s *Service) refused(ctx context.Context, actor Actor, name string, w *Wiki, wikiUser string, args map[string]string, reply Reply) {
	rec := s.newRecord(actor, name, Args{}, Spec{})
	if args != nil {
		rec.Args = args
	}
	if w != nil {
		rec.Wiki = w.Name
	}
	rec.WikiUser = wikiUser
	rec.Outcome, rec.Code = reply.Outcome, reply.Code
	s.record(ctx, rec, false)
	s.observeDone(w, name, reply.Outcome, s.now())
}

// SuggestTitles returns up to limit page titles starting with prefix on the
// named wiki ("" for the one the actor's channel defaults to), for a
// platform's autocomplete. Only actors who hold a group there get
// suggestions; it is a read, so it is not audited. Errors yield no
// suggestions: autocomplete must not get in the way of typing.
func (s *Service) SuggestTitles(ctx context.Context, actor Actor, wiki, prefix string, limit int) []string {
	if strings.TrimSpace(prefix) == "" {
		return nil
	}
	var args Args
	if wiki != "" {
		args = args.Set("wiki", wiki)
	}
	w, err := s.chooseWiki(ctx, actor, &args)
	if err != nil {
		return nil
	}
	if st, err := s.standingOf(ctx, w, actor); err != nil || st.groups == nil {
		return nil
	}
	titles, err := w.Client.PrefixSearch(ctx, prefix, limit)
	if err != nil {
		s.log.Warn("title suggestions", "wiki", w.Name, "err", err)
		return nil
	}
	return titles
}

// named marks a reply with the wiki it is about, when there is more than
// one: its title starts with the wiki's name.
func (s *Service) named(w *Wiki, r Reply) Reply {
	if w != nil && len(s.wikis) > 1 && r.Wiki == "" {
		r.Wiki = w.Name
		r.Title = i18n.M("wikimod-wiki-prefix", w.Name, r.Title)
	}
	return r
}

// ExecuteLine parses a typed command and runs it at once, outside the
// queue: for callers that are themselves the only work (tests, tools).
// Platforms use Submit.
func (s *Service) ExecuteLine(ctx context.Context, actor Actor, line string) Reply {
	name, args, err := ParseLine(line)
	if err != nil {
		name = unparsedName(line)
		reply := parseErrorReply(name, err)
		s.refused(ctx, actor, name, nil, "", map[string]string{"_": "[unparsed]"}, reply)
		return s.localized(ctx, actor, reply)
	}
	return s.Execute(ctx, actor, name, args)
}

// parseErrorReply explains a line that could not be read.
func parseErrorReply(name string, err error) Reply {
	e, ok := AsError(err)
	if !ok {
		e = &Error{Outcome: OutcomeInvalid, Code: "usage", Message: i18n.Sentences(i18n.M("wikimod-parse-error-title"), i18n.M("wikimod-parse-error-help"))}
	}
	return Reply{Command: name, Outcome: e.Outcome, Code: e.Code, Title: i18n.M("wikimod-parse-error-title"), Text: e.Message}
}

// unparsedName names, for the audit log, a command whose line could not be
// read: its first word when that looks like a command name, else
// "[unparsed]". Nothing else of the line is kept: it may hold a password.
func unparsedName(line string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	first = normalizeName(first)
	if first == "" || len(first) > 32 {
		return "[unparsed]"
	}
	for _, r := range first {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return "[unparsed]"
		}
	}
	return first
}

func normalizeName(name string) string {
	return strings.ToLower(strings.TrimPrefix(name, "/"))
}

// Execute runs a command for an actor at once, outside the queue, and
// returns the reply. Every attempt, allowed or not, is recorded in the
// audit log.
func (s *Service) Execute(ctx context.Context, actor Actor, name string, args Args) Reply {
	return s.localized(ctx, actor, s.execute(ctx, actor, name, args))
}

func (s *Service) execute(ctx context.Context, actor Actor, name string, args Args) Reply {
	start := s.now()
	name = normalizeName(name)
	cmd := s.commands[name]
	args, foldErr := foldFlags(cmd.Spec, args)
	w, wikiErr := s.chooseWikiFor(ctx, actor, cmd.Spec, &args)
	if foldErr != nil {
		wikiErr = foldErr
	}
	rec := s.newRecord(actor, name, args, cmd.Spec)
	if w != nil {
		rec.Wiki = w.Name
	}
	rec.Outcome = OutcomePending
	if err := s.audit.Begin(ctx, rec); err != nil {
		s.log.Error("audit log unavailable; refusing the command", "command", name, "actor", actor.String(), "err", err)
		reply := auditUnavailable(name)
		s.observeDone(w, name, reply.Outcome, start)
		return reply
	}
	if wikiErr != nil {
		reply := s.errorReply(name, wikiErr, nil)
		s.finishRecord(nil, rec, reply, start, nil)
		return reply
	}
	// Execute's caller holds the request and takes the reply even when
	// another process settled the record (record logged it): it has no
	// other.
	reply, after, _ := s.executeBegun(ctx, actor, w, name, args, rec, start, nil)
	// A caller of Execute has the reply only when it returns: what the
	// command left for after it is done first, so that it is done when
	// the caller looks.
	after()
	return reply
}

// executeBegun runs a command whose audit record is begun (pending), and
// finishes the record. A panic in the command is recovered here: it is
// logged with its stack, audited as failed and answered, and the process
// goes on serving. The caller runs after once the reply is out. settled
// reports that another process settled the record first (see record): its
// requester is told by that settle, so a caller that can keep the reply
// to itself does.
func (s *Service) executeBegun(ctx context.Context, actor Actor, w *Wiki, name string, args Args, rec *AuditRecord, start time.Time, progress func(context.Context, Reply)) (reply Reply, after func(), settled bool) {
	cmd, known := s.commands[name]
	req := &Request{Actor: actor, Args: args, Spec: cmd.Spec, Wiki: w, svc: s, progress: progress}
	defer func() {
		if p := recover(); p != nil {
			reply = s.panicked(name, p, secretValues(cmd.Spec, args))
		}
		reply = s.named(w, reply)
		rec.WikiUser = req.Actor.WikiUser
		settled = !s.finishRecord(w, rec, reply, start, req.Result)
		after = s.afterReply(ctx, name, req.after)
	}()
	if !known {
		return s.errorReply(name, &Error{Outcome: OutcomeInvalid, Code: "unknown-command",
			Message: i18n.M("wikimod-unknown-command", name, s.commandList())}, nil), nil, false
	}
	return s.run(ctx, cmd, req), nil, false
}

// afterReply returns what runs a command's after work (nothing when it
// left none) with a context and a time limit of its own: the command's
// have ended by then. A panic in it is logged; the reply has gone out.
func (s *Service) afterReply(ctx context.Context, name string, work func(context.Context)) func() {
	if work == nil {
		return func() {}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("work after a reply panicked", "command", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
		}()
		work(ctx)
	}
}

// panicked logs a recovered panic and returns the reply for it.
func (s *Service) panicked(name string, p any, secrets []string) Reply {
	s.log.Error("command panicked", "command", name, "panic", redact(fmt.Sprint(p), secrets), "stack", string(debug.Stack()))
	return Reply{Command: name, Outcome: OutcomeFailed, Code: "internal", Title: outcomeTitle(OutcomeFailed),
		Text: i18n.M("wikimod-internal-panic-text")}
}

// finishRecord writes how a command on w (nil: none was chosen) ended to
// its audit record, and counts it. It reports false when another process
// settled the record first (see record): the reply is not to be given.
func (s *Service) finishRecord(w *Wiki, rec *AuditRecord, reply Reply, start time.Time, result any) bool {
	rec.Outcome, rec.Code = reply.Outcome, reply.Code
	rec.Duration = s.now().Sub(start)
	if result != nil {
		if b, err := json.Marshal(result); err == nil {
			rec.Result = b
		}
	}
	ended := s.record(context.Background(), rec, true)
	s.observeDone(w, rec.Command, reply.Outcome, start)
	return ended
}

func (s *Service) run(ctx context.Context, cmd Command, req *Request) Reply {
	if req.Wiki == nil {
		// A command that needs no wiki (Spec.NoWiki), with none chosen.
		ctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		reply, err := cmd.Run(ctx, req)
		if err != nil {
			return s.errorReply(cmd.Spec.Name, err, nil)
		}
		reply.Command = cmd.Spec.Name
		reply.Outcome = cmp.Or(reply.Outcome, OutcomeOK)
		return reply
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(cmd.Spec.Timeout, req.Wiki.Timeout, s.timeout))
	defer cancel()
	secrets := secretValues(cmd.Spec, req.Args)
	// The wiki writes its errors and warnings in the language the person
	// reads: wikimod shows them as the wiki wrote them.
	if lang, _ := s.LanguageOf(ctx, req.Actor, req.Wiki); lang != "" {
		ctx = mw.WithLang(ctx, lang)
	}

	st, site, err := s.authorize(ctx, req.Wiki, req.Actor, s.right(req.Wiki, cmd.Spec))
	req.standing = st
	req.Actor.WikiUser = st.wikiUser()
	if err != nil {
		return s.errorReply(cmd.Spec.Name, err, secrets)
	}
	req.Site = site
	reply, err := cmd.Run(ctx, req)
	if err != nil {
		return s.errorReply(cmd.Spec.Name, err, secrets)
	}
	reply.Command = cmd.Spec.Name
	if reply.Outcome == "" {
		reply.Outcome = OutcomeOK
	}
	return reply
}

// authorize works out what the actor holds, checks that it includes right
// ("" needs none), and returns the wiki's site information. An actor who
// holds no group is refused before the wiki is asked anything.
func (s *Service) authorize(ctx context.Context, w *Wiki, actor Actor, right string) (standing, *mw.SiteInfo, error) {
	st, err := s.standingOf(ctx, w, actor)
	if err != nil {
		return st, nil, err
	}
	if right != "" && st.groups == nil {
		return st, nil, st.check(actor, nil, right)
	}
	site, err := w.Client.SiteInfo(ctx)
	if err != nil {
		return st, nil, err
	}
	if err := st.check(actor, site.GroupRights, right); right != "" && err != nil {
		return st, nil, err
	}
	return st, site, nil
}

// errorReply turns an error into the reply the actor sees. Internal errors
// are logged and shown only as a generic failure.
func (s *Service) errorReply(command string, err error, secrets []string) Reply {
	e, ok := AsError(err)
	if !ok {
		e = wikiErrorFor(s.commands[command].Advice, err, secrets)
	}
	if e == nil {
		s.log.Error("command failed", "command", command, "err", redact(err.Error(), secrets))
		e = &Error{Outcome: OutcomeFailed, Code: "internal", Message: i18n.M("wikimod-internal-error-text")}
	} else if e.Outcome == OutcomeFailed {
		s.log.Warn("command failed", "command", command, "code", e.Code, "err", redact(err.Error(), secrets))
	}
	return Reply{Command: command, Outcome: e.Outcome, Code: e.Code, Title: outcomeTitle(e.Outcome), Text: e.Message, AboutSecret: e.AboutSecret}
}

// outcomeTitles are the catalogue keys of the titles of replies that
// explain an error, by its outcome.
var outcomeTitles = map[Outcome]string{
	OutcomeUnknown:   "wikimod-outcome-unknown-title",
	OutcomeDenied:    "wikimod-outcome-denied-title",
	OutcomeInvalid:   "wikimod-outcome-invalid-title",
	OutcomeWikiError: "wikimod-outcome-wiki-error-title",
	OutcomeFailed:    "wikimod-outcome-failed-title",
}

// outcomeTitle is the title of a reply explaining an error with outcome
// o; zero for an outcome no error has.
func outcomeTitle(o Outcome) i18n.Message {
	if key, ok := outcomeTitles[o]; ok {
		return i18n.M(key)
	}
	return i18n.Message{}
}

func (s *Service) newRecord(actor Actor, name string, args Args, spec Spec) *AuditRecord {
	return &AuditRecord{
		Owner:    s.instance,
		Time:     s.now(),
		Platform: actor.Platform,
		UserID:   actor.UserID,
		UserName: actor.UserName,
		Channel:  actor.Channel,
		Command:  name,
		Args:     RedactArgs(spec, args),
	}
}

// record finishes an audit record (or writes it whole when begun is false:
// Begin stores its outcome and code, and it is never unfinished).
// The caller's context may be cancelled already; the record is written anyway.
// An end the audit log does not take is kept and written once it is back
// (FlushAudit): the record must not stay queued or pending while this
// process lives, for no other settles it. It reports false when another
// process settled the record first (ErrAuditSettled), having taken this
// one for dead: that end stands, its requester is told by that settle, and
// the caller gives no reply of its own.
func (s *Service) record(ctx context.Context, rec *AuditRecord, begun bool) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditWriteTimeout)
	defer cancel()
	if !begun {
		if err := s.audit.Begin(ctx, rec); err != nil {
			s.log.Error("audit log write failed", "command", rec.Command, "err", err)
		}
		return true
	}
	err := s.audit.Finish(ctx, rec)
	switch {
	case err == nil:
		s.queue.unwritten.written(rec.ID, nil)
	case errors.Is(err, ErrAuditSettled):
		s.queue.unwritten.written(rec.ID, nil)
		s.log.Warn("audit record settled by another process while this one ran its command; the settle's end stands and its requester is told by it",
			"command", rec.Command, "id", rec.ID, "outcome", rec.Outcome, "err", err)
		return false
	case errors.Is(err, ErrNoAuditRecord):
		s.log.Error("audit log write failed", "command", rec.Command, "id", rec.ID, "err", err)
	default:
		s.queue.unwritten.add(rec)
		s.log.Error("audit log write failed; it is tried again until the audit log takes it", "command", rec.Command,
			"id", rec.ID, "outcome", rec.Outcome, "err", err)
	}
	return true
}

func (s *Service) observeDone(w *Wiki, name string, o Outcome, start time.Time) {
	if s.observe == nil {
		return
	}
	if _, known := s.commands[name]; !known {
		name = "unknown"
	}
	wiki := ""
	if w != nil {
		wiki = w.Name
	}
	s.observe(wiki, name, o, s.now().Sub(start))
}

// commandList lists the commands as they are typed, for a reply.
func (s *Service) commandList() i18n.Message {
	names := make([]i18n.Message, 0, len(s.order))
	for _, n := range s.order {
		names = append(names, i18n.Raw("`/"+n+"`"))
	}
	return i18n.List(names...)
}

// RedactArgs returns args as a flat map for the audit log, with the values of
// secret parameters (and of any parameter named like a password) replaced.
func RedactArgs(spec Spec, args Args) map[string]string {
	out := make(map[string]string, len(args.Named)+1)
	for k, v := range args.Named {
		if isSecret(spec, k) {
			v = "[redacted]"
		}
		out[k] = v
	}
	if len(args.Positional) > 0 {
		if spec.Positional != "" {
			out["_"] = strings.Join(args.Positional, " ")
		} else {
			out["_"] = fmt.Sprintf("[%d word(s) redacted]", len(args.Positional))
		}
	}
	return out
}

func isSecret(spec Spec, key string) bool {
	if p, ok := spec.Param(key); ok && p.Secret {
		return true
	}
	k := strings.ToLower(key)
	return strings.Contains(k, "password") || strings.Contains(k, "token") || k == "retype" || strings.Contains(k, "secret")
}

func secretValues(spec Spec, args Args) []string {
	var out []string
	for k, v := range args.Named {
		if isSecret(spec, k) && v != "" {
			out = append(out, v)
		}
	}
	// Longest first, so a secret that contains another is removed whole.
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// foldPositional turns bare words into the parameter spec.Positional names
// (`/resetpassword Alice` is `/resetpassword user=Alice`), then checks the
// keys.
func foldPositional(spec Spec, args Args) (Args, error) {
	if len(args.Positional) > 0 && spec.Positional != "" {
		if _, has := args.Get(spec.Positional); has {
			return args, usage("wikimod-usage-positional-twice", spec.Positional, spec.Usage)
		}
		named := make(map[string]string, len(args.Named)+1)
		for k, v := range args.Named {
			named[k] = v
		}
		named[spec.Positional] = strings.Join(args.Positional, " ")
		args = Args{Named: named}
	}
	return args, checkKeys(spec, args, false)
}

// checkKeys refuses named arguments the spec does not list, and positional
// words unless allowPositional.
func checkKeys(spec Spec, args Args, allowPositional bool) error {
	for _, k := range args.Keys() {
		if _, ok := spec.Param(k); !ok {
			return usage("wikimod-usage-unknown-param", spec.Name, k, paramList(spec))
		}
	}
	if !allowPositional && len(args.Positional) > 0 {
		// The stray words are not echoed: they may be a typed password.
		return usage("wikimod-usage-bare-words", spec.Name, len(args.Positional), spec.Usage)
	}
	return nil
}

// paramList lists spec's parameters as they are typed, for a reply.
func paramList(spec Spec) i18n.Message {
	names := make([]i18n.Message, 0, len(spec.Params))
	for _, p := range spec.Params {
		names = append(names, i18n.Raw("`"+p.Name+"`"))
	}
	return i18n.List(names...)
}
