package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The edit-war and vandalism alerts' rows and the rules every backend
// writes them by. The follower (bot/alerts) reads each wiki's recent
// changes, decides when a page is in trouble and posts the alert; the
// store keeps what replicas and restarts must agree on: how far each
// wiki's changes were read, and one row per burst of trouble on a page,
// so that a burst is announced once and acted on once, whichever process
// reads the changes or takes the button press.

// AlertStore keeps the alerts of every wiki of a farm. Both backends of
// Store keep it.
type AlertStore interface {
	// AlertCursor returns where the follower stopped reading a stream of a
	// wiki (AlertStreamChanges, AlertStreamAbuseLog), "" when it never
	// read it.
	AlertCursor(ctx context.Context, wiki, stream string) (string, error)
	// SetAlertCursor records where the follower stopped reading a stream
	// of a wiki. It refuses an empty wiki or stream.
	SetAlertCursor(ctx context.Context, wiki, stream, value string) error

	// RaiseAlert records a burst of trouble on a page, in one transaction:
	// when the page's latest alert belongs to the same burst (SameBurst
	// with quiet), that alert takes what a brings (MergeBurst) and is
	// returned with false; otherwise a is inserted as a new alert and
	// returned, with its ID, and true. Of several processes raising the
	// same burst at once, one inserts it and the others find it. It
	// refuses what ValidateAlert refuses.
	RaiseAlert(ctx context.Context, a Alert, quiet time.Duration) (Alert, bool, error)
	// TouchAlert moves an alert's LastSeen to lastSeen when that is
	// later: the burst goes on. An alert that is gone is no error.
	TouchAlert(ctx context.Context, id int64, lastSeen time.Time) error
	// Alert returns one alert, or an error matching ErrNoAlert and
	// ErrNotFound.
	Alert(ctx context.Context, id int64) (Alert, error)
	// OpenAlerts returns the alerts of a wiki whose burst was last seen at
	// since or later, and those not posted yet (not Posted), oldest first,
	// at most MaxOpenAlerts of them: what a follower that takes a wiki
	// over must know of.
	OpenAlerts(ctx context.Context, wiki string, since time.Time) ([]Alert, error)
	// MarkAlertPosted records a post of an alert: the notice channels it
	// has reached (replacing those recorded), one more attempt, and, when
	// done, that it needs no more posting (Posted).
	MarkAlertPosted(ctx context.Context, id int64, delivered []string, done bool, now time.Time) error

	// ClaimAlert takes an alert for act, in one statement: when no action
	// was taken on it, or when the one taken is unfinished (ActDone
	// false) and was claimed before stale (its process died). It returns
	// the alert as it is after, and whether act took it; when it did not,
	// the alert says who did. It refuses what ValidateAlertAction
	// refuses, and an alert that is gone matches ErrNoAlert.
	ClaimAlert(ctx context.Context, id int64, act AlertAction, stale time.Time) (Alert, bool, error)
	// FinishAlert ends the action of claim on an alert: ok records it done
	// with detail (what it did), and the alert keeps it for good; !ok
	// gives the alert back, as if no action had been taken, for another
	// press. It returns the alert as it is after. A claim that is not the
	// alert's any more changes nothing.
	FinishAlert(ctx context.Context, id, claim int64, ok bool, detail string, now time.Time) (Alert, error)

	// PruneAlerts forgets the alerts, on every wiki, whose burst was last
	// seen before the given time and that no action is running on, and
	// returns how many.
	PruneAlerts(ctx context.Context, before time.Time) (int, error)
}

// The streams a follower reads from a wiki, each with its own cursor.
const (
	AlertStreamChanges  = "recentchanges"
	AlertStreamAbuseLog = "abuselog"
)

// The rules an alert is raised by (Alert.Rule).
const (
	AlertRuleReverts = "reverts" // reverted edits by several editors
	AlertRuleAbuse   = "abuse"   // AbuseFilter hits
)

// The actions taken on an alert (AlertAction.Action).
const (
	AlertProtect = "protect"
	AlertDismiss = "dismiss"
)

// MaxAlertNames bounds each list of names an alert keeps (editors,
// reverters, filters): a burst of a hundred accounts needs no hundred
// names in a chat message, and a flood must not grow a row without end.
const MaxAlertNames = 20

// MaxOpenAlerts bounds what OpenAlerts returns.
const MaxOpenAlerts = 100

// ErrNoAlert is what an AlertStore returns (or wraps) for an alert that
// does not exist (any more); a store's error matches ErrNotFound too
// (NotFound).
var ErrNoAlert = errors.New("alerts: not found")

