package main

import (
	"context"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/bot/alerts"
	"github.com/wikimod/wikimod/i18n"
)

// AlertsConfig is the [alerts] section: whether wikimod follows the wikis'
// recent changes for edit wars and vandalism, how often, and the rules of
// every wiki that sets none of its own in [wikis.NAME.alerts].
type AlertsConfig struct {
	AlertRules
	// Interval is how often each wiki's recent changes are read: one
	// request a wiki an interval.
	Interval Duration `toml:"interval"`
}

// AlertRules are the rules of [alerts], and a wiki's own over them in
// [wikis.NAME.alerts] (or [wiki.alerts]): a key left out keeps [alerts]'
// value, and [alerts]' keys left out keep wikimod's defaults.
type AlertRules struct {
	// Enabled turns the alerts off (false) on every wiki, or on one.
	Enabled *bool `toml:"enabled"`
	// Window is how far back trouble counts, and how quiet a burst must
	// be before new trouble is a new alert.
	Window *Duration `toml:"window"`
	// MinReverts reverted edits from MinEditors editors within Window
	// raise an alert.
	MinReverts *int `toml:"min_reverts"`
	MinEditors *int `toml:"min_editors"`
	// AbuseHits AbuseFilter hits on one page within Window raise an alert;
	// 0 turns the rule off.
	AbuseHits *int `toml:"abuse_hits"`
	// SuggestedLevel and SuggestedExpiry are the edit protection suggested
	// for a page never protected.
	SuggestedLevel  *string   `toml:"suggested_level"`
	SuggestedExpiry *Duration `toml:"suggested_expiry"`
}

// over returns r with the keys o sets.
func (r AlertRules) over(o *AlertRules) AlertRules {
	if o == nil {
		return r
	}
	if o.Enabled != nil {
		r.Enabled = o.Enabled
	}
	if o.Window != nil {
		r.Window = o.Window
	}
	if o.MinReverts != nil {
		r.MinReverts = o.MinReverts
	}
	if o.MinEditors != nil {
		r.MinEditors = o.MinEditors
	}
	if o.AbuseHits != nil {
		r.AbuseHits = o.AbuseHits
	}
	if o.SuggestedLevel != nil {
		r.SuggestedLevel = o.SuggestedLevel
	}
	if o.SuggestedExpiry != nil {
		r.SuggestedExpiry = o.SuggestedExpiry
	}
	return r
}

// enabled reports whether rules leave the alerts on: they are unless
// enabled = false.
func (r AlertRules) enabled() bool { return r.Enabled == nil || *r.Enabled }

// rules turns the keys set into the follower's rules; the zero values it
// leaves are the follower's defaults.
func (r AlertRules) rules() alerts.Rules {
	var out alerts.Rules
	if r.Window != nil {
		out.Window = r.Window.Duration
	}
	if r.MinReverts != nil {
		out.MinReverts = *r.MinReverts
	}
	if r.MinEditors != nil {
		out.MinEditors = *r.MinEditors
	}
	if r.AbuseHits != nil {
		out.AbuseHits = *r.AbuseHits
		if out.AbuseHits == 0 {
			out.AbuseHits = -1 // off
		}
	}
	if r.SuggestedLevel != nil {
		out.SuggestLevel = *r.SuggestedLevel
	}
	if r.SuggestedExpiry != nil {
		out.SuggestExpiry = r.SuggestedExpiry.Duration
	}
	return out
}

