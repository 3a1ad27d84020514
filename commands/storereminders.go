package commands

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"
)

// The reminders' rows and the rules every backend writes them by: the
// scheduler (bot/reminders) decides what to track and sends the messages,
// and each backend keeps the rows in one transaction per page, planned by
// PlanPage, so the plan lives here, beside the rows, where both reach it.

// ReminderStore keeps what the reminders track, on every wiki of a farm: the
// finite protections, one per wiki, page and protection type; a reminder
// row for each message to send about one's expiry; and named values per
// wiki, such as each wiki's sync cursor. Both backends of Store keep them.
//
// The policy is the reminders' own, in Go: which reminders an expiry gets
// and when (PlanPage), when a failed send is tried again
// (ReminderBackoff.Retry), which reminders make one message
// (GroupReminders). A ReminderStore reads and writes: ReconcilePage writes
// what PlanPage plans from what it read, and RetryLater what
// ReminderBackoff.Retry says. What a store keeps to itself is the
// bookkeeping of claims, which must be atomic: a reminder is claimed by one
// tick, and once one about an expiry is claimed or sent, those about the
// same expiry that were due earlier are superseded (ClaimDue, MarkSent).
//
// A reminder's wiki is its protection's. Methods given a wiki act on that
// wiki's rows only; "" means every wiki where a method says so.
type ReminderStore interface {
	// ReconcilePage makes the tracked protections of one page of a wiki
	// match want, the page's finite protections as the wiki has them now,
	// and returns what changed. It reads the page's tracked protections
	// and writes the plan PlanPage makes of them, in one transaction.
	ReconcilePage(ctx context.Context, wiki, title string, want []TrackedProtection, leads []time.Duration, now time.Time) (ReconcileResult, error)
	// PageProtections returns the tracked protections of a page of a
	// wiki, in the order of their types.
	PageProtections(ctx context.Context, wiki, title string) ([]TrackedProtection, error)
	// ExpiringProtections returns the tracked protections of a wiki (of
	// every wiki when wiki is "") that expire after from and no later than
	// until, soonest first (then by wiki, title and type), at most limit of
	// them, with Dismissed and NextReminder filled in, and how many there
	// are in all.
	ExpiringProtections(ctx context.Context, wiki string, from, until time.Time, limit int) ([]TrackedProtection, int, error)
	// Reminder returns one reminder with its protection, or an error
	// matching ErrNoReminder and ErrNotFound.
	Reminder(ctx context.Context, id int64) (Reminder, error)
	// DismissReminders marks dismissed, by by, the pending reminders about
	// the expiry reminder id is about: those of every protection of its
	// page, on its wiki, that expires then. It returns the reminder and
	// how many it dismissed, or an error matching ErrNoReminder and
	// ErrNotFound.
	DismissReminders(ctx context.Context, id int64, by string, now time.Time) (Reminder, int, error)

	// ClaimDue claims for the tick identified by claim every pending
	// reminder, on every wiki, whose next attempt is due at now, and
	// returns how many it claimed. Of several claimed about one expiry of
	// a protection (after downtime), only the one closest to the expiry
	// stays claimed; the others are marked superseded and not counted.
	ClaimDue(ctx context.Context, now time.Time, claim int64) (int, error)
	// ClaimedReminders returns the reminders claim holds, on every wiki,
	// each with its protection, in no particular order.
	ClaimedReminders(ctx context.Context, claim int64) ([]Reminder, error)
	// MarkSent marks delivered the reminders of claim on wiki (every wiki
	// when wiki is "") with the given ids (nil: all of them), and
	// releases them. Pending reminders about the same expiries that were
	// meant to go out earlier are superseded: the moderators have heard.
	MarkSent(ctx context.Context, claim int64, wiki string, ids []int64, now time.Time) error
	// RetryLater releases the reminders of claim on wiki (every wiki when
	// wiki is "") with the given ids (nil: all of them) after a failed
	// send: each counts one more failure and becomes what b.Retry says,
	// pending until its next attempt or failed for good. It records
	// sendErr and the channels the send did reach, and returns how many
	// failed for good.
	RetryLater(ctx context.Context, claim int64, wiki string, ids []int64, now time.Time, b ReminderBackoff, sendErr string, delivered []string) (int, error)
	// ReleaseClaim puts every reminder claim still holds back as pending,
	// unchanged.
	ReleaseClaim(ctx context.Context, claim int64) error
	// RecoverClaimed puts every claimed reminder back as pending, marked
	// Recovered, for a process that stopped while sending them, and
	// returns how many.
	RecoverClaimed(ctx context.Context) (int, error)

	// PruneProtections forgets the protections, on every wiki, that
	// expired before the given time and have no reminder pending or
	// claimed, with their reminders, and returns how many.
	PruneProtections(ctx context.Context, before time.Time) (int, error)
	// ReminderState returns the named value kept about a wiki, "" if it
	// was never set.
	ReminderState(ctx context.Context, wiki, key string) (string, error)
	// SetReminderState sets a named value about a wiki.
	SetReminderState(ctx context.Context, wiki, key, value string) error
}

