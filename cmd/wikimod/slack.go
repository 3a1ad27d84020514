package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/wikimod/wikimod/bot"
	wikislack "github.com/wikimod/wikimod/bot/slack"
)

// slackAdapter builds the Slack adapter when [slack] mode is set. Refused
// requests (bad or missing signatures, replays) are counted in the
// database and the metrics; replayed ones are recognised through the
// database, across restarts.
func slackAdapter(a *App) (bot.Adapter, error) {
	c := a.cfg.Slack
	if c.Mode == "" {
		return nil, nil
	}
	log := a.log.With("component", "slack")
	a.metrics.InitSecurity(wikislack.PlatformName, wikislack.RefusalKinds...)
	ad, err := wikislack.New(wikislack.Config{
		Mode:               c.Mode,
		SigningSecret:      c.SigningSecret,
		BotToken:           c.BotToken,
		AppToken:           c.AppToken,
		NoticeChannel:      c.NoticeChannel,
		WikiNoticeChannels: a.cfg.noticeChannels("slack"),
		APIURL:             c.APIURL,
		UserGroups:         usesSlackUserGroups(a.cfg),
		Service:            a.service,
		Metrics:            wikislack.NewMetrics(a.metrics.Registerer()),
		Timeout:            a.cfg.Commands.Timeout.Duration,
		Replays:            a.db,
		OnSecurityEvent:    a.recordRefusal(wikislack.PlatformName),
		Now:                a.now,
		Logger:             log,
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
		for _, id := range r.Identities {
			if id.Platform == wikislack.PlatformName && len(id.Groups) > 0 {
				return true
			}
		}
	}
	return false
}

// cmdSlack runs "wikimod slack manifest": it prints the Slack app manifest
// for the configured commands (those of the config's linking and
// reminders), with the public host name given.
func cmdSlack(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "manifest" {
		return errors.New("slack: usage: wikimod slack manifest -config FILE [-host HOST]")
	}
	fs, path := newFlags("slack manifest", stderr)
	host := fs.String("host", "", "the public host name Slack reaches wikimod at (default: a placeholder to replace)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	app, err := openApp(*path, stderr)
	if err != nil {
		return err
	}
	defer app.Close()
	_, err = fmt.Fprint(stdout, wikislack.Manifest(app.service.Specs(), *host))
	return err
}
