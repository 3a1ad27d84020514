package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/bwmarrin/discordgo"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/bot/discord"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// discordAdapter builds the Discord adapter when [discord] mode is set.
func discordAdapter(a *App) (bot.Adapter, error) {
	c := a.cfg.Discord
	if c.Mode == "" {
		return nil, nil
	}
	a.metrics.InitSecurity(discord.PlatformName, discord.RefusalKinds...)
	ad, err := discord.New(discord.Config{
		Mode:               c.Mode,
		ApplicationID:      c.ApplicationID,
		PublicKey:          c.PublicKey,
		BotToken:           c.BotToken,
		GuildIDs:           c.GuildIDs,
		NoticeChannel:      c.NoticeChannel,
		WikiNoticeChannels: a.cfg.noticeChannels("discord"),
		APIURL:             c.APIURL,
		Service:            a.service,
		Replays:            a.db,
		Forms:              a.db,
		ShardID:            c.ShardID,
		ShardCount:         c.ShardCount,
		Gateway:            a.gatewayLease(),
		OnSecurityEvent:    a.recordRefusal(discord.PlatformName),
		Metrics:            discord.NewMetrics(a.metrics.Registerer()),
		Now:                a.now,
		Logger:             a.log.With("component", "discord"),
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a.closers = append(a.closers, ad.Close)
	return ad, nil
}

// cmdDiscord runs `wikimod discord SUBCOMMAND`.
func cmdDiscord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "register" {
		return errors.New("discord: usage: wikimod discord register -config FILE [-guild ID] [-global] [-print]")
	}
	fs, path := newFlags("discord register", stderr)
	guild := fs.String("guild", "", "register in this server only (default: each server in [discord] guild_ids)")
	global := fs.Bool("global", false, "register globally, in every server the application is in")
	printOnly := fs.Bool("print", false, "print the commands as JSON instead of registering them")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *global && *guild != "" {
		return errors.New("discord register: give -guild or -global, not both")
	}
	app, err := openApp(*path, stderr)
	if err != nil {
		return err
	}
	defer app.Close()
	return app.registerDiscord(ctx, *guild, *global, *printOnly, stdout)
}

// registerDiscord registers the slash commands in the chosen servers, with
// the protection levels of each server's default wiki (the first wiki where
// a server has none), described in English and in every language wikimod
// ships a catalogue for, the levels in that wiki's words.
func (a *App) registerDiscord(ctx context.Context, guild string, global, printOnly bool, w io.Writer) error {
	commandsFor := func(guild string) ([]*discordgo.ApplicationCommand, error) {
		wk := a.wiki(a.cfg.Discord.GuildWikis[guild])
		if wk == nil {
			wk = a.wikis[0]
		}
		site, err := wk.Client.SiteInfo(ctx)
		if err != nil {
			return nil, fmt.Errorf("discord register: reading the protection levels of wiki %s: %w", wk.Name, err)
		}
		return discord.ApplicationCommands(a.service.Specs(), site.Restrictions, a.service.Wikis(), a.discordWords(ctx, wk)), nil
	}
	if printOnly {
		cmds, err := commandsFor(guild)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(cmds)
	}
	c := a.cfg.Discord
	targets := c.GuildIDs
	switch {
	case global:
		targets = []string{""}
	case guild != "":
		targets = []string{guild}
	case len(targets) == 0:
		return errors.New("discord register: [discord] guild_ids is empty: list the servers wikimod serves, or give -guild ID or -global")
	}
	for _, g := range targets {
		cmds, err := commandsFor(g)
		if err != nil {
			return err
		}
		got, err := discord.Register(ctx, discord.RegisterConfig{ApplicationID: c.ApplicationID, BotToken: c.BotToken, GuildID: g, APIURL: c.APIURL}, cmds)
		if err != nil {
			return err
		}
		where := "globally (every server the application is in)"
		if g != "" {
			where = "in server " + g
		}
		fmt.Fprintf(w, "registered %d commands %s:", len(got), where)
		for _, cmd := range got {
			fmt.Fprintf(w, " /%s", cmd.Name)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// discordWords are the languages Discord's commands are registered in:
// English, and each language of the catalogue that Discord has a locale
// for, with wk's words in it.
func (a *App) discordWords(ctx context.Context, wk *commands.Wiki) discord.Words {
	words := discord.Words{English: a.service.Localizer(ctx, wk, "en")}
	for _, lang := range i18n.Default().Languages() {
		if lang != "en" && len(i18n.DiscordLocales(lang)) > 0 {
			words.Others = append(words.Others, a.service.Localizer(ctx, wk, lang))
		}
	}
	return words
}

// gatewayLease lets one replica at a time hold the gateway (or this
// process's shard of it), where the database is shared.
func (a *App) gatewayLease() *discord.GatewayLease {
	if !a.shared() || a.cfg.Discord.Mode != discord.ModeGateway {
		return nil
	}
	return &discord.GatewayLease{Store: a.db, Instance: a.instance}
}