// ErrNoReminder is what a ReminderStore returns (or wraps) for a reminder
// that does not exist (any more); a store's error matches ErrNotFound
// too (NotFound).
var ErrNoReminder = errors.New("reminders: not found")

// The statuses of a reminder (Reminder.Status).
const (
	ReminderPending    = "pending"    // waiting for its time (or its next attempt)
	ReminderClaimed    = "claimed"    // a tick is sending it
	ReminderSent       = "sent"       // delivered
	ReminderFailed     = "failed"     // every attempt failed
	ReminderCancelled  = "cancelled"  // the protection changed; new reminders replace it
	ReminderDismissed  = "dismissed"  // a moderator dismissed it
	ReminderSuperseded = "superseded" // a reminder closer to the expiry went out instead
)

// TrackedProtection is a finite protection wikimod knows of, to remind the
// moderators before it expires.
type TrackedProtection struct {
	ID int64
	// Wiki names the wiki the page is on (Wiki.Name): the same
	// title on two wikis is two pages.
	Wiki   string
	Title  string
	Type   string // edit, move, create, upload
	Level  string
	Expiry time.Time
	// Length is how long the protection was set for, which an extension
	// adds again; zero if unknown.
	Length  time.Duration
	Cascade bool
	// SetBy names who set it: a chat user's name, or the wiki user's for a
	// protection set on the wiki directly (Platform "wiki").
	SetBy    string
	SetByID  string
	Platform string
	Channel  string // where it was set from
	Reason   string
	URL      string // the page on the wiki
	SetAt    time.Time
	Updated  time.Time

	// Filled in by ExpiringProtections only.
	Dismissed    bool      // a moderator dismissed its reminders
	NextReminder time.Time // zero when none is pending
	// ReminderID names one of its reminders for its current expiry, for
	// `/reminder do=extend id=N` where there are no buttons; zero if none.
	ReminderID int64
}

// Reminder is one message to send about a protection's expiry. Its wiki
// is its protection's (Protection.Wiki).
type Reminder struct {
	ID         int64
	Protection TrackedProtection
	Expiry     time.Time     // the expiry it is about
	Lead       time.Duration // how long before the expiry; 0 at expiry
	RemindAt   time.Time     // when it is meant to go out
	Status     string
	Attempts   int  // failed sends so far
	Recovered  bool // it was being sent when wikimod stopped
	// Delivered names the notice channels it reached on an attempt that
	// failed on another channel; a retry skips them.
	Delivered []string
}

// ReminderGroup is the reminders due together about one page of one wiki:
// each protection type of the page that expires at the same time, at the
// same lead time. One message covers a group; a group never mixes wikis.
type ReminderGroup struct {
	Wiki      string
	Title     string
	Expiry    time.Time
	Lead      time.Duration
	Reminders []Reminder
}

// ReconcileResult counts what reconciling a page changed.
type ReconcileResult struct {
	Added, Changed, Removed, Unchanged int
}

// ReminderBackoff says when to try a failed send again: after Base,
// doubling with each failure up to Max, and not after Attempts failures.
type ReminderBackoff struct {
	Base     time.Duration
	Max      time.Duration
	Attempts int
}

// Retry says what becomes of a reminder whose send failed after failures
// earlier ones: when to try it next (Base after the first failure, twice
// as long after each further one, Max at most), and whether this was its
// last attempt, the b.Attempts-th failure.
func (b ReminderBackoff) Retry(failures int, now time.Time) (next time.Time, gaveUp bool) {
	wait := b.Base
	for i := 0; i < failures && wait < b.Max; i++ {
		if wait > b.Max/2 {
			wait = b.Max // and no overflow
			break
		}
		wait *= 2
	}
	return now.Add(min(wait, b.Max)), failures+1 >= b.Attempts
}

// ReminderSlot is when one reminder about an expiry goes out: Lead before
// it, at At; a Lead of 0 is the reminder at the expiry.
type ReminderSlot struct {
	Lead time.Duration
	At   time.Time
}

