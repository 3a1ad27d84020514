package main

import (
	"errors"

	"github.com/wikimod/wikimod/bot"
)

// slackAdapter builds the Slack adapter when [slack] mode is set.
func slackAdapter(a *App) (bot.Adapter, error) {
	if a.cfg.Slack.Mode == "" {
		return nil, nil
	}
	return nil, errors.New("slack: not available in this build yet")
}
