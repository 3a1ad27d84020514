package bot

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/mw"
)

// Metrics is wikimod's Prometheus registry, served on /metrics. Every
// metric is a collector registered on a private registry (never the global
// default one, so tests can make as many as they like) together with the Go
// runtime and process collectors. It is safe for concurrent use.
//
// Packages other than bot declare their metrics with Describe (or Gauge)
// and then count with Add and Observe, naming labels as alternating names
// and values. A metric's label names are fixed: by Describe when it lists
// them, otherwise by the first Add, Observe or Init.
//
// Misuse is a programming error, but one that must not take the bot down
// or disappear: a value for an undeclared name, the wrong label names, the
// wrong kind or a negative counter increment is dropped, logged once at
// error level through slog.Default, and kept for Err. TestMetricNames
// finds every call in the module and replays it, so a misspelled name or
// label fails the tests rather than going missing in production.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	// wikimod's own metrics, held directly for the hot paths.
	commands        *prometheus.CounterVec
	commandDuration *prometheus.HistogramVec
	wikiRequests    *prometheus.CounterVec
	wikiDuration    *prometheus.HistogramVec
	wikiErrors      *prometheus.CounterVec
	securityEvents  *prometheus.CounterVec

	mu      sync.RWMutex
	metrics map[string]*metric

	problemMu sync.Mutex
	problems  []string
	reported  map[string]bool
}

// metric is one declared metric. labels is nil until the label names are
// fixed; after that labels and the collector never change.
type metric struct {
	kind    string // "counter", "histogram" or "gauge"
	help    string
	labels  []string
	failed  bool // creating the collector failed; reported once
	counter *prometheus.CounterVec
	hist    *prometheus.HistogramVec
	read    *atomic.Pointer[func() float64] // a gauge's reader
}

func (e *metric) collector() prometheus.Collector {
	switch {
	case e.counter != nil:
		return e.counter
	case e.hist != nil:
		return e.hist
	}
	return nil
}

// latencyBuckets are upper bounds in seconds.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

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
	m := &Metrics{reg: prometheus.NewRegistry(), metrics: map[string]*metric{}, reported: map[string]bool{}}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: promLogger{}, ErrorHandling: promhttp.ContinueOnError})

	m.commands = m.builtin("wikimod_commands_total", "counter", "Commands run, by wiki, command and outcome (wiki is empty when none could be chosen).", "wiki", "command", "outcome").counter
	m.commandDuration = m.builtin("wikimod_command_duration_seconds", "histogram", "Time to run a command, by wiki and command.", "wiki", "command").hist
	m.wikiRequests = m.builtin("wikimod_wiki_requests_total", "counter", "Requests to the wikis, by wiki and API action.", "wiki", "action").counter
	m.wikiDuration = m.builtin("wikimod_wiki_request_duration_seconds", "histogram", "Time for one request to a wiki, by wiki and API action.", "wiki", "action").hist
	m.wikiErrors = m.builtin("wikimod_wiki_errors_total", "counter", "Errors the wikis returned, by wiki and error code.", "wiki", "code").counter
	m.securityEvents = m.builtin("wikimod_security_events_total", "counter", "Requests refused before becoming commands (bad signatures), by platform and kind.", "platform", "kind").counter
	return m
}

// builtin declares one of wikimod's own metrics, which cannot fail.
func (m *Metrics) builtin(name, kind, help string, labels ...string) *metric {
	m.Describe(name, kind, help, labels...)
	e := m.metrics[name]
	if e == nil || e.collector() == nil {
		panic("bot: cannot declare built-in metric " + name)
	}
	return e
}

// Describe declares a counter or a histogram, for adapters and the
// scheduler. labels, when given, fixes its label names now; otherwise the
// first Add, Observe or Init fixes them. Describing a metric again with the
// same kind and help is harmless (two adapters may share a Metrics);
// anything else is reported as misuse. Gauges are declared with Gauge.
func (m *Metrics) Describe(name, kind, help string, labels ...string) {
	if kind != "counter" && kind != "histogram" {
		m.problem(fmt.Sprintf("Describe(%q): kind %q: want counter or histogram (gauges are declared with Gauge)", name, kind))
		return
	}
	if !model.LegacyValidation.IsValidMetricName(name) {
		m.problem(fmt.Sprintf("Describe(%q): not a valid metric name", name))
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.metrics[name]
	if e == nil {
		e = &metric{kind: kind, help: help}
		m.metrics[name] = e
	} else if e.kind != kind || e.help != help {
		m.problem(fmt.Sprintf("Describe(%q, %q, %q): already declared as a %s: %q", name, kind, help, e.kind, e.help))
		return
	}
	if len(labels) == 0 {
		return
	}
	if e.labels == nil {
		m.fixLocked(name, e, labels)
	} else if !sameSet(e.labels, labels) {
		m.problem(fmt.Sprintf("Describe(%q): labels %v, but it already has %v", name, labels, e.labels))
	}
}

// Gauge declares a gauge whose value read is called for whenever the
// metrics are collected. Declaring it again with the same help replaces
// read.
func (m *Metrics) Gauge(name, help string, read func() float64) {
	if !model.LegacyValidation.IsValidMetricName(name) {
		m.problem(fmt.Sprintf("Gauge(%q): not a valid metric name", name))
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.metrics[name]; e != nil {
		if e.kind != "gauge" || e.help != help {
			m.problem(fmt.Sprintf("Gauge(%q, %q): already declared as a %s: %q", name, help, e.kind, e.help))
			return
		}
		e.read.Store(&read)
		return
	}
	e := &metric{kind: "gauge", help: help, labels: []string{}, read: new(atomic.Pointer[func() float64])}
	e.read.Store(&read)
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return (*e.read.Load())() })
	if err := m.reg.Register(g); err != nil {
		m.problem(fmt.Sprintf("Gauge(%q): %v", name, err))
		return
	}
	m.metrics[name] = e
}

