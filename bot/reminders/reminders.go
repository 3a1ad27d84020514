// Package reminders tells the moderators before a temporary protection
// lapses, on each wiki of a farm. It tracks every finite protection it
// learns of, from /protect (OnProtect) and from each wiki's protect log
// (Sync, spread over the sync interval by SyncDue), in a Store (SQLite, in
// storage), under the wiki's name, with one reminder row per lead time and
// one at expiry. Cron only wakes the scheduler (Tick): what is due is read
// from the store, so nothing is lost across a restart, and each reminder
// is claimed, sent to its wiki's notice channels and marked sent, so that
// it goes out once. It also provides the /expiring command and the
// reminder command that the reminders' buttons run.
package reminders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/wikimod/wikimod/bot/notice"
	"github.com/wikimod/wikimod/bot/poll"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// Config configures a Scheduler. Only Store and Wikis are required; every
// other zero value means a sensible default.
type Config struct {
	// Store keeps the tracked protections, the reminders and each wiki's
	// sync cursor, such as a storage.DB.
	Store Store
	// Wikis are the wikis whose protections are tracked: at least one, each
	// with its own name. A farm may have a thousand.
	Wikis []Wiki
	// Channels returns the default notice channels to post reminders to,
	// for the wikis without channels of their own, when it posts (so
	// channels added after New count). Each is posted to and tracked on its
	// own: when one fails, the retry goes to that one only.
	Channels func() []Channel
	// Notify, when Channels is nil, is the one default notice channel. A
	// reminder counts as sent when it returns nil.
	Notify func(ctx context.Context, r commands.Reply) error
	// PlatformTitle names a platform in a sentence ("Discord"), for who
	// set a protection; the command service's (commands.Service) is the
	// adapters' own words. Nil names a platform as it is.
	PlatformTitle func(platform string) i18n.Message
	// ChannelsOf reports whether a platform's people act in channels worth
	// naming ("set by alice on Slack (channel C1)"); nil means every
	// platform's do.
	ChannelsOf func(platform string) bool

	// Audit records each send (Platform "system", Command "reminder-send").
	// Nil means Store, which must then keep the audit log too, as a
	// storage.DB does.
	Audit commands.Auditor

	// LeadTimes are how long before an expiry to remind; a reminder also
	// goes out at the expiry. Nil means 24 hours and 1 hour.
	LeadTimes []time.Duration

	// TickSpec is the cron schedule that wakes the scheduler. Empty means
	// every minute.
	TickSpec string
	// SyncInterval is how often each wiki's protect log is read. The wikis'
	// syncs are spread over the interval, each wiki at its own offset, so
	// that a farm's wikis are not all read at once. Zero means 15 minutes.
	SyncInterval time.Duration
	// SyncConcurrency bounds the protect log syncs running at once. Zero
	// means 4.
	SyncConcurrency int
	// Replicas, when set, says that other wikimod processes share the
	// store. A claim that a replica left when it died is then taken over
	// once ClaimLease has passed (and the reminder marked as possibly
	// repeated), instead of every claim at start-up; and each wiki's
	// protect log is synced by one replica at a time.
	Replicas *Replicas
	// SyncTimeout bounds one wiki's sync, so that a wiki that is down holds
	// one of the SyncConcurrency slots for that long at most; a sync cut
	// short goes on from where it stopped next time. Zero means 5 minutes.
	SyncTimeout time.Duration
	// DigestThreshold: when more pages of one wiki than this have reminders
	// due in one tick, they go out as one digest for that wiki. Zero means
	// 5.
	DigestThreshold int
	// DigestLines caps the pages a digest lists. Zero means 20.
	DigestLines int
	// LateAfter is how long after its time a reminder is marked late. Zero
	// means 2 minutes.
	LateAfter time.Duration
	// Retry is the back-off for failed sends. Zero means 1 minute, doubling
	// to at most 1 hour, 12 attempts (about 7 hours).
	Retry Backoff
	// SendTimeout bounds one send. Zero means 30 seconds.
	SendTimeout time.Duration
	// KeepExpired is how long an expired protection is kept before it is
	// forgotten. Zero means 30 days.
	KeepExpired time.Duration
	// StopGrace is how long Close lets a send in progress finish. Zero
	// means 10 seconds.
	StopGrace time.Duration

	// Now is the clock. Nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics, if set, count the messages, the failed sends and the syncs,
	// and time the ticks (NewMetrics).
	Metrics *Metrics
}

