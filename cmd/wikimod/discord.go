package main

import (
	"context"
	"errors"
	"io"

	"github.com/wikimod/wikimod/bot"
)

// discordAdapter builds the Discord adapter when [discord] mode is set.
func discordAdapter(a *App) (bot.Adapter, error) {
	if a.cfg.Discord.Mode == "" {
		return nil, nil
	}
	return nil, errors.New("discord: not available in this build yet")
}

// cmdDiscord runs `wikimod discord SUBCOMMAND`.
func cmdDiscord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("discord: not available in this build yet")
}
