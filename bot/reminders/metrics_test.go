package reminders_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/mw"
)

// TestMetricsStartAtZero: the reminders' metrics are served under their
// names and help texts from the start, at zero for each kind of message and
// outcome of a send, and for the syncs of the first 20 wikis (a farm's
// thousand wikis would otherwise start with two thousand empty series).
func TestMetricsStartAtZero(t *testing.T) {
	m := bot.NewMetrics()
	rm := reminders.NewMetrics(m.Registerer())
	var wikis []reminders.Wiki
	for i := range 25 {
		c, err := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php"})
		if err != nil {
			t.Fatal(err)
		}
		wikis = append(wikis, reminders.Wiki{Name: fmt.Sprintf("wiki%02d", i), Client: c})
	}
	cfg := reminders.Config{Store: tempStore(t), Wikis: wikis, Metrics: rm}
	for range 2 { // two schedulers may share the metrics
		s, err := reminders.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	var b strings.Builder
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"# HELP wikimod_reminder_messages_total Reminder messages posted, by kind (single or digest).",
		"# TYPE wikimod_reminder_messages_total counter",
		`wikimod_reminder_messages_total{kind="digest"} 0`,
		`wikimod_reminder_messages_total{kind="single"} 0`,
		"# HELP wikimod_reminder_send_failures_total Reminder messages that could not be posted, by outcome (retry or gave-up).",
		"# TYPE wikimod_reminder_send_failures_total counter",
		`wikimod_reminder_send_failures_total{outcome="gave-up"} 0`,
		`wikimod_reminder_send_failures_total{outcome="retry"} 0`,
		"# HELP wikimod_reminder_syncs_total Protect log syncs, by wiki and outcome.",
		"# TYPE wikimod_reminder_syncs_total counter",
		`wikimod_reminder_syncs_total{outcome="failed",wiki="wiki00"} 0`,
		`wikimod_reminder_syncs_total{outcome="ok",wiki="wiki19"} 0`,
		"# HELP wikimod_reminder_tick_duration_seconds Time for one reminder tick, sends included.",
		"# TYPE wikimod_reminder_tick_duration_seconds histogram",
		`wikimod_reminder_tick_duration_seconds_bucket{le="0.005"} 0`,
		`wikimod_reminder_tick_duration_seconds_bucket{le="30"} 0`,
		"wikimod_reminder_tick_duration_seconds_count 0",
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if n := strings.Count(text, "\nwikimod_reminder_syncs_total{"); n != 2*20 {
		t.Errorf("%d sync series at zero, want ok and failed for each of the first 20 wikis", n)
	}
	if strings.Contains(text, `wiki="wiki20"`) {
		t.Error("the 21st wiki's syncs are at zero from the start")
	}
}
