package main

import (
	"context"

	"github.com/wikimod/wikimod/bot"
	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/storage"
)

// slackAdapter builds the Slack adapter when [slack] mode is set. Refused
// requests (bad or missing signatures) go to the database's security events
// and to the metrics; the adapter is closed with the App, before the
// database, so replies in flight are delivered and audited.
func slackAdapter(a *App) (bot.Adapter, error) {
	c := a.cfg.Slack
	if c.Mode == "" {
		return nil, nil
	}
	log := a.log.With("component", "slack")
	ad, err := wikislack.New(wikislack.Config{
		Mode:          c.Mode,
		SigningSecret: c.SigningSecret,
		BotToken:      c.BotToken,
		AppToken:      c.AppToken,
		NoticeChannel: c.NoticeChannel,
		APIURL:        c.APIURL,
		UserGroups:    usesSlackUserGroups(a.cfg),
		Service:       a.service,
		Metrics:       a.metrics,
		Timeout:       a.cfg.Commands.Timeout.Duration,
		OnSecurityEvent: func(ctx context.Context, kind, remote, detail string) {
			a.metrics.SecurityEvent(commands.PlatformSlack, kind)
			ev := storage.SecurityEvent{Platform: commands.PlatformSlack, Kind: kind, Remote: remote, Detail: detail}
			if err := a.db.RecordSecurityEvent(ctx, ev); err != nil {
				log.Error("cannot record a security event", "kind", kind, "err", err)
			}
		},
		Now:    a.now,
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, ad.Close)
	return ad, nil
}

// usesSlackUserGroups reports whether any [[access]] rule names Slack user
// groups; only then does the adapter read them from Slack (usergroups.list,
// which needs the usergroups:read scope).
func usesSlackUserGroups(cfg *Config) bool {
	for _, r := range cfg.Access {
		if len(r.SlackUserGroups) > 0 {
			return true
		}
	}
	return false
}
