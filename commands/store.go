package commands

import (
	"context"
	"errors"
	"time"
)

// Store is everything wikimod keeps: the audit log, the replay guard, the
// counts of refused requests, the identity links, Discord's pending
// forms, the reminders, the leases replicas coordinate through, the
// languages chat users chose, the edit-war alerts, the adoption of the
// default wiki's rows, a copy's dump and restore, and the database's own
// upkeep. Two backends keep it: SQLite on one machine (storage.DB) and
// PostgreSQL, which replicas share (storage/postgres.DB).
//
// It is the one contract between wikimod and its database: cmd/wikimod
// wires a Store, each backend asserts that it is one, and
// storage/storagetest runs the same tests against both. A backend imports
// this package alone of wikimod's, so that a PostgreSQL build needs
// neither SQLite's cgo nor a chat SDK: the rows a backend keeps, and the
// rules both backends apply to them, are defined here. The rest of wikimod
// asks for the smaller interfaces this gathers.
type Store interface {
	Auditor
	UnsettledLister
	NoticeStore
	// Audit returns the audit records f selects, newest first.
	Audit(ctx context.Context, f AuditFilter) ([]AuditRecord, error)

	ReplayGuard
	SecuritySink
	// SecurityCounts returns the counts of the minute holding since and of
	// later minutes, newest minute first and the largest counts of a
	// minute first, at most limit of them (0 means 50).
	SecurityCounts(ctx context.Context, since time.Time, limit int) ([]SecurityCount, error)

	LinkStore
	FormStore
	PreferenceStore

	ReminderStore
	// RecoverStaleClaims releases, as RecoverClaimed does, only the
	// reminders claimed before olderThan: those of a replica that died.
	RecoverStaleClaims(ctx context.Context, olderThan time.Time) (int, error)
	// PageReminders returns every reminder of the tracked protections of
	// a page of a wiki, oldest first, for tests and diagnostics.
	PageReminders(ctx context.Context, wiki, title string) ([]Reminder, error)
	// DueReminders counts the pending reminders due at now.
	DueReminders(ctx context.Context, now time.Time) (int, error)

	LeaseStore
	AlertStore
	BatchStore

	// AdoptWiki gives the default wiki's rows (DefaultWiki: those kept
	// while wikimod served one wiki) to the wiki called name, in one
	// transaction. It refuses, wrapping ErrWikiCollision, when name has
	// rows the default wiki's would collide with, and then renames
	// nothing.
	AdoptWiki(ctx context.Context, name string) error
	// Writable checks that the database takes writes now, as the audit
	// log needs; the health endpoint asks it.
	Writable(ctx context.Context) error
	// SchemaVersion returns the highest migration applied.
	SchemaVersion(ctx context.Context) (int, error)

	// Dump reads every durable row in one snapshot and hands them to
	// yield, batch after batch (DumpFunc).
	Dump(ctx context.Context, yield func(DumpBatch) error) error
	// Restore writes what dump hands over into this database, which must
	// be empty (else it wraps ErrNotEmpty), in one transaction.
	Restore(ctx context.Context, dump DumpFunc) error

	Close() error
}

// ReplayGuard remembers the signed requests seen (a Slack request's
// signature, a Discord interaction id) until they could not be accepted
// anyway, so that a request replayed to another replica, or after a
// restart, is refused.
type ReplayGuard interface {
	// FirstSeen records that the request identified by key on platform
	// was seen, until expires, and reports whether this is the first
	// time: false means a replay to refuse.
	FirstSeen(ctx context.Context, platform, key string, expires time.Time) (bool, error)
	// PruneReplays deletes the keys expired at now and returns how many.
	PruneReplays(ctx context.Context, now time.Time) (int64, error)
}

// LeaseStore keeps named leases, which replicas sharing a database take
// in turn: one replica at a time syncs a wiki's protect log, or holds
// Discord's gateway.
type LeaseStore interface {
	// TryLease takes or renews the lease called name for holder until the
	// given time, if it is free, expired at now, or holder's already, and
	// reports whether holder has it. It refuses what ValidateLease
	// refuses.
	TryLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error)
	// ReleaseLease gives up the lease called name if holder holds it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// AuditFilter selects audit records. The zero value selects the newest 50.
type AuditFilter struct {
	Limit    int    // at most this many; 0 means 50
	Platform string // only this platform
	UserID   string // only this user
	Command  string // only this command
	WikiUser string // only this linked wiki account
	// Wiki keeps only the commands for this wiki. The log has no index by
	// wiki (it would cost every command a page write), so a filter on a
	// wiki with few commands reads far back.
	Wiki string
}

// ErrNotFound is what a Store returns (or wraps) for a row that does not
// exist (any more). Where the domain has a sentinel of its own for that
// row (ErrNoReminder, ErrNoAuditRecord), the error matches both: see
// NotFound.
var ErrNotFound = errors.New("storage: not found")

// NotFound returns an error that matches both ErrNotFound and domain, a
// domain's own sentinel such as ErrNoReminder, so that the domain's code
// need not know which store it talks to. Its text is ErrNotFound's.
func NotFound(domain error) error { return notFound{domain} }

// notFound is NotFound's error.
type notFound struct{ domain error }

func (e notFound) Error() string   { return ErrNotFound.Error() }
func (e notFound) Unwrap() []error { return []error{ErrNotFound, e.domain} }

// ErrNotQueued is what Auditor.Start returns (wrapped, naming the record's
// outcome) for a record that is not queued: its command has started
// already, or has ended. Starting it again would run it twice.
var ErrNotQueued = errors.New("storage: audit record is not queued")

// ErrWikiCollision is returned by Store.AdoptWiki when rows of the default
// wiki and of the wiki it was to be renamed to are about the same thing.
var ErrWikiCollision = errors.New("storage: the wiki's rows collide with the default wiki's")
