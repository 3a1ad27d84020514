package reminders

import (
	"time"

	"github.com/wikimod/wikimod/commands"
)

// The rows the reminders keep, their store and the rules both backends
// write them by are the domain's (commands), which the storage backends
// import alone of wikimod's. The names below keep the scheduler's code
// and its tests reading as they did.

// Store keeps what the reminders track; see commands.ReminderStore.
type Store = commands.ReminderStore

// ErrNotFound is what a Store returns (or wraps) for a reminder that does
// not exist (any more).
var ErrNotFound = commands.ErrNoReminder

// The statuses of a reminder.
const (
	StatusPending    = commands.ReminderPending
	StatusClaimed    = commands.ReminderClaimed
	StatusSent       = commands.ReminderSent
	StatusFailed     = commands.ReminderFailed
	StatusCancelled  = commands.ReminderCancelled
	StatusDismissed  = commands.ReminderDismissed
	StatusSuperseded = commands.ReminderSuperseded
)

// The reminders' rows and plans; see their definitions in commands.
type (
	TrackedProtection = commands.TrackedProtection
	Reminder          = commands.Reminder
	ReminderGroup     = commands.ReminderGroup
	ReconcileResult   = commands.ReconcileResult
	Backoff           = commands.ReminderBackoff
)

// ScheduleReminders returns the reminders an expiry gets; see
// commands.ScheduleReminders.
func ScheduleReminders(expiry time.Time, leads []time.Duration, now time.Time) []commands.ReminderSlot {
	return commands.ScheduleReminders(expiry, leads, now)
}

// PlanPage plans how the tracked protections of a page of a wiki are made
// to match want; see commands.PlanPage.
func PlanPage(wiki, title string, tracked, want []TrackedProtection, leads []time.Duration, now time.Time) commands.PagePlan {
	return commands.PlanPage(wiki, title, tracked, want, leads, now)
}

// GroupReminders groups claimed reminders into the messages they make; see
// commands.GroupReminders.
func GroupReminders(rs []Reminder) []ReminderGroup { return commands.GroupReminders(rs) }
