package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/bot/discord/discordtest"
)

// TestListedMetricsAreThereFromTheStart: every metric the README lists for
// /metrics is served by a bot that has run no command yet (at zero, or
// empty), with Slack and Discord configured, so that a dashboard or an
// alert sees it from the start rather than after its first event; so are
// each platform's kinds of refusal.
func TestListedMetricsAreThereFromTheStart(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start := strings.Index(section, "- `GET /metrics`")
	end := strings.Index(section[start:], "- `GET /debug/pprof/`")
	if start < 0 || end < 0 {
		t.Fatal("the README's /metrics list is not where this test looks for it")
	}
	listed := regexp.MustCompile("`((?:wikimod|go)_[a-z_]+)").FindAllStringSubmatch(section[start:start+end], -1)
	if len(listed) < 10 {
		t.Fatalf("found only %d metrics in the README's list", len(listed))
	}

	api := discordtest.NewServer(t)
	path := discordConfig(t, api, discordtest.NewSigner())
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(text)+`
[slack]
mode = "http"
signing_secret = "metrics-test-secret"
bot_token = "xoxb-metrics"
`)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	_, base, stop := startApp(t, cfg, AppOptions{})
	defer stop()
	_, metrics := get(t, base+"/metrics")
	for _, m := range listed {
		if !strings.Contains(metrics, "# TYPE "+m[1]+" ") {
			t.Errorf("%s is listed in the README but not served before its first event", m[1])
		}
	}
	// Each platform's refusals, at zero.
	for _, want := range []string{
		`wikimod_security_events_total{kind="bad-signature",platform="discord"} 0`,
		`wikimod_security_events_total{kind="dm-command",platform="discord"} 0`,
		`wikimod_security_events_total{kind="missing-signature",platform="discord"} 0`,
		`wikimod_security_events_total{kind="no-member",platform="discord"} 0`,
		`wikimod_security_events_total{kind="rate-limited",platform="discord"} 0`,
		`wikimod_security_events_total{kind="replayed-interaction",platform="discord"} 0`,
		`wikimod_security_events_total{kind="stale-timestamp",platform="discord"} 0`,
		`wikimod_security_events_total{kind="unserved-guild",platform="discord"} 0`,
		`wikimod_security_events_total{kind="bad-signature",platform="slack"} 0`,
		`wikimod_security_events_total{kind="missing-signature",platform="slack"} 0`,
		`wikimod_security_events_total{kind="oversized-request",platform="slack"} 0`,
		`wikimod_security_events_total{kind="rate-limited",platform="slack"} 0`,
		`wikimod_security_events_total{kind="replayed-request",platform="slack"} 0`,
		`wikimod_security_events_total{kind="stale-timestamp",platform="slack"} 0`,
		`wikimod_security_events_total{kind="rate-limited",platform="console"} 0`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}