// ScheduleReminders returns the reminders an expiry gets: one at the
// expiry, and one at each distinct positive lead time before it, in the
// order given, except those whose time has passed at now: a protection set
// for less than a lead time has no use for that warning.
func ScheduleReminders(expiry time.Time, leads []time.Duration, now time.Time) []ReminderSlot {
	out := make([]ReminderSlot, 0, len(leads)+1)
	out = append(out, ReminderSlot{At: expiry})
	for i, lead := range leads {
		at := expiry.Add(-lead)
		if lead <= 0 || slices.Contains(leads[:i], lead) || at.Before(now) {
			continue
		}
		out = append(out, ReminderSlot{Lead: lead, At: at})
	}
	return out
}

// ScheduledProtection is a protection to write and the reminders to
// schedule about its expiry.
type ScheduledProtection struct {
	Protection TrackedProtection
	Reminders  []ReminderSlot
}

// PagePlan is what reconciling one page's tracked protections writes.
type PagePlan struct {
	// Track are the protections to write, in order, each with its new
	// reminders. One with an ID is tracked already and has changed: its
	// row is updated and its pending reminders cancelled. One without is
	// new.
	Track []ScheduledProtection
	// Drop are the ids of the tracked protections to forget, with their
	// reminders.
	Drop   []int64
	Result ReconcileResult
}

// Empty reports whether the plan writes nothing.
func (p PagePlan) Empty() bool { return len(p.Track) == 0 && len(p.Drop) == 0 }

// PlanPage plans how the tracked protections of a page of a wiki are made
// to match want, its finite protections as the wiki has them now. A
// protection not tracked yet is tracked and its reminders scheduled (see
// ScheduleReminders). One whose level or expiry changed takes want's
// details and fresh reminders; its pending ones are cancelled. An
// unchanged one keeps its details and reminders. One no longer wanted is
// dropped with its reminders, unless it has expired, so that its reminder
// at expiry still goes out. Protections written get the page's wiki and
// title, Updated now, and SetAt now unless they say.
func PlanPage(wiki, title string, tracked, want []TrackedProtection, leads []time.Duration, now time.Time) PagePlan {
	var plan PagePlan
	wanted := make(map[string]bool, len(want))
	for _, w := range want {
		wanted[w.Type] = true
		i := slices.IndexFunc(tracked, func(p TrackedProtection) bool { return p.Type == w.Type })
		switch {
		case i < 0:
			w.ID = 0
			plan.Result.Added++
		case tracked[i].Level == w.Level && tracked[i].Expiry.UnixMilli() == w.Expiry.UnixMilli():
			plan.Result.Unchanged++
			continue
		default:
			w.ID = tracked[i].ID
			plan.Result.Changed++
		}
		w.Wiki, w.Title, w.Updated = wiki, title, now
		if w.SetAt.IsZero() {
			w.SetAt = now
		}
		plan.Track = append(plan.Track, ScheduledProtection{Protection: w, Reminders: ScheduleReminders(w.Expiry, leads, now)})
	}
	for _, p := range tracked {
		if wanted[p.Type] || !p.Expiry.After(now) {
			continue
		}
		plan.Drop = append(plan.Drop, p.ID)
		plan.Result.Removed++
	}
	return plan
}

// GroupReminders groups claimed reminders into the messages they make: one
// per wiki, page, expiry and lead time (see ReminderGroup), soonest expiry
// first, then by wiki, title and lead time, each group's reminders in the
// order of their types. It sorts rs in place.
func GroupReminders(rs []Reminder) []ReminderGroup {
	slices.SortFunc(rs, func(a, b Reminder) int {
		return cmp.Or(a.Expiry.Compare(b.Expiry), cmp.Compare(a.Protection.Wiki, b.Protection.Wiki),
			cmp.Compare(a.Protection.Title, b.Protection.Title), cmp.Compare(a.Lead, b.Lead),
			cmp.Compare(a.Protection.Type, b.Protection.Type), cmp.Compare(a.ID, b.ID))
	})
	var groups []ReminderGroup
	for _, r := range rs {
		if n := len(groups); n > 0 {
			if g := &groups[n-1]; g.Wiki == r.Protection.Wiki && g.Title == r.Protection.Title && g.Expiry.Equal(r.Expiry) && g.Lead == r.Lead {
				g.Reminders = append(g.Reminders, r)
				continue
			}
		}
		groups = append(groups, ReminderGroup{Wiki: r.Protection.Wiki, Title: r.Protection.Title, Expiry: r.Expiry, Lead: r.Lead, Reminders: []Reminder{r}})
	}
	return groups
}