// validateAlerts checks [alerts] and each wiki's own rules, naming the
// key of each mistake.
func (c *Config) validateAlerts(bad func(format string, a ...any)) {
	if d := c.Alerts.Interval.Duration; d != 0 && d < 10*time.Second {
		bad("alerts.interval %s is shorter than 10 seconds", d)
	}
	check := func(section string, r AlertRules) {
		if r.Window != nil && r.Window.Duration < time.Second {
			bad("%s.window %s is shorter than a second", section, r.Window)
		}
		if r.SuggestedExpiry != nil && r.SuggestedExpiry.Duration < time.Minute {
			bad("%s.suggested_expiry %s is shorter than a minute", section, r.SuggestedExpiry)
		}
		for key, v := range map[string]*int{"min_reverts": r.MinReverts, "min_editors": r.MinEditors} {
			if v != nil && *v < 1 {
				bad("%s.%s %d: use 1 or more", section, key, *v)
			}
		}
		if r.AbuseHits != nil && *r.AbuseHits < 0 {
			bad("%s.abuse_hits %d: use 0 (off) or more", section, *r.AbuseHits)
		}
		if r.SuggestedLevel != nil && *r.SuggestedLevel == "" {
			bad("%s.suggested_level is empty: name a protection level of the wiki, such as autoconfirmed", section)
		}
	}
	check("alerts", c.Alerts.AlertRules)
	for _, w := range c.Farm() {
		section := "wiki.alerts"
		if len(c.Wikis) > 0 {
			section = "wikis." + w.Name + ".alerts"
		}
		if w.Alerts != nil {
			check(section, *w.Alerts)
		}
		r := c.Alerts.AlertRules.over(w.Alerts)
		reverts, editors := alerts.DefaultRules.MinReverts, alerts.DefaultRules.MinEditors
		if r.MinReverts != nil {
			reverts = *r.MinReverts
		}
		if r.MinEditors != nil {
			editors = *r.MinEditors
		}
		if editors > reverts {
			bad("%s: min_editors %d is more than min_reverts %d: no burst could have more editors than reverted edits", section, editors, reverts)
		}
	}
}

// setupAlerts builds the follower of the wikis whose alerts are on, once
// the database and the wiki sessions exist, before the command service:
// it adds the alert command to hooks, and hands the protections its
// buttons set to hooks' OnProtect (the reminders track them). With every
// wiki's alerts off it adds nothing.
func (a *App) setupAlerts(hooks *reminderHooks) error {
	var wikis []alerts.Wiki
	for _, w := range a.cfg.Farm() {
		r := a.cfg.Alerts.AlertRules.over(w.Alerts)
		if !r.enabled() {
			continue
		}
		rules := r.rules()
		// Read with the anonymous session where the wiki has one, so
		// that a wiki no command has used yet is not logged in to.
		cw := a.wiki(w.Name)
		reader := cw.Client
		if cw.Reset != nil && cw.Reset.Anonymous() {
			reader = cw.Reset
		}
		wikis = append(wikis, alerts.Wiki{Name: w.Name, Client: reader, Session: cw.Client, Rules: &rules, Channels: a.alertChannelsFor(w.Name)})
	}
	if len(wikis) == 0 {
		return nil
	}
	var replicas *alerts.Replicas
	if a.shared() {
		replicas = &alerts.Replicas{Store: a.db, Instance: a.instance}
	}
	f, err := alerts.New(alerts.Config{
		Store:     a.db,
		Wikis:     wikis,
		Interval:  a.cfg.Alerts.Interval.Duration,
		Replicas:  replicas,
		OnProtect: hooks.OnProtect,
		PlatformTitle: func(name string) i18n.Message {
			if p, ok := platformByName(name); ok {
				return p.info.Title
			}
			return i18n.Raw(name)
		},
		Now:     a.now,
		Logger:  a.log.With("component", "alerts"),
		Metrics: alerts.NewMetrics(a.metrics.Registerer()),
	})
	if err != nil {
		return fmt.Errorf("config: alerts: %w", err)
	}
	a.alerts = f
	a.closers = append(a.closers, f.Close)
	hooks.Extra = append(hooks.Extra, f.Commands()...)
	return nil
}

// alertChannelsFor returns the notice channels of one wiki, as its
// reminders': each adapter's, with the alert marked as the wiki's. It
// reads the adapters when it posts: they are added after setupAlerts.
func (a *App) alertChannelsFor(wiki string) func() []alerts.Channel {
	reminders := a.reminderChannelsFor(wiki)
	return func() []alerts.Channel {
		var out []alerts.Channel
		for _, c := range reminders() {
			out = append(out, alerts.Channel{Name: c.Name, Notify: c.Notify})
		}
		return out
	}
}

// startAlerts starts following the wikis in the background; it stops when
// ctx is done and Close waits for it. Without a notice channel to post to
// the alerts are still raised and kept, and go out once wikimod runs with
// one.
func (a *App) startAlerts(ctx context.Context) error {
	if a.alerts == nil {
		return nil
	}
	if len(a.notifiers) == 0 {
		a.log.Warn("alerts: no adapter posts notices (set notice_channel in [discord] or [slack]); alerts are raised and kept but not posted")
	}
	return a.alerts.Start(ctx)
}
