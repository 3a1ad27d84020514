package main

import (
	"context"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// reminderHooks are what the reminders add to the command service.
type reminderHooks struct {
	Extra     []commands.Command
	OnProtect func(ctx context.Context, actor commands.Actor, res *commands.ProtectOutcome) error
}

// reminderRuntime is the reminders' state kept on the App.
type reminderRuntime struct {
	scheduler *reminders.Scheduler
}

// setupReminders builds the reminders (tracker, sync, scheduler) once the
// database and the wiki session exist, before the command service. With
// [reminders] disabled it adds nothing.
func (a *App) setupReminders() (reminderHooks, error) {
	rc := a.cfg.Reminders
	if rc.Disabled {
		return reminderHooks{}, nil
	}
	leads := make([]time.Duration, len(rc.LeadTimes))
	for i, d := range rc.LeadTimes {
		leads[i] = d.Duration
	}
	var wikis []reminders.Wiki
	for _, w := range a.cfg.Farm() {
		rw := reminders.Wiki{Name: w.Name, Client: a.wiki(w.Name).Client, Namespaces: rc.Namespaces, Pages: rc.Pages,
			Channels: a.reminderChannelsFor(w.Name)}
		if w.Reminders != nil {
			rw.Namespaces, rw.Pages = w.Reminders.Namespaces, w.Reminders.Pages
		}
		wikis = append(wikis, rw)
	}
	s, err := reminders.New(reminders.Config{
		Store:        a.db,
		Wikis:        wikis,
		Channels:     a.reminderChannels,
		LeadTimes:    leads,
		SyncInterval: rc.SyncInterval.Duration,
		Replicas:     a.reminderReplicas(),
		Now:          a.now,
		Logger:       a.log.With("component", "reminders"),
		Metrics:      reminders.NewMetrics(a.metrics.Registerer()),
		PlatformTitle: func(name string) i18n.Message {
			if p, ok := platformByName(name); ok {
				return p.info.Title
			}
			return i18n.Raw(name)
		},
		ChannelsOf: func(name string) bool {
			p, ok := platformByName(name)
			return !ok || p.channels
		},
	})
	if err != nil {
		return reminderHooks{}, err
	}
	a.rem = &reminderRuntime{scheduler: s}
	a.closers = append(a.closers, s.Close)
	return reminderHooks{Extra: s.Commands(), OnProtect: s.OnProtect}, nil
}

// reminderChannels names each notice channel, so that a reminder that
// reached Slack but not Discord is retried on Discord alone. It reads
// a.notifiers when it posts: the adapters are added after setupReminders.
func (a *App) reminderChannels() []reminders.Channel {
	out := make([]reminders.Channel, 0, len(a.notifiers))
	for i, n := range a.notifiers {
		name := fmt.Sprintf("notifier-%d", i)
		if named, ok := n.(interface{ Name() string }); ok {
			name = named.Name()
		}
		out = append(out, reminders.Channel{Name: name, Notify: n.Notify})
	}
	return out
}

// reminderChannelsFor returns the notice channels of one wiki: each
// adapter's, with the notice marked as the wiki's, so that the adapter
// posts it to the wiki's own channel (notice_channels in [wikis.NAME]) or
// its default one.
func (a *App) reminderChannelsFor(wiki string) func() []reminders.Channel {
	return func() []reminders.Channel {
		all := a.reminderChannels()
		for i, c := range all {
			notify := c.Notify
			all[i].Notify = func(ctx context.Context, r commands.Reply) error {
				r.Wiki = wiki
				return notify(ctx, r)
			}
		}
		return all
	}
}

// startReminders starts the scheduler in the background; it stops when ctx
// is done and Close waits for it. Without a notice channel to post to, the
// reminders are still tracked (and /expiring lists them) but none is sent:
// they wait in the database until wikimod runs with one.
func (a *App) startReminders(ctx context.Context) error {
	if a.rem == nil {
		return nil
	}
	if len(a.notifiers) == 0 {
		a.log.Warn("reminders: no adapter posts notices (set notice_channel in [discord] or [slack]); reminders are kept but not sent")
		return nil
	}
	return a.rem.scheduler.Start(ctx)
}

// reminderReplicas is how the reminders share their work with replicas:
// only where the database is shared.
func (a *App) reminderReplicas() *reminders.Replicas {
	if !a.shared() {
		return nil
	}
	return &reminders.Replicas{Store: a.db, Instance: a.instance}
}
