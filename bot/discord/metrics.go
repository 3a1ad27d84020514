package discord

import (
	"github.com/bwmarrin/discordgo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/wikimod/wikimod/bot"
)

// Metrics are the Discord adapter's metrics. Config.Metrics takes them;
// NewMetrics makes them.
type Metrics struct {
	// AckSeconds is the time from receiving an interaction to sending its
	// first response, by interaction type (its String). Discord gives up
	// after three seconds; this is the figure to watch.
	AckSeconds *prometheus.HistogramVec
	// PostsFailed counts results and notices that could not be posted, by
	// kind (postKinds).
	PostsFailed *prometheus.CounterVec
}

// ackTypes are the interactions whose acknowledgement is timed.
var ackTypes = []discordgo.InteractionType{
	discordgo.InteractionApplicationCommand, discordgo.InteractionMessageComponent,
	discordgo.InteractionModalSubmit, discordgo.InteractionApplicationCommandAutocomplete,
}

// postKinds are the kinds of message whose failed posts are counted.
var postKinds = []string{"response", "result", "announcement", "notice", "requester"}

// RefusalKinds are the kinds of refused interactions the adapter reports,
// so that whoever counts them in wikimod_security_events_total can start
// each at zero (bot.Metrics.InitSecurity).
var RefusalKinds = []string{
	KindBadSignature, KindMissingSignature, KindStaleTimestamp, KindReplay,
	KindUnservedGuild, KindDirectMessage, KindNoMember,
}

// NewMetrics makes the Discord adapter's metrics and registers them with r
// (nil registers them nowhere). Every series the adapter knows of is
// created at zero, so that a dashboard or an alert sees 0 rather than
// nothing before the first event.
func NewMetrics(r prometheus.Registerer) *Metrics {
	f := promauto.With(r)
	m := &Metrics{
		AckSeconds: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wikimod_discord_ack_seconds",
			Help:    "Time from receiving a Discord interaction to sending its first response, by interaction type.",
			Buckets: bot.LatencyBuckets,
		}, []string{"type"}),
		PostsFailed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "wikimod_discord_posts_failed_total",
			Help: "Results and notices that could not be posted to Discord, by kind.",
		}, []string{"kind"}),
	}
	for _, t := range ackTypes {
		m.AckSeconds.WithLabelValues(t.String())
	}
	for _, k := range postKinds {
		m.PostsFailed.WithLabelValues(k)
	}
	return m
}
