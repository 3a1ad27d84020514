// Package slack is wikimod's Slack adapter. Moderators run the wiki commands
// as Slack slash commands, delivered either to wikimod's HTTP server
// (POST /slack/commands and /slack/interactions, every request checked
// against the app's signing secret) or over Socket Mode for installs without
// a public URL. Each command is acknowledged at once; the result follows
// through the command's response_url as an ephemeral Block Kit message. A
// password that was not typed is asked for in a modal. slack-go is used here
// and nowhere else in wikimod.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// Modes the adapter runs in.
const (
	ModeHTTP   = "http"   // Slack posts to wikimod's HTTP server
	ModeSocket = "socket" // wikimod connects to Slack over Socket Mode
)

// Service runs commands; *commands.Service is one.
type Service interface {
	// Submit queues a command; see commands.Service.Submit.
	Submit(ctx context.Context, job commands.Job) (commands.Reply, bool)
	Authorize(ctx context.Context, actor commands.Actor, name string, args commands.Args) (commands.Reply, bool)
	Spec(name string) (commands.Spec, bool)
	// ChannelLocalizer renders messages to a channel in its language.
	ChannelLocalizer(ctx context.Context, platform, channel, wiki string) i18n.Localizer
	// ActorLocalizer renders what the adapter says to a person itself
	// (acknowledgements, forms) in their language.
	ActorLocalizer(ctx context.Context, actor commands.Actor, wiki string) i18n.Localizer
}

// ReplayGuard remembers the signed requests already taken, so that one
// captured and sent again inside the signature's five minutes runs nothing;
// storage.DB is one. It must outlive a restart.
type ReplayGuard interface {
	// FirstSeen records key and reports whether it was not seen before
	// (or only in a record that expired).
	FirstSeen(ctx context.Context, platform, key string, expires time.Time) (bool, error)
}

// responseURLLife is how long Slack takes replies at a command's
// response_url.
const responseURLLife = 30 * time.Minute

// Config configures the Slack adapter. The zero value of every optional
// field is safe.
type Config struct {
	// Mode is ModeHTTP or ModeSocket.
	Mode string
	// SigningSecret checks that HTTP requests come from Slack. Required in
	// HTTP mode.
	SigningSecret string
	// BotToken (xoxb-...) calls the Web API: modals, messages, user groups.
	BotToken string
	// AppToken (xapp-...) opens the Socket Mode connection. Required in
	// socket mode.
	AppToken string
	// NoticeChannel is the channel id that protect results and reminders
	// are posted to; empty posts nothing there.
	NoticeChannel string
	// WikiNoticeChannels are the notice channels of some wikis, by wiki
	// name: a reply or notice about such a wiki (Reply.Wiki) goes there
	// instead of NoticeChannel.
	WikiNoticeChannels map[string]string
	// APIURL is the Web API's base URL; empty means Slack's own
	// (https://slack.com/api). Tests and proxies set it.
	APIURL string
	// UserGroups makes the adapter look up which Slack user groups each user
	// belongs to (usergroups.list), for [[access]] slack_usergroups rules.
	// Off, actors have no groups and only slack_users rules apply.
	UserGroups bool
	// GroupsTTL is how long user group membership is cached. Zero means five
	// minutes.
	GroupsTTL time.Duration
	// LocaleTTL is how long the language a user's Slack client is set to
	// (users.info, which needs the users:read scope) is kept before Slack
	// is asked again. Zero means an hour.
	LocaleTTL time.Duration

	// Service runs the commands. Required.
	Service Service
	// Replays refuses replayed requests. Required in HTTP mode.
	Replays ReplayGuard
	// Metrics, if set, gets the time to acknowledge each request
	// (NewMetrics).
	Metrics *Metrics
	// Timeout bounds one command, as the service's own timeout does; the
	// adapter allows a little more for looking up groups and delivering the
	// reply. Zero means 30 seconds.
	Timeout time.Duration
	// SubmitWait is how long a modal submission waits for the command before
	// closing the modal and delivering the result later. Slack allows three
	// seconds for the answer. Zero means 2.5 seconds.
	SubmitWait time.Duration
	// MaxInFlight bounds the background tasks the adapter runs itself
	// (opening modals); commands wait in the service's queue instead.
	// Zero means 32.
	MaxInFlight int

	// OnSecurityEvent is told of every HTTP request refused before it became
	// a command (kind is "missing-signature", "bad-signature",
	// "stale-timestamp" or "oversized-request"). detail never holds the
	// request body or a secret.
	OnSecurityEvent func(ctx context.Context, kind, remote, detail string)
	// HTTPClient makes the Web API calls and the posts to response URLs.
	// Nil means a client with a 15-second timeout.
	HTTPClient *http.Client
	// Now is the clock, for signature timestamps and the group cache. Nil
	// means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// webAPI lists the Slack Web API methods the adapter calls; *slack.Client
// provides them.
type webAPI interface {
	OpenViewContext(ctx context.Context, triggerID string, view slack.ModalViewRequest) (*slack.ViewResponse, error)
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
	GetUserGroupsContext(ctx context.Context, options ...slack.GetUserGroupsOption) ([]slack.UserGroup, error)
	GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error)
}

