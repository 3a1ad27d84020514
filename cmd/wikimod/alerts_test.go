package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/alerts"
)

// TestAlertsConfig: [alerts] sets every wiki's rules, a wiki's own
// [wikis.NAME.alerts] keys override them one by one (enabled = false turns
// that wiki's off), keys left out keep the defaults, abuse_hits = 0 turns
// the AbuseFilter rule off; mistakes name their key.
func TestAlertsConfig(t *testing.T) {
	base := `[wikis.en]
api_url = "http://127.0.0.1:1/api.php"
bot_user = "Admin@wikimod"
bot_password = "x"
[wikis.de]
api_url = "http://127.0.0.1:2/api.php"
bot_user = "Admin@wikimod"
bot_password = "x"
[wikis.fr]
api_url = "http://127.0.0.1:3/api.php"
bot_user = "Admin@wikimod"
bot_password = "x"
`
	cfg, err := ParseConfig(base+`
[alerts]
interval = "30s"
window = "10m"
abuse_hits = 0
suggested_expiry = "12h"

[wikis.en.alerts]
min_reverts = 4
abuse_hits = 5

[wikis.de.alerts]
enabled = false
`, "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Alerts.Interval.Duration != 30*time.Second {
		t.Errorf("interval %s", cfg.Alerts.Interval)
	}
	want := map[string]alerts.Rules{
		"en": {Window: 10 * time.Minute, MinReverts: 4, AbuseHits: 5, SuggestExpiry: 12 * time.Hour},
		"fr": {Window: 10 * time.Minute, AbuseHits: -1, SuggestExpiry: 12 * time.Hour},
	}
	for _, w := range cfg.Farm() {
		r := cfg.Alerts.AlertRules.over(w.Alerts)
		if w.Name == "de" {
			if r.enabled() {
				t.Error("de's alerts are on")
			}
			continue
		}
		if !r.enabled() || r.rules() != want[w.Name] {
			t.Errorf("%s: enabled %v, rules %+v, want %+v", w.Name, r.enabled(), r.rules(), want[w.Name])
		}
	}

	one := `[wiki]
api_url = "http://127.0.0.1:1/api.php"
bot_user = "Admin@wikimod"
bot_password = "x"
`
	for _, c := range []struct{ text, want string }{
		{one + "[alerts]\ninterval = \"1s\"\n", "alerts.interval 1s is shorter than 10 seconds"},
		{one + "[alerts]\nmin_reverts = 3\nmin_editors = 4\n", "wiki.alerts: min_editors 4 is more than min_reverts 3"},
		{one + "[alerts]\ncolour = \"red\"\n", "unknown key alerts.colour"},
		{one + "[wiki.alerts]\nabuse_hits = -2\n", "wiki.alerts.abuse_hits -2"},
		{one + "[wiki.alerts]\nmin_reverts = 0\n", "wiki.alerts.min_reverts 0"},
		{one + "[alerts]\nwindow = \"10ms\"\n", "alerts.window 10ms"},
		{one + "[alerts]\nsuggested_level = \"\"\n", "alerts.suggested_level is empty"},
		{one + "[alerts]\nsuggested_expiry = \"1s\"\n", "alerts.suggested_expiry 1s"},
		{base + "[wikis.en.alerts]\nmin_editors = 5\n", "wikis.en.alerts: min_editors 5 is more than min_reverts 3"},
	} {
		if _, err := ParseConfig(c.text, "test.toml"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config error = %v, want it to mention %q", err, c.want)
		}
	}
}

// TestAlertsAreWiredIn: with the alerts on (the default), the bot follows
// its wiki and offers the command the alerts' buttons run; its follower
// reads the real wiki. With enabled = false it does neither.
func TestAlertsAreWiredIn(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(cfg, AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, ok := app.service.Spec("alert"); !ok || app.alerts == nil {
		t.Fatalf("alerts on: command %v, follower %v", ok, app.alerts != nil)
	}
	if err := app.alerts.Poll(context.Background(), "default"); err != nil {
		t.Errorf("a poll of the wiki: %v", err)
	}

	cfg, err = LoadConfig(writeConfig(t, "[alerts]\nenabled = false\n"))
	if err != nil {
		t.Fatal(err)
	}
	off, err := NewApp(cfg, AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if _, ok := off.service.Spec("alert"); ok || off.alerts != nil {
		t.Errorf("alerts off: command %v, follower %v", ok, off.alerts != nil)
	}
}