// Add adds v, which must not be negative, to a counter. labels alternate
// names and values.
func (m *Metrics) Add(name string, v float64, labels ...string) {
	if !(v >= 0) {
		m.problem(fmt.Sprintf("Add(%q): a counter cannot change by %v", name, v))
		return
	}
	e, values := m.series("Add", name, "counter", labels, true)
	if e == nil {
		return
	}
	e.counter.WithLabelValues(values...).Add(v)
}

// Observe records a duration, in seconds, in a histogram. labels alternate
// names and values.
func (m *Metrics) Observe(name string, d time.Duration, labels ...string) {
	e, values := m.series("Observe", name, "histogram", labels, true)
	if e == nil {
		return
	}
	e.hist.WithLabelValues(values...).Observe(d.Seconds())
}

// Init creates series at zero, so that a dashboard or an alert sees 0
// rather than nothing before the first event. Each label set alternates
// names and values as in Add; with no label set, Init creates the
// unlabelled series.
func (m *Metrics) Init(name string, labelSets ...[]string) {
	if len(labelSets) == 0 {
		labelSets = [][]string{nil}
	}
	for _, labels := range labelSets {
		e, values := m.series("Init", name, "", labels, true)
		switch {
		case e == nil:
		case e.counter != nil:
			e.counter.WithLabelValues(values...)
		case e.hist != nil:
			e.hist.WithLabelValues(values...)
		}
	}
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
				m.commands.WithLabelValues(wiki, name, string(o))
			}
			m.commandDuration.WithLabelValues(wiki, name)
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
			m.wikiErrors.WithLabelValues(labelValue(wiki), code)
		}
	}
}

// InitSecurity creates wikimod_security_events_total at zero for each kind
// of refusal a platform counts.
func (m *Metrics) InitSecurity(platform string, kinds ...string) {
	for _, kind := range kinds {
		m.securityEvents.WithLabelValues(labelValue(platform), labelValue(kind))
	}
}

// ObserveCommand is a commands.Config.Observe function.
func (m *Metrics) ObserveCommand(wiki, command string, outcome commands.Outcome, d time.Duration) {
	wiki, command = labelValue(wiki), labelValue(command)
	m.commands.WithLabelValues(wiki, command, labelValue(string(outcome))).Inc()
	m.commandDuration.WithLabelValues(wiki, command).Observe(d.Seconds())
}

// WikiObserver returns an mw.Config.Observe function for the named wiki.
func (m *Metrics) WikiObserver(wiki string) func(mw.RequestInfo) {
	wiki = labelValue(wiki)
	return func(info mw.RequestInfo) {
		action := labelValue(info.Action)
		m.wikiRequests.WithLabelValues(wiki, action).Inc()
		m.wikiDuration.WithLabelValues(wiki, action).Observe(info.Duration.Seconds())
		if info.ErrorCode != "" {
			m.wikiErrors.WithLabelValues(wiki, labelValue(info.ErrorCode)).Inc()
		}
	}
}

// SecurityEvent counts a refused request.
func (m *Metrics) SecurityEvent(platform, kind string) {
	m.securityEvents.WithLabelValues(labelValue(platform), labelValue(kind)).Inc()
}