// Adapter is the Slack adapter. It implements bot.Adapter, bot.Mounter and
// bot.Notifier.
type Adapter struct {
	cfg     Config
	client  *slack.Client
	api     webAPI
	groups  *groupCache
	locales *localeCache
	log     *slog.Logger
	// prepare is a.prepareActor, taken once: taking a method value
	// allocates.
	prepare func(ctx context.Context, act *commands.Actor)

	// macs holds HMACs keyed with the signing secret, reset: keying one
	// costs more than checking a slash command with it.
	macs sync.Pool

	sem    chan struct{} // bounds the commands in flight
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and wg.Add
	closed bool
	wg     sync.WaitGroup
}

// New checks cfg and returns an adapter. It does not contact Slack.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.SubmitWait <= 0 {
		cfg.SubmitWait = 2500 * time.Millisecond
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 32
	}
	if cfg.GroupsTTL <= 0 {
		cfg.GroupsTTL = 5 * time.Minute
	}
	if cfg.LocaleTTL <= 0 {
		cfg.LocaleTTL = localeTTL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	apiURL := strings.TrimSuffix(cfg.APIURL, "/")
	if apiURL == "" {
		apiURL = strings.TrimSuffix(slack.APIURL, "/")
	}
	// slack-go appends the method name to the endpoint, so it must end in
	// a slash.
	opts := []slack.Option{slack.OptionAPIURL(apiURL + "/"), slack.OptionHTTPClient(cfg.HTTPClient)}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	client := slack.New(cfg.BotToken, opts...)
	a := &Adapter{
		cfg:    cfg,
		client: client,
		api:    client,
		log:    cfg.Logger,
		sem:    make(chan struct{}, cfg.MaxInFlight),
	}
	a.prepare = a.prepareActor
	a.macs.New = func() any { return newMAC(cfg.SigningSecret) }
	a.groups = &groupCache{api: client, ttl: cfg.GroupsTTL, now: cfg.Now, log: cfg.Logger, enabled: cfg.UserGroups}
	a.locales = newLocaleCache(client, cfg.LocaleTTL, cfg.Now, cfg.Logger)
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

func (cfg Config) check() error {
	if cfg.Service == nil {
		return errors.New("slack: no command service")
	}
	var errs []error
	switch cfg.Mode {
	case ModeHTTP:
		if cfg.SigningSecret == "" {
			errs = append(errs, errors.New("slack.signing_secret is empty: HTTP mode needs the app's signing secret (Basic Information > App Credentials; env WIKIMOD_SLACK_SIGNING_SECRET)"))
		}
		if cfg.Replays == nil {
			errs = append(errs, errors.New("no replay guard: HTTP mode needs one to refuse replayed requests"))
		}
	case ModeSocket:
		if !strings.HasPrefix(cfg.AppToken, "xapp-") {
			errs = append(errs, errors.New("slack.app_token must be an app-level token (xapp-...) with the connections:write scope: socket mode needs it (env WIKIMOD_SLACK_APP_TOKEN)"))
		}
	default:
		errs = append(errs, fmt.Errorf("slack.mode %q: use %q or %q", cfg.Mode, ModeHTTP, ModeSocket))
	}
	if !strings.HasPrefix(cfg.BotToken, "xoxb-") {
		errs = append(errs, errors.New("slack.bot_token must be the bot user OAuth token (xoxb-...) from OAuth & Permissions (env WIKIMOD_SLACK_BOT_TOKEN)"))
	}
	if cfg.APIURL != "" {
		if u, err := url.Parse(cfg.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("slack.api_url %q is not an http(s) URL", cfg.APIURL))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	return nil
}

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return PlatformName }

// PlatformName is Slack's name among the platforms (Actor.Platform).
const PlatformName = "slack"

// Platform is Slack as the command service names it.
var Platform = commands.Platform{Name: PlatformName, Title: i18n.M("wikimod-platform-slack"), Noun: i18n.M("wikimod-platform-slack")}

// Run serves Slack until ctx is done. In HTTP mode the work happens in the
// handlers Mount registers, so Run only waits; in socket mode it holds the
// Socket Mode connection, reconnecting as slack-go does.
func (a *Adapter) Run(ctx context.Context) error {
	if a.cfg.Mode != ModeSocket {
		<-ctx.Done()
		return nil
	}
	return a.runSocket(ctx)
}

// Close waits for the commands in flight to finish and deliver their replies
// (each is bounded by the command timeout), then stops. New requests are
// refused from the start of Close. It is safe to call twice.
func (a *Adapter) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.wg.Wait()
	a.cancel()
	return nil
}