// Wiki is one wiki whose protections the scheduler tracks.
type Wiki struct {
	// Name is the wiki's name in the command service (commands.Wiki.Name)
	// and in the database.
	Name string
	// Client is the bot's session on the wiki: it reads the protect log
	// and the pages' protections, and extends protections.
	Client *mw.Client
	// Namespaces and Pages limit the pages tracked: namespace numbers and
	// titles. Empty means every namespace, every page.
	Namespaces []int
	Pages      []string
	// Channels returns this wiki's notice channels, when it posts; nil
	// means Config.Channels (or Config.Notify). Name them apart from
	// another wiki's only where they are different places.
	Channels func() []Channel
}

// Replicas is how replicas that share a store divide the reminders' work.
type Replicas struct {
	Store ReplicaStore
	// Instance names this process among them.
	Instance string
	// ClaimLease is how long a claim is trusted to its replica: a tick
	// that holds reminders longer may see them sent again by another. Zero
	// means 10 minutes.
	ClaimLease time.Duration
}

// ReplicaStore is what replicas coordinate through.
type ReplicaStore interface {
	// TryLease takes or renews the named lease for holder until until, if
	// it is free, expired at now, or already holder's; it reports whether
	// holder has it.
	TryLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error)
	// ReleaseLease gives up holder's lease, if it still has it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// RecoverStaleClaims puts the reminders claimed before olderThan back
	// as pending, marked recovered, and reports how many.
	RecoverStaleClaims(ctx context.Context, olderThan time.Time) (int, error)
}

// Channel is one place reminders are posted: a platform's notice channel.
type Channel = notice.Channel

// wiki is a configured wiki and its sync's state.
type wiki struct {
	Wiki
	scope  scope
	syncMu sync.Mutex // one sync of this wiki at a time
	// cursor is where the store says the wiki's protect log was read to.
	// Guarded by syncMu.
	cursor *poll.Stream
}

// Scheduler tracks protections and sends their reminders.
type Scheduler struct {
	cfg     Config
	store   Store
	wikis   []*wiki // in the order of Config.Wikis
	byName  map[string]*wiki
	audit   commands.Auditor
	now     func() time.Time
	log     *slog.Logger
	metrics *Metrics
	leads   []time.Duration

	tickMu   sync.Mutex // one tick at a time
	extendMu sync.Mutex // one extension at a time, so a double press extends once
	claims   atomic.Int64

	syncs *poll.Schedule

	mu       sync.Mutex // guards Start and Close
	cron     *cron.Cron
	stopSync context.CancelFunc
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	started  bool
	closed   bool

	cronMu   sync.Mutex // guards starting and stopping cron
	stopping bool
}

