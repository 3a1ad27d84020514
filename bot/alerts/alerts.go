// Package alerts tells the moderators of a page in trouble: an edit war
// (edits reverted, from several editors, within minutes) or vandalism that
// AbuseFilter keeps catching, on each wiki of a farm. A Follower reads
// every wiki's recent changes (and its abuse log, where the wiki has
// AbuseFilter) with one request per wiki per Interval, each wiki at its own
// moment of the interval, a few wikis at a time and each under a time
// limit, so that a wiki that is down holds up no other. Where it stopped
// reading is kept in the store (commands.AlertStore), and with replicas
// one of them follows a wiki at a time (a lease), so that a restart or
// another replica goes on from there. A burst of trouble on a page raises
// one alert, kept in the store so that every replica agrees; it goes to
// the wiki's notice channels with the page's protection history, a
// suggested protection and other choices as buttons, and dismiss. A button
// runs the alert command as the person who pressed it, with their rights,
// through /protect's own path; the first press acts, any later one is told
// who acted.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wikimod/wikimod/bot/notice"
	"github.com/wikimod/wikimod/bot/poll"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// Store keeps the alerts' cursors and rows; see commands.AlertStore.
type Store = commands.AlertStore

// Rules say when a page is in trouble, and what protection to suggest.
// Every zero value means the default.
type Rules struct {
	// Window is how far back trouble counts, and how long a burst must be
	// quiet before new trouble is a new burst. Zero means 15 minutes.
	Window time.Duration
	// MinReverts is how many reverted edits of one page within Window
	// raise an alert, made by at least MinEditors editors. Zero means 3
	// reverted edits from 2 editors.
	MinReverts int
	MinEditors int
	// AbuseHits is how many AbuseFilter hits on one page within Window
	// raise an alert, on a wiki that has AbuseFilter; negative turns the
	// rule off. Zero means 3.
	AbuseHits int
	// SuggestLevel and SuggestExpiry are the edit protection suggested
	// for a page never protected. Zero means autoconfirmed for 1 day.
	SuggestLevel  string
	SuggestExpiry time.Duration
}

// DefaultRules are the rules of a wiki that sets none.
var DefaultRules = Rules{
	Window:        15 * time.Minute,
	MinReverts:    3,
	MinEditors:    2,
	AbuseHits:     3,
	SuggestLevel:  mw.LevelAutoconfirmed,
	SuggestExpiry: 24 * time.Hour,
}

// withDefaults fills r's zero values from DefaultRules.
func (r Rules) withDefaults() Rules {
	d := DefaultRules
	if r.Window == 0 {
		r.Window = d.Window
	}
	if r.MinReverts == 0 {
		r.MinReverts = d.MinReverts
	}
	if r.MinEditors == 0 {
		r.MinEditors = d.MinEditors
	}
	if r.AbuseHits == 0 {
		r.AbuseHits = d.AbuseHits
	}
	if r.SuggestLevel == "" {
		r.SuggestLevel = d.SuggestLevel
	}
	if r.SuggestExpiry == 0 {
		r.SuggestExpiry = d.SuggestExpiry
	}
	return r
}

// check reports rules that could never work.
func (r Rules) check() error {
	switch {
	case r.Window < time.Second:
		return fmt.Errorf("window %s is shorter than a second, the wiki's own resolution", r.Window)
	case r.MinReverts < 1 || r.MinEditors < 1:
		return fmt.Errorf("min_reverts %d and min_editors %d must be at least 1", r.MinReverts, r.MinEditors)
	case r.MinEditors > r.MinReverts:
		return fmt.Errorf("min_editors %d is more than min_reverts %d: no burst could have more editors than reverted edits", r.MinEditors, r.MinReverts)
	case r.SuggestExpiry < 0:
		return fmt.Errorf("suggested expiry %s is negative", r.SuggestExpiry)
	}
	return nil
}

// quiet is how long a burst must be quiet before new trouble on its page
// is a new burst: the window.
func (r Rules) quiet() time.Duration { return r.Window }

