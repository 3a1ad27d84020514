package bot

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/mw"
)

// Metrics is wikimod's Prometheus registry, served on /metrics, and the
// metrics of the runtime itself: commands, requests to the wikis and
// refused requests. The registry is private (never the global default one,
// so tests can make as many as they like) and holds the Go runtime and
// process collectors too.
//
// Other packages declare their metrics as typed fields of a Metrics of
// their own, made by their NewMetrics from Registerer (the alertmanager
// shape): a misspelt metric or a wrong number of label values is then a
// compile error or a test failure, not a value silently dropped. It is safe
// for concurrent use.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	// Commands counts finished commands, by wiki, command and outcome.
	Commands *prometheus.CounterVec
	// CommandDuration is the time to run a command, by wiki and command.
	CommandDuration *prometheus.HistogramVec
	// WikiRequests counts requests to the wikis, by wiki and API action.
	WikiRequests *prometheus.CounterVec
	// WikiDuration is the time for one request to a wiki, by wiki and API
	// action.
	WikiDuration *prometheus.HistogramVec
	// WikiErrors counts the errors the wikis answered, by wiki and code.
	WikiErrors *prometheus.CounterVec
	// SecurityEvents counts requests refused before they became commands,
	// by platform and kind.
	SecurityEvents *prometheus.CounterVec

	// labels are the label names of the metrics above, by metric name,
	// for Value.
	labels map[string][]string
}

// LatencyBuckets are the upper bounds, in seconds, of every wikimod
// histogram of durations, so that all of them read alike on a dashboard.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// commandOutcomes are the outcomes a finished command reports to
// ObserveCommand; InitCommands creates a series at zero for each. The audit
// log's queued and pending states are not among them: they never end a
// command.
var commandOutcomes = []commands.Outcome{
	commands.OutcomeOK, commands.OutcomeDenied, commands.OutcomeInvalid, commands.OutcomeWikiError,
	commands.OutcomeFailed, commands.OutcomeUnknown, commands.OutcomeInterrupted,
}

// NewMetrics returns a registry holding wikimod's own metrics, the Go
// runtime collector (go_goroutines and the rest) and the process collector.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), labels: map[string][]string{}}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: promLogger{}, ErrorHandling: promhttp.ContinueOnError})

	f := promauto.With(m.reg)
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		m.labels[name] = labels
		return f.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		m.labels[name] = labels
		return f.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: LatencyBuckets}, labels)
	}
	m.Commands = counter("wikimod_commands_total", "Commands run, by wiki, command and outcome (wiki is empty when none could be chosen).", "wiki", "command", "outcome")
	m.CommandDuration = histogram("wikimod_command_duration_seconds", "Time to run a command, by wiki and command.", "wiki", "command")
	m.WikiRequests = counter("wikimod_wiki_requests_total", "Requests to the wikis, by wiki and API action.", "wiki", "action")
	m.WikiDuration = histogram("wikimod_wiki_request_duration_seconds", "Time for one request to a wiki, by wiki and API action.", "wiki", "action")
	m.WikiErrors = counter("wikimod_wiki_errors_total", "Errors the wikis returned, by wiki and error code.", "wiki", "code")
	m.SecurityEvents = counter("wikimod_security_events_total", "Requests refused before becoming commands (bad signatures), by platform and kind.", "platform", "kind")
	return m
}

// Registerer is where other packages register their metrics (their
// NewMetrics) and cmd/wikimod its gauges, to be served with these.
func (m *Metrics) Registerer() prometheus.Registerer {
	return m.reg
}

// maxInitWikis bounds the wikis whose command series InitCommands creates
// at zero: a farm's thousand wikis would otherwise start with a hundred
// thousand empty series. Past it, a wiki's series appear with its first
// command.
const maxInitWikis = 20

// InitCommands creates wikimod_commands_total at zero on each wiki for each
// command and every outcome a command can end with, and an empty
// wikimod_command_duration_seconds for each, for up to maxInitWikis wikis.
func (m *Metrics) InitCommands(wikis []string, names ...string) {
	for _, wiki := range wikis[:min(len(wikis), maxInitWikis)] {
		wiki = labelValue(wiki)
		for _, name := range names {
			name = labelValue(name)
			for _, o := range commandOutcomes {
				m.Commands.WithLabelValues(wiki, name, string(o))
			}
			m.CommandDuration.WithLabelValues(wiki, name)
		}
	}
}

// wikiErrorCodes are the errors a wiki answers a busy or unsettled bot
// with; InitWikis creates their series at zero.
var wikiErrorCodes = []string{"maxlag", "ratelimited", "badtoken", "assertuserfailed", "readonly"}

// InitWikis creates, for up to maxInitWikis wikis, wikimod_wiki_errors_total
// at zero for the errors worth an alert (wikiErrorCodes).
func (m *Metrics) InitWikis(wikis []string) {
	for _, wiki := range wikis[:min(len(wikis), maxInitWikis)] {
		for _, code := range wikiErrorCodes {
			m.WikiErrors.WithLabelValues(labelValue(wiki), code)
		}
	}
}

