package slack_test

import (
	"strings"
	"testing"

	"github.com/wikimod/wikimod/bot"
	wikislack "github.com/wikimod/wikimod/bot/slack"
)

// TestNewMetricsStartAtZero: the Slack adapter's metric is served under its
// name and help text, with a series at zero for each kind of request,
// before the first one.
func TestNewMetricsStartAtZero(t *testing.T) {
	m := bot.NewMetrics()
	sm := wikislack.NewMetrics(m.Registerer())
	var b strings.Builder
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"# HELP wikimod_slack_ack_seconds Time from receiving a Slack request to acknowledging it, by kind.",
		"# TYPE wikimod_slack_ack_seconds histogram",
		`wikimod_slack_ack_seconds_count{kind="command"} 0`,
		`wikimod_slack_ack_seconds_count{kind="interaction"} 0`,
		`wikimod_slack_ack_seconds_bucket{kind="command",le="0.005"} 0`,
		`wikimod_slack_ack_seconds_bucket{kind="command",le="30"} 0`,
		`wikimod_slack_ack_seconds_bucket{kind="command",le="+Inf"} 0`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := strings.Count(text, "\nwikimod_slack_ack_seconds_bucket{"); n != 2*13 {
		t.Errorf("%d buckets at zero, want 13 for each of 2 kinds", n)
	}
	sm.AckSeconds.WithLabelValues("command").Observe(0.02)
	if v := m.Value("wikimod_slack_ack_seconds", "kind", "command"); v != 1 {
		t.Errorf("acknowledgements = %v, want 1", v)
	}
}