// Config configures a Follower. Only Store and Wikis are required; every
// other zero value means a sensible default.
type Config struct {
	// Store keeps where each wiki was read to and the alerts, such as a
	// storage.DB.
	Store Store
	// Audit records each post of an alert (Platform "system", Command
	// "alert-send"). Nil means Store, which must then keep the audit log
	// too, as a storage.DB does.
	Audit commands.Auditor
	// Wikis are the wikis followed: at least one, each with its own name.
	Wikis []Wiki
	// Channels returns the notice channels to post to, for the wikis
	// without channels of their own, when it posts.
	Channels func() []Channel
	// Rules are every wiki's rules, unless the wiki has its own.
	Rules Rules

	// Interval is how often each wiki is read: one request a wiki an
	// interval. Zero means 1 minute.
	Interval time.Duration
	// Concurrency bounds the wikis read at once. Zero means 8.
	Concurrency int
	// PollTimeout bounds one wiki's poll (its read, and the posting of
	// what it raised), so that a wiki that is down holds one of the
	// Concurrency slots for that long at most. Zero means half the
	// Interval, and at most 30 seconds.
	PollTimeout time.Duration
	// Limit bounds the changes (and hits) one request asks for: 1 to 500.
	// A wiki that changes more than that in an interval is caught up over
	// the next polls. Zero means 500.
	Limit int
	// Overlap is how far before where it stopped each read goes again:
	// MediaWiki lists an edit, and tags it, in updates that run after it
	// answered, so an edit can reach the list after a later one did. Zero
	// means 30 seconds.
	Overlap time.Duration
	// Replicas, when set, says that other wikimod processes share the
	// store: each wiki is then followed by one of them at a time, the one
	// that holds its lease.
	Replicas *Replicas
	// OnProtect is told of each protection a button set, as /protect's
	// are (the reminders track it). Nil tells no one.
	OnProtect func(ctx context.Context, actor commands.Actor, res *commands.ProtectOutcome) error
	// PlatformTitle names a platform in a sentence ("Discord"), for who
	// acted on an alert; nil names it as it is.
	PlatformTitle func(platform string) i18n.Message

	// SendTimeout bounds one post to one channel. Zero means 30 seconds.
	SendTimeout time.Duration
	// PostAttempts bounds the polls that try to post an alert a channel
	// refused. Zero means 10.
	PostAttempts int
	// Keep is how long an alert is kept after its burst. Zero means 30
	// days.
	Keep time.Duration
	// StaleAction is how long a press may hold an alert without finishing
	// before another press may take it (its process died). Zero means 5
	// minutes.
	StaleAction time.Duration
	// StopGrace is how long Close lets the polls in progress finish. Zero
	// means 10 seconds.
	StopGrace time.Duration

	// Now is the clock. Nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics, if set, count the polls and the alerts (NewMetrics).
	Metrics *Metrics
}

// Wiki is one wiki a Follower follows.
type Wiki struct {
	// Name is the wiki's name in the command service (commands.Wiki.Name)
	// and in the database.
	Name string
	// Client reads the wiki's recent changes, abuse log, protections and
	// protect log. Reading needs no rights: an anonymous session does,
	// without logging in to a wiki that has seen no command yet.
	Client *mw.Client
	// Session, when set, reads instead of Client on a wiki that refuses
	// anonymous readers (readapidenied): the bot's own session.
	Session *mw.Client
	// Rules are this wiki's own; nil means Config.Rules.
	Rules *Rules
	// Channels returns this wiki's notice channels, when it posts; nil
	// means Config.Channels.
	Channels func() []Channel
}

// Channel is one place alerts are posted: a platform's notice channel.
type Channel = notice.Channel

// Replicas is how replicas that share a store divide the wikis.
type Replicas struct {
	Store commands.LeaseStore
	// Instance names this process among them.
	Instance string
	// Lease is how long a replica holds a wiki without reading it before
	// another may take it over. Zero means three intervals.
	Lease time.Duration
}

// wiki is a followed wiki and its follower's state.
type wiki struct {
	Wiki
	rules Rules

	// The poll's own state: one poll of a wiki runs at a time.
	det     *detector
	warm    bool        // det holds the last window: read since this process took the wiki
	changes poll.Cursor // where this process has read to
	hits    poll.Cursor
	// changesSaved and hitsSaved are where the store says the wiki was
	// read to.
	changesSaved, hitsSaved *poll.Stream
	// abuseOff is until when the wiki is taken to have no AbuseFilter:
	// it said so, and is asked again after an hour.
	abuseOff time.Time
	// unposted are alerts raised and not yet posted everywhere.
	unposted map[int64]bool
	// reader is the session that reads the wiki: Client, or Session once
	// the wiki refused Client.
	reader *mw.Client
}

