package main

import (
	"context"

	"github.com/wikimod/wikimod/commands"
)

// reminderHooks are what the reminders add to the command service.
type reminderHooks struct {
	Extra     []commands.Command
	OnProtect func(ctx context.Context, actor commands.Actor, res *commands.ProtectOutcome) error
}

// reminderRuntime is the reminders' state kept on the App.
type reminderRuntime struct{}

// setupReminders builds the reminders (tracker, sync, scheduler) once the
// database and the wiki session exist, before the command service.
func (a *App) setupReminders() (reminderHooks, error) {
	return reminderHooks{}, nil
}

// startReminders starts the scheduler in the background; it stops when ctx
// is done and Close waits for it.
func (a *App) startReminders(ctx context.Context) error {
	return nil
}
