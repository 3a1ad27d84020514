package bot

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/mw"
)

// Metrics holds the counters and histograms served on /metrics in the
// Prometheus text format. It is safe for concurrent use.
type Metrics struct {
	mu     sync.Mutex
	help   map[string]string
	kinds  map[string]string // name -> "counter" or "histogram"
	counts map[string]map[string]float64
	hists  map[string]map[string]*histogram
	gauges map[string]func() float64 // read when the metrics are written
}

// latencyBuckets are upper bounds in seconds.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

type histogram struct {
	counts []uint64 // one per bucket
	count  uint64
	sum    float64
}

// NewMetrics returns an empty registry with wikimod's metrics described.
func NewMetrics() *Metrics {
	m := &Metrics{
		help:   map[string]string{},
		kinds:  map[string]string{},
		counts: map[string]map[string]float64{},
		hists:  map[string]map[string]*histogram{},
		gauges: map[string]func() float64{},
	}
	m.describe("wikimod_commands_total", "counter", "Commands run, by command and outcome.")
	m.describe("wikimod_command_duration_seconds", "histogram", "Time to run a command, by command.")
	m.describe("wikimod_wiki_requests_total", "counter", "Requests to the wiki, by API action.")
	m.describe("wikimod_wiki_request_duration_seconds", "histogram", "Time for one request to the wiki, by API action.")
	m.describe("wikimod_wiki_errors_total", "counter", "Errors the wiki returned, by error code.")
	m.describe("wikimod_security_events_total", "counter", "Requests refused before becoming commands (bad signatures), by platform and kind.")
	m.Gauge("go_goroutines", "Goroutines that currently exist.", func() float64 { return float64(runtime.NumGoroutine()) })
	return m
}

// Gauge declares a gauge whose value read is called for whenever the
// metrics are written.
func (m *Metrics) Gauge(name, help string, read func() float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.describe(name, "gauge", help)
	m.gauges[name] = read
}

func (m *Metrics) describe(name, kind, help string) {
	m.kinds[name], m.help[name] = kind, help
}

// Describe declares a further metric, for adapters and the scheduler.
func (m *Metrics) Describe(name, kind, help string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.describe(name, kind, help)
}

// Add adds v to a counter. labels alternate names and values.
func (m *Metrics) Add(name string, v float64, labels ...string) {
	key := labelKey(labels)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts[name] == nil {
		m.counts[name] = map[string]float64{}
	}
	m.counts[name][key] += v
}

// Observe records a duration in a histogram.
func (m *Metrics) Observe(name string, d time.Duration, labels ...string) {
	key := labelKey(labels)
	s := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hists[name] == nil {
		m.hists[name] = map[string]*histogram{}
	}
	h := m.hists[name][key]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets))}
		m.hists[name][key] = h
	}
	for i, ub := range latencyBuckets {
		if s <= ub {
			h.counts[i]++
		}
	}
	h.count++
	h.sum += s
}

// ObserveCommand is a commands.Config.Observe function.
func (m *Metrics) ObserveCommand(command string, outcome commands.Outcome, d time.Duration) {
	m.Add("wikimod_commands_total", 1, "command", command, "outcome", string(outcome))
	m.Observe("wikimod_command_duration_seconds", d, "command", command)
}

// ObserveWiki is an mw.Config.Observe function.
func (m *Metrics) ObserveWiki(info mw.RequestInfo) {
	m.Add("wikimod_wiki_requests_total", 1, "action", info.Action)
	m.Observe("wikimod_wiki_request_duration_seconds", info.Duration, "action", info.Action)
	if info.ErrorCode != "" {
		m.Add("wikimod_wiki_errors_total", 1, "code", info.ErrorCode)
	}
}

// SecurityEvent counts a refused request.
func (m *Metrics) SecurityEvent(platform, kind string) {
	m.Add("wikimod_security_events_total", 1, "platform", platform, "kind", kind)
}

// Value returns a counter's value, for tests and the console.
func (m *Metrics) Value(name string, labels ...string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[name][labelKey(labels)]
}

// WriteTo writes every metric in the Prometheus text format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	names := make([]string, 0, len(m.kinds))
	for n := range m.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, m.help[name], name, m.kinds[name])
		if m.kinds[name] == "histogram" {
			for _, key := range sortedKeys(m.hists[name]) {
				h := m.hists[name][key]
				for i, ub := range latencyBuckets {
					fmt.Fprintf(&b, "%s_bucket{%s} %d\n", name, joinLabels(key, fmt.Sprintf(`le="%g"`, ub)), h.counts[i])
				}
				fmt.Fprintf(&b, "%s_bucket{%s} %d\n", name, joinLabels(key, `le="+Inf"`), h.count)
				fmt.Fprintf(&b, "%s_sum%s %g\n%s_count%s %d\n", name, braces(key), h.sum, name, braces(key), h.count)
			}
			continue
		}
		if read, ok := m.gauges[name]; ok {
			fmt.Fprintf(&b, "%s %s\n", name, formatFloat(read()))
			continue
		}
		for _, key := range sortedKeys(m.counts[name]) {
			fmt.Fprintf(&b, "%s%s %s\n", name, braces(key), formatFloat(m.counts[name][key]))
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// ServeHTTP serves the metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.WriteTo(w)
}

func labelKey(labels []string) string {
	var parts []string
	for i := 0; i+1 < len(labels); i += 2 {
		parts = append(parts, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	return strings.Join(parts, ",")
}

func joinLabels(key, extra string) string {
	if key == "" {
		return extra
	}
	return key + "," + extra
}

func braces(key string) string {
	if key == "" {
		return ""
	}
	return "{" + key + "}"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func formatFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%g", v)
}
