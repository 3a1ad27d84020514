// Package discord is wikimod's Discord adapter: the four commands as Discord
// application (slash) commands, received either on an HTTP interactions
// endpoint (every request's Ed25519 signature checked) or over a gateway
// session, and answered with a deferred ephemeral response that is edited
// with the result when the wiki answers. Passwords are asked for in modals.
// It is the only package that uses discordgo.
package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// The ways interactions reach wikimod.
const (
	// ModeHTTP serves POST /discord/interactions on the shared HTTP server;
	// Discord's developer portal points the Interactions Endpoint URL there.
	ModeHTTP = "http"
	// ModeGateway receives interactions over a bot-token gateway session,
	// for installs without a public URL.
	ModeGateway = "gateway"
)

// InteractionsPath is where the HTTP mode serves Discord's interactions.
const InteractionsPath = "/discord/interactions"

// Service runs commands; *commands.Service is one.
type Service interface {
	// Submit queues a command; see commands.Service.Submit.
	Submit(ctx context.Context, job commands.Job) (commands.Reply, bool)
	Authorize(ctx context.Context, actor commands.Actor, name string, args commands.Args) (commands.Reply, bool)
	SuggestTitles(ctx context.Context, actor commands.Actor, wiki, prefix string, limit int) []string
	Wikis() []string
	Spec(name string) (commands.Spec, bool)
	// ChannelLocalizer renders messages to a channel in its language.
	ChannelLocalizer(ctx context.Context, platform, channel, wiki string) i18n.Localizer
	// ActorLocalizer renders what the adapter says to a person itself
	// (forms, its own refusals) in their language.
	ActorLocalizer(ctx context.Context, actor commands.Actor, wiki string) i18n.Localizer
}

// Config configures the adapter. The zero value of every optional field is
// a sensible default.
type Config struct {
	Mode          string // ModeHTTP or ModeGateway
	ApplicationID string
	// PublicKey is the application's hex Ed25519 public key from the
	// developer portal. Required in ModeHTTP.
	PublicKey string
	// BotToken is required in ModeGateway and to post to NoticeChannel.
	BotToken string
	// GuildIDs are the servers wikimod serves. Commands from any other
	// server, or from a DM, are refused.
	GuildIDs []string
	// NoticeChannel is the channel id protect results are announced in and
	// notices (reminders) are posted to; empty means none.
	NoticeChannel string
	// WikiNoticeChannels are the notice channels of some wikis, by wiki
	// name: a reply or notice about such a wiki (Reply.Wiki) goes there
	// instead of NoticeChannel.
	WikiNoticeChannels map[string]string
	// APIURL sends Discord REST calls to a proxy or a test server instead
	// of discord.com.
	APIURL string
	// HTTPClient is the client for REST calls; nil means a default one.
	HTTPClient *http.Client

	Service Service
	// Replays remembers the interactions already taken, so that one
	// captured and sent again runs nothing, across restarts; storage.DB is
	// one. Required in ModeHTTP.
	Replays ReplayGuard
	// OnSecurityEvent is told of requests refused before they became
	// commands: bad or missing signatures, stale timestamps, replays, and
	// commands from servers wikimod does not serve. detail never holds a
	// secret.
	OnSecurityEvent func(ctx context.Context, kind, remote, detail string)
	// Metrics, if set, gets the time to acknowledge each interaction and
	// the posts that failed (NewMetrics).
	Metrics *Metrics

	// PostTimeout bounds one REST call to Discord. Zero means 15 seconds.
	PostTimeout time.Duration
	// MaxSkew is how far a signed request's timestamp may be from Now. Zero
	// means 5 minutes.
	MaxSkew time.Duration
	// FormTTL is how long a modal waits to be submitted. Zero means 15
	// minutes.
	FormTTL time.Duration
	// Forms keeps the pending forms. Nil keeps them in this process's
	// memory, which is only right for a single process: replicas share
	// the database's.
	Forms FormStore
	// ShardID and ShardCount open only this process's shard of the
	// gateway, as Discord shards a bot's servers: each replica holds its
	// own shards. Zero ShardCount: the one shard.
	ShardID, ShardCount int
	// Gateway, when set, lets one process at a time hold the gateway (or
	// this shard of it): replicas that share a database take turns, the
	// others waiting to take over when the holder stops.
	Gateway *GatewayLease
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// The abilities the runtime looks for.
var (
	_ bot.Adapter  = (*Adapter)(nil)
	_ bot.Mounter  = (*Adapter)(nil)
	_ bot.Notifier = (*Adapter)(nil)
)

// GatewayLease is how replicas agree on which of them holds the gateway.
type GatewayLease struct {
	Store interface {
		TryLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error)
		ReleaseLease(ctx context.Context, name, holder string) error
	}
	// Instance names this process among the replicas.
	Instance string
	// TTL is how long the holder keeps the lease without renewing it, so
	// how long the gateway may go unheld after its holder dies. Zero
	// means 15 seconds; it is renewed every third of it.
	TTL time.Duration
}

