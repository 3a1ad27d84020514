package commands

import (
	"context"
	"errors"
	"time"
)

// What moves from one database to another (wikimod storage copy) is what
// lasts: the audit log, the identity links, the tracked protections with
// their reminders, the reminders' named values, the counts of refused
// requests, storage_state's marks, the languages chat users chose, and
// the edit-war alerts with their followers' cursors.
// The rows below carry them in a shape neither backend owns, so that
// SQLite and PostgreSQL each dump and restore their own and either can be
// the source or the target. What is short-lived (replay keys, link
// attempts, Discord's pending forms, leases) has no row type: it is not
// copied.

// AuditRow is one record of the audit log, as stored.
type AuditRow struct {
	ID       int64
	Time     time.Time
	Wiki     string
	Platform string
	UserID   string
	UserName string
	WikiUser string
	Channel  string
	Command  string
	// Args is the arguments' JSON, byte for byte as Begin stored it.
	Args    string
	Outcome string
	Code    string
	// Result is the wiki's answer, JSON as stored; nil when there was none
	// (NULL), which is not the same as an empty string.
	Result   *string
	Duration time.Duration // microseconds are kept
	Owner    string
}

// LinkRow is one identity link.
type LinkRow struct {
	Wiki     string
	Platform string
	UserID   string
	WikiUser string
	Method   string
	Linked   time.Time
}

// ProtectionRow is one tracked protection.
type ProtectionRow struct {
	ID       int64
	Wiki     string
	Title    string
	Type     string
	Level    string
	Expiry   time.Time
	Length   time.Duration // milliseconds are kept
	Cascade  bool
	SetBy    string
	SetByID  string
	Platform string
	Channel  string
	Reason   string
	URL      string
	SetAt    time.Time
	Updated  time.Time
}

// ReminderRow is one reminder, every column of it, so that a reminder
// claimed, retried or done when it was copied is so in the copy.
type ReminderRow struct {
	ID           int64
	ProtectionID int64
	Expiry       time.Time
	Lead         time.Duration // milliseconds are kept
	RemindAt     time.Time
	Next         time.Time
	Status       string
	Attempts     int
	Claim        int64     // the tick holding it while claimed; 0 for none (no tick is 0)
	ClaimedAt    time.Time // zero for none
	Recovered    bool
	LastError    string
	Delivered    []string
	DoneAt       time.Time // zero for none
	DoneBy       string
}

// ReminderStateRow is one of the reminders' named values about a wiki,
// such as its protect log sync's cursor.
type ReminderStateRow struct {
	Wiki  string
	Key   string
	Value string
}

// SecurityRow is the count of one minute's refused requests of a kind
// from a source.
type SecurityRow struct {
	Minute   time.Time
	Platform string
	Kind     string
	Source   string
	Count    int64
	Detail   string
}

// StorageStateRow is one number the storage keeps about itself, such as
// how far AdoptWiki has read the audit log. Audit ids are copied as they
// are, so the number stays true in the copy.
type StorageStateRow struct {
	Key   string
	Value int64
}

// LanguageRow is the language a chat user chose (PreferenceStore), and
// when they last chose it.
type LanguageRow struct {
	Platform string
	UserID   string
	Lang     string
	Updated  time.Time
}

// DumpBatch is some rows, as Dump hands them over and Restore writes them.
// Dump fills one of its slices at a time, at most DumpBatchRows rows, and
// hands the tables over in the order of the fields, protections before
// the reminders that refer to them. Restore writes every slice of a batch,
// in the same order.
type DumpBatch struct {
	Audit          []AuditRow
	Links          []LinkRow
	Protections    []ProtectionRow
	Reminders      []ReminderRow
	ReminderState  []ReminderStateRow
	SecurityCounts []SecurityRow
	StorageState   []StorageStateRow
	Languages      []LanguageRow
	Alerts         []Alert
	AlertCursors   []AlertCursorRow
}

// Rows returns how many rows of each table b holds, in DumpedTables' order:
// what a copy reports per table.
func (b DumpBatch) Rows() []int {
	return []int{len(b.Audit), len(b.Links), len(b.Protections), len(b.Reminders), len(b.ReminderState),
		len(b.SecurityCounts), len(b.StorageState), len(b.Languages), len(b.Alerts), len(b.AlertCursors)}
}

// DumpBatchRows bounds the rows of a DumpBatch: a log of millions of
// records is streamed a batch at a time, never held whole.
const DumpBatchRows = 2000

// DumpFunc is a backend's Dump: it reads every durable row in one snapshot
// and hands them to yield, batch after batch, stopping at yield's first
// error. A target's Restore takes the source's Dump.
type DumpFunc func(ctx context.Context, yield func(DumpBatch) error) error

// ErrNotEmpty is returned (wrapped, naming the tables) by Restore when the
// target already holds rows in a table it would write: a copy never merges.
var ErrNotEmpty = errors.New("the target database is not empty")

// DumpedTables names the tables Dump reads and Restore writes, in
// DumpBatch's order. The same names are used by both backends.
var DumpedTables = []string{"audit", "links", "protections", "reminders", "reminder_state", "security_counts", "storage_state", "languages",
	"alerts", "alert_cursors"}

// WikiTable is a table whose rows belong to a wiki, and the columns that,
// besides the wiki, make a row unique.
type WikiTable struct {
	Name string
	Key  []string
}

// WikiTables are the tables whose rows belong to a wiki, besides the audit
// log (adopted on its own, from AdoptedAuditKey on): what Store.AdoptWiki
// renames, and checks for collisions first. A reminder's wiki is its
// protection's: protections keep their ids, so their reminders follow
// them. Every backend has these tables.
var WikiTables = []WikiTable{
	{"links", []string{"platform", "user_id"}},
	{"link_attempts", []string{"platform", "user_id"}},
	{"protections", []string{"title", "type"}},
	{"reminder_state", []string{"key"}},
	{"alerts", []string{"title", "started"}},
	{"alert_cursors", []string{"stream"}},
}

// AdoptedAuditKey names, in storage_state, the highest audit id below which
// no record is the default wiki's any more: Store.AdoptWiki reads only the
// audit records after it.
const AdoptedAuditKey = "adopted-audit-id"
