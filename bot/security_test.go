package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/internal/testenv"
)

// memSink keeps what a SecurityLog writes.
type memSink struct {
	mu     sync.Mutex
	counts []bot.SecurityCount
	pruned []time.Time
}

func (m *memSink) AddSecurityCounts(_ context.Context, cs []bot.SecurityCount) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts = append(m.counts, cs...)
	return nil
}

func (m *memSink) PruneSecurityCounts(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruned = append(m.pruned, before)
	return 0, nil
}

func (m *memSink) total() (n int64, sources map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sources = map[string]bool{}
	for _, c := range m.counts {
		n += c.Count
		sources[c.Source] = true
	}
	return n, sources
}

// TestSecurityLogCountsAndBoundsTheLog: refusals are counted by minute and
// source, sources past the cap become "other", and the log gets one line
// per kind per interval however many refusals come.
func TestSecurityLogCountsAndBoundsTheLog(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 11, 21, 10, 0, 30, 0, time.UTC))
	sink := &memSink{}
	logs := &testenv.LogBuffer{}
	metrics := bot.NewMetrics()
	l := bot.NewSecurityLog(bot.SecurityConfig{Sink: sink, MaxSources: 10, LogEvery: 10 * time.Second,
		Metrics: metrics, Now: clock.Now, Logger: logs.Logger()})
	for i := range 5000 {
		l.Record("slack", "bad-signature", fmt.Sprintf("192.0.2.%d:%d", i%50, 1000+i), "signature does not match")
	}
	clock.Add(time.Minute)
	l.Record("slack", "bad-signature", "192.0.2.1:1", "signature does not match")
	l.Flush(context.Background())

	n, sources := sink.total()
	if n != 5001 {
		t.Errorf("counted %d refusals, want 5001", n)
	}
	if len(sources) != 11 || !sources["other"] || !sources["192.0.2.1"] {
		t.Errorf("sources = %v, want 10 addresses and other", sources)
	}
	minutes := map[time.Time]bool{}
	for _, c := range sink.counts {
		minutes[c.Minute] = true
		if c.Minute.Second() != 0 || c.Detail != "signature does not match" {
			t.Errorf("count = %+v", c)
		}
	}
	if len(minutes) != 2 {
		t.Errorf("minutes = %v", minutes)
	}
	if lines := strings.Count(logs.String(), "refused a request"); lines != 2 {
		t.Errorf("%d log lines for 5001 refusals in two intervals, want 2:\n%s", lines, logs.String())
	}
	if !strings.Contains(logs.String(), "more_since_last_line=4999") {
		t.Errorf("the second line does not count what was not logged:\n%s", logs.String())
	}
	if v := metrics.Value("wikimod_security_events_total", "platform", "slack", "kind", "bad-signature"); v != 5001 {
		t.Errorf("metric = %v", v)
	}
	if len(sink.pruned) != 1 || !sink.pruned[0].Equal(clock.Now().Add(-90*24*time.Hour)) {
		t.Errorf("pruned = %v", sink.pruned)
	}
}

// TestCachedCheckAsksAtMostOncePerInterval: however often health is asked,
// the probe runs once per interval, and its failure is reported.
func TestCachedCheckAsksAtMostOncePerInterval(t *testing.T) {
	clock := testenv.NewClock(time.Unix(1_800_000_000, 0))
	var calls int
	fail := false
	check := bot.CachedCheck("wiki", 5*time.Second, time.Second, clock.Now, func(ctx context.Context) error {
		calls++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the probe has no deadline")
		}
		if fail {
			return errors.New("down")
		}
		return nil
	})
	for range 100 {
		if err := check.Func(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	fail = true
	clock.Add(4 * time.Second)
	if err := check.Func(context.Background()); err != nil || calls != 1 {
		t.Errorf("inside the interval: err %v, %d probes", err, calls)
	}
	clock.Add(time.Second)
	if err := check.Func(context.Background()); err == nil || calls != 2 {
		t.Errorf("after the interval: err %v, %d probes", err, calls)
	}
}
