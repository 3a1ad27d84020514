package slack

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wikimod/wikimod/bot"
)

// Metrics are the Slack adapter's metrics. Config.Metrics takes them;
// NewMetrics makes them.
type Metrics struct {
	// AckSeconds is the time from receiving a request to acknowledging it,
	// by kind (ackKinds). Slack gives up after three seconds; this is the
	// figure to watch.
	AckSeconds *prometheus.HistogramVec
}

// The kinds of request whose acknowledgement is timed.
const (
	ackCommand     = "command"
	ackInteraction = "interaction"
)

// RefusalKinds are the kinds of refused requests the adapter reports, so
// that whoever counts them in wikimod_security_events_total can start each
// at zero (bot.Metrics.InitSecurity).
var RefusalKinds = []string{KindMissingSignature, KindBadSignature, KindStaleTimestamp, KindOversized, KindReplay}

// NewMetrics makes the Slack adapter's metrics and registers them with r
// (nil registers them nowhere). Every series the adapter knows of is
// created at zero, so that a dashboard or an alert sees 0 rather than
// nothing before the first request.
func NewMetrics(r prometheus.Registerer) *Metrics {
	m := &Metrics{
		AckSeconds: promauto.With(r).NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wikimod_slack_ack_seconds",
			Help:    "Time from receiving a Slack request to acknowledging it, by kind.",
			Buckets: bot.LatencyBuckets,
		}, []string{"kind"}),
	}
	for _, k := range []string{ackCommand, ackInteraction} {
		m.AckSeconds.WithLabelValues(k)
	}
	return m
}