// Adapter is the Discord adapter.
type Adapter struct {
	cfg     Config
	key     ed25519.PublicKey
	session *discordgo.Session
	guilds  map[string]bool
	log     *slog.Logger

	ctx    context.Context // lives until Close: the commands' submissions
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed
	closed bool
}

// ReplayGuard remembers the signed requests already taken; see Config.Replays.
type ReplayGuard interface {
	// FirstSeen records key and reports whether it was not seen before
	// (or only in a record that expired).
	FirstSeen(ctx context.Context, platform, key string, expires time.Time) (bool, error)
}

// New checks cfg and returns an adapter.
func New(cfg Config) (*Adapter, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("discord: "+format, a...)) }
	if cfg.Service == nil {
		bad("no command service")
	}
	var key ed25519.PublicKey
	switch cfg.Mode {
	case ModeHTTP:
		if cfg.Replays == nil {
			bad("no replay guard: HTTP mode needs one to refuse replayed interactions")
		}
		b, err := hex.DecodeString(strings.TrimSpace(cfg.PublicKey))
		switch {
		case cfg.PublicKey == "":
			bad("public_key is empty: copy the application's Public Key from the developer portal (General Information)")
		case err != nil || len(b) != ed25519.PublicKeySize:
			bad("public_key is not a hex Ed25519 public key (64 hex digits, from the developer portal's General Information)")
		default:
			key = b
		}
	case ModeGateway:
		if cfg.BotToken == "" {
			bad("gateway mode needs the bot token: set WIKIMOD_DISCORD_BOT_TOKEN (or bot_token in [discord])")
		}
	default:
		bad("mode %q: use %q or %q", cfg.Mode, ModeHTTP, ModeGateway)
	}
	if cfg.ApplicationID == "" {
		bad("application_id is empty: copy it from the developer portal (General Information)")
	}
	if len(cfg.GuildIDs) == 0 {
		bad("guild_ids is empty: list the ids of the servers wikimod serves (commands from other servers are refused)")
	}
	if (cfg.NoticeChannel != "" || len(cfg.WikiNoticeChannels) > 0) && cfg.BotToken == "" {
		bad("notice_channel is set but there is no bot token to post with: set WIKIMOD_DISCORD_BOT_TOKEN")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.PostTimeout == 0 {
		cfg.PostTimeout = 15 * time.Second
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.Forms == nil {
		cfg.Forms = newMemoryForms()
	}
	if cfg.ShardCount < 0 || cfg.ShardID < 0 || (cfg.ShardCount > 0 && cfg.ShardID >= cfg.ShardCount) {
		return nil, fmt.Errorf("discord: shard %d of %d: the id must be below the count", cfg.ShardID, cfg.ShardCount)
	}
	if g := cfg.Gateway; g != nil {
		if g.Store == nil || g.Instance == "" {
			return nil, errors.New("discord: the gateway lease needs a store and this instance's name")
		}
		if g.TTL <= 0 {
			g.TTL = 15 * time.Second
		}
	}
	if cfg.FormTTL == 0 {
		cfg.FormTTL = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := newSession(cfg.BotToken, cfg.APIURL, cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	a := &Adapter{
		cfg:     cfg,
		key:     key,
		session: s,
		guilds:  map[string]bool{},
		log:     cfg.Logger,
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	for _, g := range cfg.GuildIDs {
		a.guilds[strings.TrimSpace(g)] = true
	}
	return a, nil
}

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return PlatformName }

// Kinds of refused interactions, as given to Config.OnSecurityEvent and
// counted in wikimod_security_events_total.
const (
	KindMissingSignature = "missing-signature"
	KindBadSignature     = "bad-signature"
	KindStaleTimestamp   = "stale-timestamp"
	KindReplay           = "replayed-interaction"
	KindDirectMessage    = "dm-command"
	KindUnservedGuild    = "unserved-guild"
	KindNoMember         = "no-member"
)

// PlatformName is Discord's name among the platforms (Actor.Platform).
const PlatformName = "discord"

// Platform is Discord as the command service names it.
var Platform = commands.Platform{Name: PlatformName, Title: i18n.M("wikimod-platform-discord"), Noun: i18n.M("wikimod-platform-discord")}

// Mount implements bot.Mounter: in ModeHTTP it serves InteractionsPath.
func (a *Adapter) Mount(mux *http.ServeMux) {
	if a.cfg.Mode == ModeHTTP {
		mux.Handle("POST "+InteractionsPath, a)
	}
}

// Run serves until ctx is done. In ModeGateway it holds the gateway session
// open; in ModeHTTP requests come through Mount and Run only waits.
func (a *Adapter) Run(ctx context.Context) error {
	if a.cfg.Mode != ModeGateway {
		<-ctx.Done()
		return a.Close()
	}
	remove := a.session.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) {
		a.gatewayInteraction(ic.Interaction)
	})
	defer remove()
	if a.cfg.ShardCount > 0 {
		a.session.ShardID, a.session.ShardCount = a.cfg.ShardID, a.cfg.ShardCount
	}
	if a.cfg.Gateway == nil {
		if err := a.openGateway(); err != nil {
			return err
		}
		<-ctx.Done()
		a.closeGateway()
		return a.Close()
	}
	err := a.holdGateway(ctx)
	a.Close()
	return err
}

func (a *Adapter) openGateway() error {
	if err := a.session.Open(); err != nil {
		return fmt.Errorf("discord: gateway: %w", explainREST(scrub(err)))
	}
	a.log.Info("discord gateway session open", "shard", a.session.ShardID, "shards", max(a.session.ShardCount, 1))
	return nil
}

func (a *Adapter) closeGateway() {
	if err := a.session.Close(); err != nil {
		a.log.Warn("discord gateway close", "err", scrub(err))
	}
}

// holdGateway opens the gateway while this process holds the gateway
// lease, and waits to take it over while another does, until ctx ends.
func (a *Adapter) holdGateway(ctx context.Context) error {
	g := a.cfg.Gateway
	name := fmt.Sprintf("discord-gateway:%d/%d", a.cfg.ShardID, max(a.cfg.ShardCount, 1))
	open := false
	t := time.NewTicker(g.TTL / 3)
	defer t.Stop()
	for {
		now := a.cfg.Now()
		held, err := g.Store.TryLease(ctx, name, g.Instance, now.Add(g.TTL), now)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("discord: cannot renew the gateway lease", "err", err)
			held = open // keep what we have until the lease can be read again
		case held && !open:
			if err := a.openGateway(); err != nil {
				a.log.Error("discord: cannot open the gateway; will try again", "err", err)
				g.Store.ReleaseLease(ctx, name, g.Instance)
			} else {
				open = true
			}
		case !held && open:
			a.log.Warn("discord: another replica holds the gateway now; closing this one's")
			a.closeGateway()
			open = false
		}
		select {
		case <-ctx.Done():
			if open {
				a.closeGateway()
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				g.Store.ReleaseLease(rctx, name, g.Instance)
				cancel()
			}
			return nil
		case <-t.C:
		}
	}
}