// spawn runs work in the background under the adapter's bound on commands
// in flight, with a deadline of the command timeout plus time to deliver. It
// reports false if the adapter is closing.
func (a *Adapter) spawn(work func(ctx context.Context)) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("slack: a background task panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
		}()
		ctx, cancel := context.WithTimeout(a.ctx, a.cfg.Timeout+15*time.Second)
		defer cancel()
		select {
		case a.sem <- struct{}{}:
			defer func() { <-a.sem }()
		case <-ctx.Done():
			return
		}
		work(ctx)
	}()
	return true
}

// actor builds the actor for a Slack user in a workspace (team) and
// channel, with their language if it is known already; the user groups
// they belong to, and their language if it is not, are added by
// prepareActor when the command's turn comes.
func (a *Adapter) actor(userID, userName, team, channel string) commands.Actor {
	return commands.Actor{Platform: PlatformName, UserID: userID, UserName: userName, Space: team, Channel: channel,
		Locale: a.locales.cached(userID)}
}

// prepareActor adds what is costly to learn about an actor: the Slack
// user groups they belong to, and the language their Slack client is set
// to. A failed group lookup leaves Roles empty: it never grants anything;
// a failed locale lookup leaves the language to the channel's.
func (a *Adapter) prepareActor(ctx context.Context, act *commands.Actor) {
	a.withGroups(ctx, act)
	if act.Locale == "" {
		act.Locale = a.locales.of(ctx, act.UserID)
	}
}

// withGroups adds the Slack user groups an actor belongs to.
func (a *Adapter) withGroups(ctx context.Context, act *commands.Actor) {
	act.Roles = a.groups.of(ctx, act.UserID)
}

// submit queues a command with the service. The reply is delivered once
// release has been called (after the acknowledgement went out), so that it
// never arrives before the "Working on it" it follows. It returns the
// refusal to acknowledge with when the command was not taken.
func (a *Adapter) submit(act commands.Actor, line, name string, args commands.Args, deliver func(ctx context.Context, r commands.Reply)) (commands.Reply, bool, func()) {
	return a.submitShowing(act, line, name, args, deliver, nil)
}

// submitShowing is submit with a way to show a long command's progress
// (commands.Job.Progress); nil shows none.
func (a *Adapter) submitShowing(act commands.Actor, line, name string, args commands.Args, deliver, progress func(ctx context.Context, r commands.Reply)) (commands.Reply, bool, func()) {
	g := &ackGate{acked: make(chan struct{})}
	reply, ok := a.cfg.Service.Submit(a.ctx, commands.Job{
		Actor:        act,
		Line:         line,
		Name:         name,
		Args:         args,
		AnswerWithin: responseURLLife,
		Prepare:      a.prepare,
		Acked:        g.acked,
		Deliver:      deliver,
		Progress:     progress,
	})
	return reply, ok, g.release
}

// ackGate holds a job's reply back until its acknowledgement has gone out.
type ackGate struct {
	acked chan struct{}
	once  sync.Once
}

// release lets the reply go. It may be called more than once.
func (g *ackGate) release() { g.once.Do(func() { close(g.acked) }) }

// securityEvent reports a refused request. The report is made even if the
// client has hung up. It is not logged here: a flood of refusals would
// flood the log; OnSecurityEvent counts them and logs at a bounded rate.
func (a *Adapter) securityEvent(ctx context.Context, kind, remote, detail string) {
	if a.cfg.OnSecurityEvent != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		a.cfg.OnSecurityEvent(ctx, kind, remote, detail)
	}
}