// InitSecurity creates wikimod_security_events_total at zero for each kind
// of refusal a platform counts.
func (m *Metrics) InitSecurity(platform string, kinds ...string) {
	for _, kind := range kinds {
		m.SecurityEvents.WithLabelValues(labelValue(platform), labelValue(kind))
	}
}

// ObserveCommand is a commands.Config.Observe function.
func (m *Metrics) ObserveCommand(wiki, command string, outcome commands.Outcome, d time.Duration) {
	wiki, command = labelValue(wiki), labelValue(command)
	m.Commands.WithLabelValues(wiki, command, labelValue(string(outcome))).Inc()
	m.CommandDuration.WithLabelValues(wiki, command).Observe(d.Seconds())
}

// WikiObserver returns an mw.Config.Observe function for the named wiki.
func (m *Metrics) WikiObserver(wiki string) func(mw.RequestInfo) {
	wiki = labelValue(wiki)
	return func(info mw.RequestInfo) {
		action := labelValue(info.Action)
		m.WikiRequests.WithLabelValues(wiki, action).Inc()
		m.WikiDuration.WithLabelValues(wiki, action).Observe(info.Duration.Seconds())
		if info.ErrorCode != "" {
			m.WikiErrors.WithLabelValues(wiki, labelValue(info.ErrorCode)).Inc()
		}
	}
}

// SecurityEvent counts a refused request.
func (m *Metrics) SecurityEvent(platform, kind string) {
	m.SecurityEvents.WithLabelValues(labelValue(platform), labelValue(kind)).Inc()
}

// Value reads what /metrics serves, for tests: a counter's or a gauge's
// value, or a histogram's count of observations, summed over the series
// whose labels match those given (names and values alternating; a subset of
// the metric's: wikimod_commands_total with only "command" sums over wikis
// and outcomes). A series never touched reads 0; reading does not create
// it.
//
// A name that is neither one of this package's metrics nor served, or a
// label the metric does not have, is a mistake in the test that would
// otherwise read 0 and pass: Value panics.
func (m *Metrics) Value(name string, labels ...string) float64 {
	if len(labels)%2 != 0 {
		panic(fmt.Sprintf("bot: Metrics.Value(%q): labels must alternate names and values; got %d strings", name, len(labels)))
	}
	want := map[string]string{}
	for i := 0; i < len(labels); i += 2 {
		want[labels[i]] = labelValue(labels[i+1])
	}
	mfs, err := m.reg.Gather()
	if err != nil {
		panic(fmt.Sprintf("bot: Metrics.Value(%q): %v", name, err))
	}
	i := slices.IndexFunc(mfs, func(mf *dto.MetricFamily) bool { return mf.GetName() == name })
	if i < 0 {
		own, ok := m.labels[name]
		if !ok {
			panic(fmt.Sprintf("bot: Metrics.Value(%q): no such metric is served", name))
		}
		for l := range want {
			if !slices.Contains(own, l) {
				panic(fmt.Sprintf("bot: Metrics.Value(%q): no label %q; it has %v", name, l, own))
			}
		}
		return 0
	}
	var v float64
	for j, pm := range mfs[i].GetMetric() {
		if j == 0 {
			for l := range want {
				if !slices.ContainsFunc(pm.GetLabel(), func(lp *dto.LabelPair) bool { return lp.GetName() == l }) {
					panic(fmt.Sprintf("bot: Metrics.Value(%q): no label %q", name, l))
				}
			}
		}
		if !labelsMatch(pm.GetLabel(), want) {
			continue
		}
		switch {
		case pm.Counter != nil:
			v += pm.GetCounter().GetValue()
		case pm.Gauge != nil:
			v += pm.GetGauge().GetValue()
		case pm.Histogram != nil:
			v += float64(pm.GetHistogram().GetSampleCount())
		}
	}
	return v
}

// WriteTo writes every metric in the Prometheus text format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	mfs, gatherErr := m.reg.Gather()
	var total int64
	for _, mf := range mfs {
		n, err := expfmt.MetricFamilyToText(w, mf)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	if gatherErr != nil {
		return total, fmt.Errorf("metrics: gather: %w", gatherErr)
	}
	return total, nil
}

// ServeHTTP serves the metrics, in whichever format the scraper asks for.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.handler.ServeHTTP(w, r)
}

func labelsMatch(got []*dto.LabelPair, want map[string]string) bool {
	n := 0
	for _, lp := range got {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// labelValue makes s a valid label value. Values come from chat users and
// the wiki; the library refuses invalid UTF-8, and a count should not be
// lost to it.
func labelValue(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

// promLogger sends promhttp's errors to slog.
type promLogger struct{}

func (promLogger) Println(v ...any) {
	slog.Default().Error("serving metrics", "err", fmt.Sprint(v...))
}