// Close stops taking new commands. Commands already taken are the
// service's queue's to finish and answer. It is safe to call twice.
func (a *Adapter) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	return nil
}

// Notify implements bot.Notifier: it posts the reply to the notice channel,
// with its actions as buttons. Pressing one runs the action's command as the
// person who pressed it.
func (a *Adapter) Notify(ctx context.Context, r commands.Reply) error {
	channel := a.noticeChannel(r.Wiki)
	if channel == "" {
		return nil
	}
	r.Localizer = a.cfg.Service.ChannelLocalizer(ctx, PlatformName, channel, r.Wiki)
	rows, err := Buttons(r.Actions, r.Localizer)
	if err != nil {
		return err
	}
	return a.post(ctx, channel, &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{Embed(r)}, Components: rows}, "notice")
}

// noticeChannel is where notices about the named wiki go ("" for a reply
// about no wiki in particular): its own channel, or the default one.
func (a *Adapter) noticeChannel(wiki string) string {
	if c := a.cfg.WikiNoticeChannels[wiki]; c != "" {
		return c
	}
	return a.cfg.NoticeChannel
}

// post sends a message to a notice channel.
func (a *Adapter) post(ctx context.Context, channel string, msg *discordgo.MessageSend, kind string) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	msg.AllowedMentions = &discordgo.MessageAllowedMentions{} // never ping anyone
	if _, err := a.session.ChannelMessageSendComplex(channel, msg, discordgo.WithContext(ctx)); err != nil {
		a.countFailure(kind)
		return fmt.Errorf("discord: post %s to channel %s: %w", kind, channel, explainREST(scrub(err)))
	}
	return nil
}

func (a *Adapter) countFailure(kind string) {
	if a.cfg.Metrics != nil {
		a.cfg.Metrics.PostsFailed.WithLabelValues(kind).Inc()
	}
}

// serves reports whether wikimod serves a guild.
func (a *Adapter) serves(guildID string) bool {
	return guildID != "" && a.guilds[guildID]
}
