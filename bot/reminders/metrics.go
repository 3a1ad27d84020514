package reminders

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wikimod/wikimod/bot"
)

// Metrics are the reminders' metrics. Config.Metrics takes them;
// NewMetrics makes them. Several schedulers may share them.
type Metrics struct {
	// Messages counts reminder messages posted, by kind (single or digest).
	Messages *prometheus.CounterVec
	// SendFailures counts reminder messages that could not be posted, by
	// outcome (retry or gave-up).
	SendFailures *prometheus.CounterVec
	// Syncs counts syncs of a wiki's protect log, by wiki and outcome (ok,
	// failed or stopped).
	Syncs *prometheus.CounterVec
	// TickSeconds is the time for one tick, sends included.
	TickSeconds prometheus.Histogram
}

// maxInitWikis bounds the wikis whose sync series New creates at zero, as
// bot.Metrics bounds those of the commands.
const maxInitWikis = 20

// NewMetrics makes the reminders' metrics and registers them with r (nil
// registers them nowhere). Every series known before the wikis are is
// created at zero, so that a dashboard or an alert sees 0 rather than
// nothing before the first event; New adds the wikis' syncs.
func NewMetrics(r prometheus.Registerer) *Metrics {
	f := promauto.With(r)
	m := &Metrics{
		Messages: f.NewCounterVec(prometheus.CounterOpts{
			Name: "wikimod_reminder_messages_total",
			Help: "Reminder messages posted, by kind (single or digest).",
		}, []string{"kind"}),
		SendFailures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "wikimod_reminder_send_failures_total",
			Help: "Reminder messages that could not be posted, by outcome (retry or gave-up).",
		}, []string{"outcome"}),
		Syncs: f.NewCounterVec(prometheus.CounterOpts{
			Name: "wikimod_reminder_syncs_total",
			Help: "Protect log syncs, by wiki and outcome.",
		}, []string{"wiki", "outcome"}),
		TickSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "wikimod_reminder_tick_duration_seconds",
			Help:    "Time for one reminder tick, sends included.",
			Buckets: bot.LatencyBuckets,
		}),
	}
	for _, k := range []string{"single", "digest"} {
		m.Messages.WithLabelValues(k)
	}
	for _, o := range []string{"retry", "gave-up"} {
		m.SendFailures.WithLabelValues(o)
	}
	return m
}

// initWikis creates the syncs of the first maxInitWikis wikis at zero.
func (m *Metrics) initWikis(wikis []*wiki) {
	for _, w := range wikis[:min(len(wikis), maxInitWikis)] {
		m.Syncs.WithLabelValues(w.Name, "ok")
		m.Syncs.WithLabelValues(w.Name, "failed")
	}
}