// Follower follows the wikis' recent changes and raises the alerts.
type Follower struct {
	cfg     Config
	store   Store
	audit   commands.Auditor
	wikis   []*wiki
	byName  map[string]*wiki
	now     func() time.Time
	log     *slog.Logger
	metrics *Metrics

	// born is when New made the follower: a wiki never read is read from
	// a window before it.
	born  time.Time
	sched *poll.Schedule
	actMu sync.Mutex // one press at a time in this process

	mu          sync.Mutex // guards Start and Close
	cancelPolls context.CancelFunc
	stopLoop    context.CancelFunc
	done        chan struct{}
	started     bool
	closed      bool
}

// New checks cfg and returns a follower. Start runs it.
func New(cfg Config) (*Follower, error) {
	if cfg.Store == nil {
		return nil, errors.New("alerts: no store")
	}
	if cfg.Audit == nil {
		a, ok := cfg.Store.(commands.Auditor)
		if !ok {
			return nil, errors.New("alerts: no audit log: the store keeps none, and Audit is not set")
		}
		cfg.Audit = a
	}
	if len(cfg.Wikis) == 0 {
		return nil, errors.New("alerts: no wiki")
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Interval < time.Second {
		return nil, fmt.Errorf("alerts: interval %s is too short", cfg.Interval)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 8
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("alerts: concurrency %d is negative", cfg.Concurrency)
	}
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = min(cfg.Interval/2, 30*time.Second)
	}
	if cfg.PollTimeout < 0 {
		return nil, fmt.Errorf("alerts: poll timeout %s is negative", cfg.PollTimeout)
	}
	if cfg.Limit == 0 {
		cfg.Limit = 500
	}
	if cfg.Limit < 1 || cfg.Limit > 500 {
		return nil, fmt.Errorf("alerts: limit %d is not between 1 and 500", cfg.Limit)
	}
	if cfg.Overlap == 0 {
		cfg.Overlap = 30 * time.Second
	}
	if cfg.Overlap < 0 {
		return nil, fmt.Errorf("alerts: overlap %s is negative", cfg.Overlap)
	}
	if r := cfg.Replicas; r != nil {
		if r.Store == nil || r.Instance == "" {
			return nil, errors.New("alerts: replicas need a store to coordinate through and this instance's name")
		}
		if r.Lease == 0 {
			r.Lease = 3 * cfg.Interval
		}
		if r.Lease <= cfg.PollTimeout {
			return nil, fmt.Errorf("alerts: a lease of %s does not outlast a poll (%s)", r.Lease, cfg.PollTimeout)
		}
	}
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.PostAttempts == 0 {
		cfg.PostAttempts = 10
	}
	if cfg.Keep == 0 {
		cfg.Keep = 30 * 24 * time.Hour
	}
	if cfg.StaleAction == 0 {
		cfg.StaleAction = 5 * time.Minute
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 10 * time.Second
	}
	f := &Follower{
		cfg:     cfg,
		store:   cfg.Store,
		audit:   cfg.Audit,
		byName:  map[string]*wiki{},
		now:     cfg.Now,
		log:     cfg.Logger,
		metrics: cfg.Metrics,
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.born = f.now()
	sc := poll.Config{Interval: cfg.Interval, Concurrency: cfg.Concurrency, Timeout: cfg.PollTimeout,
		Poll: f.poll, Done: f.polled, Prune: f.prune, PruneEvery: time.Hour, Now: f.now, Logger: f.log}
	if r := cfg.Replicas; r != nil {
		// A wiki stays with the replica that follows it, which knows its
		// last window, until that one stops or dies.
		sc.Lease = &poll.Lease{Store: r.Store, Instance: r.Instance, Prefix: "alerts:", Term: r.Lease, Keep: true}
	}
	for i, w := range cfg.Wikis {
		if w.Name == "" || w.Client == nil {
			return nil, fmt.Errorf("alerts: wiki %d (%q) needs a name and a client", i+1, w.Name)
		}
		rules := cfg.Rules
		if w.Rules != nil {
			rules = *w.Rules
		}
		rules = rules.withDefaults()
		if err := rules.check(); err != nil {
			return nil, fmt.Errorf("alerts: wiki %s: %w", w.Name, err)
		}
		fw := &wiki{Wiki: w, rules: rules, unposted: map[int64]bool{}, reader: w.Client,
			changesSaved: f.stream(w.Name, commands.AlertStreamChanges), hitsSaved: f.stream(w.Name, commands.AlertStreamAbuseLog)}
		f.wikis = append(f.wikis, fw)
		f.byName[w.Name] = fw
		sc.Wikis = append(sc.Wikis, w.Name)
	}
	sched, err := poll.New(sc)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	f.sched = sched
	return f, nil
}

// stream is where the store says a stream of the named wiki was read to.
func (f *Follower) stream(wiki, stream string) *poll.Stream {
	return &poll.Stream{
		Load: func(ctx context.Context) (string, error) { return f.store.AlertCursor(ctx, wiki, stream) },
		Save: func(ctx context.Context, c string) error { return f.store.SetAlertCursor(ctx, wiki, stream, c) },
	}
}

// multi reports whether more than one wiki is followed: every alert then
// names its wiki.
func (f *Follower) multi() bool { return len(f.wikis) > 1 }

// Start follows the wikis in the background: each wiki's first poll comes
// at its slot of the interval after New, not at once, so that a farm's
// restart does not read a thousand wikis together. It stops when ctx is
// done; Close waits for it.
func (f *Follower) Start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started || f.closed {
		return errors.New("alerts: started twice, or after Close")
	}
	// Polls get a context of their own, cancelled only after the grace
	// period in Close, so that a shutdown does not cut a post short.
	pollCtx, cancelPolls := context.WithCancel(context.WithoutCancel(ctx))
	loopCtx, stopLoop := context.WithCancel(ctx)
	f.cancelPolls, f.stopLoop, f.done, f.started = cancelPolls, stopLoop, make(chan struct{}), true
	go func() {
		defer close(f.done)
		t := time.NewTicker(f.sched.Every())
		defer t.Stop()
		for {
			select {
			case <-loopCtx.Done():
				return
			case <-t.C:
				f.sched.Dispatch(pollCtx)
			}
		}
	}()
	return nil
}