// New checks cfg and returns a scheduler. Start runs it.
func New(cfg Config) (*Scheduler, error) {
	if r := cfg.Replicas; r != nil {
		if r.Store == nil || r.Instance == "" {
			return nil, errors.New("reminders: replicas need a store to coordinate through and this instance's name")
		}
		if r.ClaimLease == 0 {
			r.ClaimLease = 10 * time.Minute
		}
	}
	if cfg.Store == nil {
		return nil, errors.New("reminders: no store")
	}
	if cfg.Audit == nil {
		a, ok := cfg.Store.(commands.Auditor)
		if !ok {
			return nil, errors.New("reminders: no audit log: the store keeps none, and Audit is not set")
		}
		cfg.Audit = a
	}
	if len(cfg.Wikis) == 0 {
		return nil, errors.New("reminders: no wiki")
	}
	if cfg.LeadTimes == nil {
		cfg.LeadTimes = []time.Duration{24 * time.Hour, time.Hour}
	}
	for _, d := range cfg.LeadTimes {
		if d <= 0 {
			return nil, fmt.Errorf("reminders: lead time %s is not positive", d)
		}
	}
	if cfg.TickSpec == "" {
		cfg.TickSpec = "* * * * *"
	}
	if _, err := cron.ParseStandard(cfg.TickSpec); err != nil {
		return nil, fmt.Errorf("reminders: tick schedule %q: %w", cfg.TickSpec, err)
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = 15 * time.Minute
	}
	if cfg.SyncInterval < time.Second {
		return nil, fmt.Errorf("reminders: sync interval %s is too short", cfg.SyncInterval)
	}
	if cfg.SyncConcurrency == 0 {
		cfg.SyncConcurrency = 4
	}
	if cfg.SyncConcurrency < 0 {
		return nil, fmt.Errorf("reminders: sync concurrency %d is negative", cfg.SyncConcurrency)
	}
	if cfg.SyncTimeout == 0 {
		cfg.SyncTimeout = 5 * time.Minute
	}
	if cfg.SyncTimeout < 0 {
		return nil, fmt.Errorf("reminders: sync timeout %s is negative", cfg.SyncTimeout)
	}
	if cfg.DigestThreshold == 0 {
		cfg.DigestThreshold = 5
	}
	if cfg.DigestLines == 0 {
		cfg.DigestLines = 20
	}
	if cfg.LateAfter == 0 {
		cfg.LateAfter = 2 * time.Minute
	}
	if cfg.Retry == (Backoff{}) {
		cfg.Retry = Backoff{Base: time.Minute, Max: time.Hour, Attempts: 12}
	}
	if cfg.Retry.Base <= 0 || cfg.Retry.Max < cfg.Retry.Base || cfg.Retry.Attempts < 1 {
		return nil, fmt.Errorf("reminders: retry back-off %+v: needs a positive base, a max no smaller, and at least one attempt", cfg.Retry)
	}
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.KeepExpired == 0 {
		cfg.KeepExpired = 30 * 24 * time.Hour
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 10 * time.Second
	}
	s := &Scheduler{
		cfg:     cfg,
		store:   cfg.Store,
		byName:  map[string]*wiki{},
		audit:   cfg.Audit,
		now:     cfg.Now,
		log:     cfg.Logger,
		metrics: cfg.Metrics,
		leads:   cfg.LeadTimes,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// Each wiki's log is read once a SyncInterval, at its own offset; the
	// first sync comes at the wiki's first slot after New, so that a
	// farm's restart does not read every wiki's log at once.
	sc := poll.Config{Interval: cfg.SyncInterval, Concurrency: cfg.SyncConcurrency, Timeout: cfg.SyncTimeout,
		Poll: s.syncScheduled, Done: s.synced, Prune: s.prune, PruneEvery: cfg.SyncInterval, Now: s.now, Logger: s.log}
	if r := cfg.Replicas; r != nil {
		// One replica syncs each wiki at a time; any may sync the next.
		sc.Lease = &poll.Lease{Store: r.Store, Instance: r.Instance, Prefix: "sync:", Term: cfg.SyncTimeout}
	}
	for i, w := range cfg.Wikis {
		if w.Name == "" || w.Client == nil {
			return nil, fmt.Errorf("reminders: wiki %d (%q) needs a name and a client", i+1, w.Name)
		}
		sw := &wiki{Wiki: w, scope: newScope(w.Namespaces, w.Pages), cursor: s.stream(w.Name)}
		s.wikis = append(s.wikis, sw)
		s.byName[w.Name] = sw
		sc.Wikis = append(sc.Wikis, w.Name)
	}
	syncs, err := poll.New(sc)
	if err != nil {
		return nil, fmt.Errorf("reminders: %w", err)
	}
	s.syncs = syncs
	// Claims are numbered from a random start: replicas sharing the store
	// must not number theirs alike.
	s.claims.Store(int64(rand.Uint64() >> 2))
	if s.metrics != nil {
		s.metrics.initWikis(s.wikis)
	}
	return s, nil
}

// multi reports whether more than one wiki is configured, when every
// notice names its wiki.
func (s *Scheduler) multi() bool { return len(s.wikis) > 1 }

// Start recovers reminders a crash left half-sent, then, in the background,
// sends what fell due while wikimod was down (the catch-up, marked late)
// and starts the cron schedules: a tick every TickSpec, and the syncs,
// which one cron entry starts as each wiki's slot comes round (see
// SyncDue). Each wiki's first sync comes at its slot in the SyncInterval
// after New, not at once: a farm's restart must not read a thousand logs
// together. Cron stops when ctx is done; Close waits for the work in
// progress.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("reminders: started twice")
	}
	if err := s.checkChannels(); err != nil {
		return err
	}
	n, err := s.recoverClaims(ctx)
	if err != nil {
		return fmt.Errorf("reminders: %w", err)
	}
	if n > 0 {
		s.log.Warn("reminders were being sent when wikimod stopped; sending them again", "count", n)
	}
	// Sends get their own context, cancelled only after the grace period
	// in Close, so that a shutdown does not cut a message off between
	// posting it and marking it sent.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	syncCtx, stopSync := context.WithCancel(runCtx)
	c := cron.New(cron.WithLocation(time.UTC), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	if _, err := c.AddFunc(s.cfg.TickSpec, func() { s.runTick(runCtx) }); err != nil {
		stopSync()
		cancel()
		return fmt.Errorf("reminders: tick schedule %q: %w", s.cfg.TickSpec, err)
	}
	c.Schedule(cron.Every(s.syncs.Every()), cron.FuncJob(func() { s.syncs.Dispatch(syncCtx) }))
	s.cron, s.cancel, s.stopSync, s.started = c, cancel, stopSync, true

	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.runTick(runCtx) // catch-up
		s.cronMu.Lock()
		if !s.stopping {
			c.Start()
		}
		s.cronMu.Unlock()
	}()
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			stopSync()
			s.stopCron()
		case <-runCtx.Done():
		}
	}()
	return nil
}

