package bot

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// SecurityCount is an aggregate of requests refused before they became
// commands: how many of one kind came from one source on one platform in
// one minute. It is the domain's row (commands.SecurityCount), which the
// storage backends keep.
type SecurityCount = commands.SecurityCount

// SecuritySink stores aggregated refusals; every commands.Store is one.
type SecuritySink = commands.SecuritySink

// SecurityConfig configures a SecurityLog. The zero value of every optional
// field is safe.
type SecurityConfig struct {
	// Sink stores the counts. Required.
	Sink SecuritySink
	// FlushEvery is how often counts are written. Zero means 5 seconds.
	FlushEvery time.Duration
	// LogEvery is how often, at most, one platform and kind of refusal is
	// logged; refusals in between are counted in the next line. Zero means
	// 10 seconds.
	LogEvery time.Duration
	// Retention is how long counts are kept. Zero means 90 days.
	Retention time.Duration
	// MaxSources bounds the distinct sources kept per flush; further ones
	// are counted under the source "other", so that a flood from many
	// addresses costs no more than one from a few. Zero means 100.
	MaxSources int
	// Metrics, if set, counts each refusal in
	// wikimod_security_events_total.
	Metrics *Metrics
	Now     func() time.Time
	Logger  *slog.Logger
}

// SecurityLog takes the requests refused before they became commands. It
// counts them in memory by (minute, platform, kind, source), writes the
// counts every FlushEvery, logs at a bounded rate, and prunes old counts: a
// flood of refused requests costs bounded memory, disk and log.
type SecurityLog struct {
	cfg     SecurityConfig
	mu      sync.Mutex
	pending map[securityKey]*SecurityCount
	sources map[string]bool // distinct sources in pending
	logged  map[string]securityLogState

	stop chan struct{}
	done chan struct{}
	once sync.Once

	flushMu   sync.Mutex // one flush at a time; guards lastPrune
	lastPrune time.Time
}

type securityKey struct {
	minute                 int64
	platform, kind, source string
}

type securityLogState struct {
	last       time.Time
	suppressed int64
}

// NewSecurityLog returns a SecurityLog; Run writes its counts.
func NewSecurityLog(cfg SecurityConfig) *SecurityLog {
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 5 * time.Second
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 10 * time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 90 * 24 * time.Hour
	}
	if cfg.MaxSources <= 0 {
		cfg.MaxSources = 100
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &SecurityLog{cfg: cfg, pending: map[securityKey]*SecurityCount{}, sources: map[string]bool{},
		logged: map[string]securityLogState{}, stop: make(chan struct{}), done: make(chan struct{})}
}

// Record counts one refused request. remote is the client's address; its
// port is dropped. detail must hold no request body and no secret.
func (l *SecurityLog) Record(platform, kind, remote, detail string) {
	if l.cfg.Metrics != nil {
		l.cfg.Metrics.SecurityEvent(platform, kind)
	}
	now := l.cfg.Now()
	source := remote
	if host, _, err := net.SplitHostPort(remote); err == nil {
		source = host
	}
	if source == "" {
		source = "unknown"
	}
	l.mu.Lock()
	if !l.sources[source] && len(l.sources) >= l.cfg.MaxSources {
		source = "other"
	}
	l.sources[source] = true
	minute := now.UTC().Truncate(time.Minute)
	k := securityKey{minute.Unix(), platform, kind, source}
	c := l.pending[k]
	if c == nil {
		c = &SecurityCount{Minute: minute, Platform: platform, Kind: kind, Source: source, Detail: detail}
		l.pending[k] = c
	}
	c.Count++
	lk := platform + "/" + kind
	st := l.logged[lk]
	logNow := now.Sub(st.last) >= l.cfg.LogEvery
	suppressed := st.suppressed
	if logNow {
		l.logged[lk] = securityLogState{last: now}
	} else {
		st.suppressed++
		l.logged[lk] = st
	}
	l.mu.Unlock()
	if logNow {
		l.cfg.Logger.Warn("refused a request", "platform", platform, "kind", kind, "source", source, "detail", detail,
			"more_since_last_line", suppressed)
	}
}

// Run writes the counts every FlushEvery until ctx is done or Close is
// called, then writes what is left.
func (l *SecurityLog) Run(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.cfg.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.Flush(context.Background())
			return
		case <-l.stop:
			l.Flush(context.Background())
			return
		case <-t.C:
			l.Flush(ctx)
		}
	}
}

// Flush writes the counts gathered so far, and prunes counts past their
// retention once an hour.
func (l *SecurityLog) Flush(ctx context.Context) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	pending := l.pending
	l.pending = map[securityKey]*SecurityCount{}
	l.sources = map[string]bool{}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if len(pending) > 0 {
		counts := make([]SecurityCount, 0, len(pending))
		for _, c := range pending {
			counts = append(counts, *c)
		}
		if err := l.cfg.Sink.AddSecurityCounts(ctx, counts); err != nil {
			l.cfg.Logger.Error("cannot record refused requests", "err", err)
		}
	}
	now := l.cfg.Now()
	if now.Sub(l.lastPrune) >= time.Hour {
		l.lastPrune = now
		if _, err := l.cfg.Sink.PruneSecurityCounts(ctx, now.Add(-l.cfg.Retention)); err != nil {
			l.cfg.Logger.Warn("cannot prune old refused-request counts", "err", err)
		}
	}
}

// Close stops Run after a last flush. It is safe to call twice, and does
// not wait if Run was never started.
func (l *SecurityLog) Close() error {
	l.once.Do(func() { close(l.stop) })
	return nil
}

// Wait waits for Run to end.
func (l *SecurityLog) Wait() { <-l.done }