// Close stops following, lets the polls in progress finish (StopGrace at
// most, then cuts them short), and gives up this process's leases. It is
// safe to call twice, and before Start.
func (f *Follower) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started || f.closed {
		f.closed = true
		return nil
	}
	f.closed = true
	f.stopLoop()
	<-f.done
	polls := make(chan struct{})
	go func() {
		f.sched.Wait()
		close(polls)
	}()
	t := time.NewTimer(f.cfg.StopGrace)
	defer t.Stop()
	select {
	case <-polls:
	case <-t.C:
		f.log.Warn("alerts: a poll did not finish in time; the next start reads from where it stopped")
	}
	f.cancelPolls()
	<-polls
	// Another replica takes the wikis at once rather than when the
	// leases run out.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f.sched.Release(ctx)
	return nil
}

// PollDue starts the polls due by the follower's clock (each wiki's once
// an interval, at its own offset), at most Concurrency at a time, waits
// for them, and returns the names of the wikis whose turn it was. The
// background loop does the same without waiting; tests call PollDue with a
// fake clock.
func (f *Follower) PollDue(ctx context.Context) []string { return f.sched.Due(ctx) }

// polled logs and counts how a scheduled poll went.
func (f *Follower) polled(name string, outcome poll.Outcome, err error, took time.Duration) {
	if outcome == poll.Failed {
		f.log.Warn("alerts: reading the recent changes failed; will try again", "wiki", name, "err", err)
	}
	if f.metrics != nil {
		f.metrics.Polls.WithLabelValues(string(outcome)).Inc()
		f.metrics.PollSeconds.Observe(took.Seconds())
	}
}

// prune forgets the alerts of every wiki whose burst ended Keep ago: the
// schedule calls it once an hour.
func (f *Follower) prune(ctx context.Context, now time.Time) {
	if _, err := f.store.PruneAlerts(ctx, now.Add(-f.cfg.Keep)); err != nil && ctx.Err() == nil {
		f.log.Warn("alerts: forgetting old alerts failed; will try again", "err", err)
	}
}
