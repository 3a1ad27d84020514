package alerts

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/commands"
)

// Metrics are the alerts' metrics. Config.Metrics takes them; NewMetrics
// makes them. Their labels have no wiki: a farm of a thousand wikis would
// make a thousand series of each, and the log names the wiki of a failure.
type Metrics struct {
	// Polls counts the reads of a wiki's recent changes, by outcome: ok,
	// failed, stopped, or elsewhere (another replica follows the wiki).
	Polls *prometheus.CounterVec
	// PollSeconds is the time of one poll: its request, and posting what
	// it raised.
	PollSeconds prometheus.Histogram
	// Raised counts the alerts raised, by rule (reverts or abuse).
	Raised *prometheus.CounterVec
	// PostFailures counts the posts of an alert that some notice channel
	// refused.
	PostFailures prometheus.Counter
}

// NewMetrics makes the alerts' metrics and registers them with r (nil
// registers them nowhere). Every series is created at zero, so that a
// dashboard or an alert sees 0 rather than nothing before the first event.
func NewMetrics(r prometheus.Registerer) *Metrics {
	f := promauto.With(r)
	m := &Metrics{
		Polls: f.NewCounterVec(prometheus.CounterOpts{
			Name: "wikimod_alert_polls_total",
			Help: "Reads of a wiki's recent changes for the edit-war alerts, by outcome.",
		}, []string{"outcome"}),
		PollSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "wikimod_alert_poll_duration_seconds",
			Help:    "Time for one read of a wiki's recent changes, posting what it raised included.",
			Buckets: bot.LatencyBuckets,
		}),
		Raised: f.NewCounterVec(prometheus.CounterOpts{
			Name: "wikimod_alerts_raised_total",
			Help: "Edit-war and vandalism alerts raised, by rule.",
		}, []string{"rule"}),
		PostFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "wikimod_alert_post_failures_total",
			Help: "Posts of an alert that a notice channel refused.",
		}),
	}
	for _, o := range []string{"ok", "failed", "stopped", "elsewhere"} {
		m.Polls.WithLabelValues(o)
	}
	for _, r := range []string{commands.AlertRuleReverts, commands.AlertRuleAbuse} {
		m.Raised.WithLabelValues(r)
	}
	return m
}