// Alert is one burst of trouble on a page of a wiki, as the follower saw
// it in the wiki's recent changes and abuse log, and what became of it.
// Every field is a column, so that a copy (Dump) keeps an alert as it was.
type Alert struct {
	ID    int64
	Wiki  string
	Title string
	// Started is the wiki's time of the first trouble the burst counts:
	// with Wiki and Title, an alert's key.
	Started time.Time
	// LastSeen is the wiki's time of the latest trouble of the burst: a
	// burst goes on while trouble comes within the quiet time of it.
	LastSeen time.Time
	// Raised is when wikimod raised it, by its own clock.
	Raised time.Time
	// Rule is the rule that raised it (AlertRuleReverts, AlertRuleAbuse).
	Rule string
	// Reverts counts the reverted edits of the burst; Editors are who
	// made them and Reverters who reverted them.
	Reverts   int
	Editors   []string
	Reverters []string
	// AbuseHits counts the AbuseFilter hits on the page; AbuseUsers are
	// who made them, Filters the filters that matched.
	AbuseHits  int
	AbuseUsers []string
	Filters    []string

	// Posted is set once the alert needs no more posting: every notice
	// channel has it, or the attempts ran out. Delivered are the channels
	// it reached; Attempts counts the posts tried.
	Posted    bool
	Delivered []string
	Attempts  int

	// The action a moderator took on it, through one of its buttons: ""
	// while none. ActClaim identifies the press that took it; ActDone is
	// set once the action ended well, ActDetail says what it did.
	Action     string
	ActClaim   int64
	ActedBy    string // the chat identity (Actor.String())
	ActedName  string // a name to show
	ActedAt    time.Time
	ActDone    bool
	ActDetail  string
	ActUpdated time.Time // when the action last changed: claimed, done or given back
}

// AlertAction is a moderator's press of one of an alert's buttons.
type AlertAction struct {
	Action string // AlertProtect or AlertDismiss
	// Claim tells this press from any other, the same person's second
	// press included.
	Claim int64
	By    string // the chat identity (Actor.String())
	Name  string // a name to show
	At    time.Time
}

// AlertCursorRow is one stream's cursor of one wiki, as stored.
type AlertCursorRow struct {
	Wiki   string
	Stream string
	Value  string
}

// SameBurst reports whether trouble first seen at started, on the page of
// latest, belongs to latest's burst: it came within quiet of the burst's
// last trouble (or before it). The rule every backend applies in
// RaiseAlert.
func SameBurst(latest Alert, started time.Time, quiet time.Duration) bool {
	return !started.After(latest.LastSeen.Add(quiet))
}

// MergeBurst returns latest with what a, more trouble of the same burst,
// brings: the burst's span widened to a's, the larger counts, and the
// names of both (MaxAlertNames of each at most). It is what every backend
// writes in RaiseAlert.
func MergeBurst(latest, a Alert) Alert {
	if a.LastSeen.After(latest.LastSeen) {
		latest.LastSeen = a.LastSeen
	}
	latest.Reverts = max(latest.Reverts, a.Reverts)
	latest.AbuseHits = max(latest.AbuseHits, a.AbuseHits)
	latest.Editors = mergeNames(latest.Editors, a.Editors)
	latest.Reverters = mergeNames(latest.Reverters, a.Reverters)
	latest.AbuseUsers = mergeNames(latest.AbuseUsers, a.AbuseUsers)
	latest.Filters = mergeNames(latest.Filters, a.Filters)
	return latest
}

// mergeNames returns a's names followed by those of b it lacks, at most
// MaxAlertNames.
func mergeNames(a, b []string) []string {
	out := slices.Clone(a)
	for _, n := range b {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return capNames(out)
}

func capNames(names []string) []string {
	if len(names) > MaxAlertNames {
		return names[:MaxAlertNames]
	}
	return names
}

// ValidateAlert refuses an alert that does not name its wiki, page and
// rule, or whose burst has no start or ends before it starts, and returns
// it as every backend keeps it: times in UTC to the millisecond (both
// keep milliseconds), lists of MaxAlertNames at most, none nil. The rule
// every store applies in RaiseAlert.
func ValidateAlert(a Alert) (Alert, error) {
	switch {
	case a.Wiki == "" || a.Title == "" || a.Rule == "":
		return a, fmt.Errorf("alert: wiki %q, title %q, rule %q: none may be empty", a.Wiki, a.Title, a.Rule)
	case a.Started.IsZero() || a.LastSeen.Before(a.Started):
		return a, fmt.Errorf("alert on %s %q: burst from %v to %v", a.Wiki, a.Title, a.Started, a.LastSeen)
	case a.Reverts < 0 || a.AbuseHits < 0:
		return a, fmt.Errorf("alert on %s %q: negative counts", a.Wiki, a.Title)
	}
	for _, t := range []*time.Time{&a.Started, &a.LastSeen, &a.Raised} {
		*t = t.UTC().Truncate(time.Millisecond)
	}
	for _, l := range []*[]string{&a.Editors, &a.Reverters, &a.AbuseUsers, &a.Filters} {
		*l = capNames(slices.Clone(*l))
		if *l == nil {
			*l = []string{}
		}
	}
	return a, nil
}

// ValidateAlertAction refuses a press that does not say what it does, who
// did it, its claim and when: the rule every store applies in ClaimAlert.
func ValidateAlertAction(act AlertAction) error {
	if (act.Action != AlertProtect && act.Action != AlertDismiss) || act.Claim == 0 || act.By == "" || act.At.IsZero() {
		return fmt.Errorf("alert action %q by %q, claim %d at %v: needs protect or dismiss, a claim, who and when", act.Action, act.By, act.Claim, act.At)
	}
	return nil
}

// ValidateAlertCursor refuses a cursor that names no wiki or no stream:
// the rule every store applies in SetAlertCursor.
func ValidateAlertCursor(wiki, stream string) error {
	if wiki == "" || stream == "" {
		return fmt.Errorf("alert cursor: wiki %q, stream %q: neither may be empty", wiki, stream)
	}
	return nil
}