// checkChannels reports a wiki whose reminders could go nowhere.
func (s *Scheduler) checkChannels() error {
	if s.cfg.Notify != nil || s.cfg.Channels != nil {
		return nil
	}
	for _, w := range s.wikis {
		if w.Channels == nil {
			return fmt.Errorf("reminders: no notice channel to post wiki %s's reminders to", w.Name)
		}
	}
	return nil
}

// stopCron stops the schedules (or keeps them from starting) and returns a
// context that is done when the jobs running have finished.
func (s *Scheduler) stopCron() context.Context {
	s.cronMu.Lock()
	defer s.cronMu.Unlock()
	s.stopping = true
	return s.cron.Stop()
}

// Close stops the schedules and waits for a tick in progress to finish its
// sends (for StopGrace at most) and for the syncs running to stop. It is
// safe to call twice, and before Start.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.closed {
		return nil
	}
	s.closed = true
	s.stopSync()
	stopped := s.stopCron()
	done := make(chan struct{})
	go func() {
		<-stopped.Done()
		s.tickMu.Lock() // a catch-up tick outside cron
		s.tickMu.Unlock()
		close(done)
	}()
	t := time.NewTimer(s.cfg.StopGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("reminders: a send did not finish in time; it will be retried after the restart")
	}
	s.cancel()
	<-done
	s.syncs.Wait()
	s.wg.Wait()
	return nil
}

// recoverClaims puts back the claims no live tick holds: with replicas,
// those older than the claim lease; alone, all of them (the process that
// held them is gone).
func (s *Scheduler) recoverClaims(ctx context.Context) (int, error) {
	if r := s.cfg.Replicas; r != nil {
		return r.Store.RecoverStaleClaims(ctx, s.now().Add(-r.ClaimLease))
	}
	return s.store.RecoverClaimed(ctx)
}

func (s *Scheduler) runTick(ctx context.Context) {
	start := time.Now() // elapsed time for the metric, not the schedule
	if s.cfg.Replicas != nil {
		if n, err := s.recoverClaims(ctx); err != nil {
			s.log.Error("taking over the claims of a replica that stopped", "err", err)
		} else if n > 0 {
			s.log.Warn("a replica stopped while sending reminders; sending them again", "count", n)
		}
	}
	if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("reminder tick failed", "err", err)
	}
	if s.metrics != nil {
		s.metrics.TickSeconds.Observe(time.Since(start).Seconds())
	}
}