// Value returns a counter's or a gauge's value, or a histogram's count of
// observations, for tests and the console, summed over the series whose
// labels match those given (a subset of the metric's: wikimod_commands_total
// with only "command" sums over wikis and outcomes). A series never touched
// reads 0; reading does not create it.
func (m *Metrics) Value(name string, labels ...string) float64 {
	e, values := m.series("Value", name, "", labels, false)
	if e == nil {
		return 0
	}
	want := map[string]string{}
	for i := 0; i < len(labels); i += 2 {
		want[labels[i]] = values[i/2]
	}
	if e.kind == "gauge" {
		return (*e.read.Load())()
	}
	c := e.collector()
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var v float64
	for pm := range ch {
		var d dto.Metric
		if pm.Write(&d) != nil || !labelsMatch(d.GetLabel(), want) {
			continue
		}
		switch e.kind {
		case "counter":
			v += d.GetCounter().GetValue()
		case "histogram":
			v += float64(d.GetHistogram().GetSampleCount())
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

// Err returns every misuse seen so far (an undeclared name, wrong label
// names, the wrong kind), each once, or nil. Values involved were dropped.
// Tests call it after exercising the code that counts.
func (m *Metrics) Err() error {
	m.problemMu.Lock()
	defer m.problemMu.Unlock()
	var errs []error
	for _, p := range m.problems {
		errs = append(errs, errors.New("metrics: "+p))
	}
	return errors.Join(errs...)
}

// series finds the declared metric name and puts the label values in the
// order of its label names. kind "" accepts any kind. fix says whether the
// call may fix a metric's label names; Value may not, and a metric whose
// labels are not fixed yet has no series for it to read. A nil metric means
// there is nothing to record or read, the misuse, if any, reported.
func (m *Metrics) series(op, name, kind string, labels []string, fix bool) (*metric, []string) {
	if len(labels)%2 != 0 {
		m.problem(fmt.Sprintf("%s(%q): labels must alternate names and values; got %d strings", op, name, len(labels)))
		return nil, nil
	}
	names := make([]string, 0, len(labels)/2)
	for i := 0; i < len(labels); i += 2 {
		names = append(names, labels[i])
	}
	m.mu.RLock()
	e := m.metrics[name]
	fixed := e != nil && e.labels != nil
	m.mu.RUnlock()
	switch {
	case e == nil:
		m.problem(fmt.Sprintf("%s(%q): no such metric; declare it with Describe or Gauge first", op, name))
		return nil, nil
	case kind != "" && e.kind != kind:
		m.problem(fmt.Sprintf("%s(%q): it is a %s, not a %s", op, name, e.kind, kind))
		return nil, nil
	case !fixed && !fix:
		return nil, nil
	case !fixed:
		m.mu.Lock()
		if e.labels == nil && !e.failed {
			m.fixLocked(name, e, names)
		}
		m.mu.Unlock()
	}
	if e.failed {
		return nil, nil
	}
	if e.kind == "gauge" && op != "Value" {
		if op != "Init" {
			m.problem(fmt.Sprintf("%s(%q): it is a gauge", op, name))
		}
		return nil, nil
	}
	if op == "Value" {
		// Value sums the series that match the labels given: a subset.
		for _, n := range names {
			if !slices.Contains(e.labels, n) {
				m.problem(fmt.Sprintf("%s(%q): no label %q; it has %v", op, name, n, e.labels))
				return nil, nil
			}
		}
		values := make([]string, len(names))
		for i := range names {
			values[i] = labelValue(labels[2*i+1])
		}
		return e, values
	}
	if !sameSet(e.labels, names) {
		m.problem(fmt.Sprintf("%s(%q): labels %v, but it has %v", op, name, names, e.labels))
		return nil, nil
	}
	values := make([]string, len(e.labels))
	for i, l := range e.labels {
		values[i] = labelValue(labels[2*slices.Index(names, l)+1])
	}
	return e, values
}

// fixLocked fixes e's label names and registers its collector. m.mu is
// held.
func (m *Metrics) fixLocked(name string, e *metric, labels []string) {
	if err := checkLabelNames(e.kind, labels); err != nil {
		e.failed = true
		m.problem(fmt.Sprintf("%s: %v", name, err))
		return
	}
	var c prometheus.Collector
	switch e.kind {
	case "counter":
		e.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: e.help}, labels)
		c = e.counter
	case "histogram":
		e.hist = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: e.help, Buckets: latencyBuckets}, labels)
		c = e.hist
	}
	if err := m.reg.Register(c); err != nil {
		e.counter, e.hist, e.failed = nil, nil, true
		m.problem(fmt.Sprintf("%s: %v", name, err))
		return
	}
	e.labels = slices.Clone(labels)
}

func checkLabelNames(kind string, labels []string) error {
	for i, l := range labels {
		switch {
		case !model.LegacyValidation.IsValidLabelName(l) || strings.HasPrefix(l, "__"):
			return fmt.Errorf("%q is not a valid label name", l)
		case kind == "histogram" && l == "le":
			return errors.New(`"le" is reserved in histograms`)
		case slices.Contains(labels[:i], l):
			return fmt.Errorf("label %q given twice", l)
		}
	}
	return nil
}

// problem reports a misuse once: it logs it and keeps it for Err. It may be
// called with m.mu held: problemMu is only ever taken after m.mu.
func (m *Metrics) problem(p string) {
	m.problemMu.Lock()
	defer m.problemMu.Unlock()
	if m.reported[p] {
		return
	}
	m.reported[p] = true
	m.problems = append(m.problems, p)
	slog.Default().Error("metric misused; its values are dropped", "problem", p)
}

// sameSet reports whether b holds the label names in a, each once, in any
// order. a holds no duplicates.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i, x := range b {
		if !slices.Contains(a, x) || slices.Contains(b[:i], x) {
			return false
		}
	}
	return true
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