// OnProtect tracks the result of a successful /protect on the wiki
// res.Wiki names: it is a commands.Config.OnProtect function. The wiki's
// reply holds the page's whole protection (the types not given were
// lifted), so the page's tracked protections are made to match it: finite
// ones are tracked and scheduled, infinite and lifted ones dropped. A page
// outside that wiki's Namespaces and Pages, or a wiki the scheduler does
// not track, is left alone. An empty res.Wiki means the only wiki, when
// there is one, else commands.DefaultWiki.
func (s *Scheduler) OnProtect(ctx context.Context, actor commands.Actor, res *commands.ProtectOutcome) error {
	if res == nil {
		return nil
	}
	name := res.Wiki
	if name == "" {
		name = commands.DefaultWiki
		if len(s.wikis) == 1 {
			name = s.wikis[0].Name
		} else {
			s.log.Warn("a /protect outcome names no wiki; taking it for the default wiki's", "title", res.Title)
		}
	}
	w, ok := s.byName[name]
	if !ok {
		s.log.Debug("a /protect on a wiki whose reminders are off", "wiki", name, "title", res.Title)
		return nil
	}
	if !w.scope.hasTitle(res.Title) {
		return nil
	}
	if w.scope.limitsNamespaces() {
		states, err := w.Client.PageStates(ctx, res.Title)
		if err != nil {
			return fmt.Errorf("reminders: namespace of %q on %s: %w", res.Title, w.Name, err)
		}
		if st, ok := states[res.Title]; !ok || !w.scope.has(st.NS, st.Title) {
			return nil
		}
	}
	now := s.now()
	var want []TrackedProtection
	for _, pr := range res.Protections {
		exp, ok := finiteExpiry(pr.Expiry)
		if !ok || pr.Level == "" || pr.Level == "all" {
			continue
		}
		want = append(want, TrackedProtection{
			Type: pr.Action, Level: pr.Level, Expiry: exp, Length: roundLength(exp.Sub(now)), Cascade: res.Cascade,
			SetBy: actorName(actor), SetByID: actor.UserID, Platform: actor.Platform, Channel: actor.Channel,
			Reason: res.Reason, URL: res.URL, SetAt: now,
		})
	}
	r, err := s.store.ReconcilePage(ctx, w.Name, res.Title, want, s.leads, now)
	if err != nil {
		return fmt.Errorf("reminders: %w", err)
	}
	s.log.Debug("tracked /protect", "wiki", w.Name, "title", res.Title, "added", r.Added, "changed", r.Changed, "removed", r.Removed)
	return nil
}

// finiteExpiry parses an absolute expiry; "infinite" and "infinity" are not
// finite.
func finiteExpiry(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// roundLength rounds the length of a protection to the minute: the wiki's
// clock and the bot's differ by a little, and "1 week" should read so.
func roundLength(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d.Round(time.Minute)
}

func actorName(a commands.Actor) string {
	if a.UserName != "" {
		return a.UserName
	}
	return a.UserID
}

// scope is the pages whose protections are tracked.
type scope struct {
	namespaces map[int]bool
	pages      map[string]bool
}

func newScope(namespaces []int, pages []string) scope {
	sc := scope{}
	if len(namespaces) > 0 {
		sc.namespaces = map[int]bool{}
		for _, ns := range namespaces {
			sc.namespaces[ns] = true
		}
	}
	if len(pages) > 0 {
		sc.pages = map[string]bool{}
		for _, p := range pages {
			sc.pages[normalizeTitle(p)] = true
		}
	}
	return sc
}

func (sc scope) limitsNamespaces() bool { return sc.namespaces != nil }

// hasTitle reports whether the watch list allows title.
func (sc scope) hasTitle(title string) bool {
	return sc.pages == nil || sc.pages[normalizeTitle(title)]
}

// has reports whether a page in namespace ns is in scope.
func (sc scope) has(ns int, title string) bool {
	return (sc.namespaces == nil || sc.namespaces[ns]) && sc.hasTitle(title)
}

// normalizeTitle spells a title as the wiki does: spaces, not underscores,
// and a capital first letter.
func normalizeTitle(t string) string {
	t = strings.Join(strings.Fields(strings.ReplaceAll(t, "_", " ")), " ")
	r, size := utf8.DecodeRuneInString(t)
	if r == utf8.RuneError {
		return t
	}
	return string(unicode.ToUpper(r)) + t[size:]
}
