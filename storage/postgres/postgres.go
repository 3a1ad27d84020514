// Package postgres keeps wikimod's state in PostgreSQL, for an operator
// who runs several wikimod replicas against one database or who keeps
// every service's state there: the audit log, the replay guard, counts of
// refused requests, the links between chat identities and wiki accounts,
// Discord's pending forms, the reminders, and named leases that let one
// replica at a time do a job.
//
// It is a commands.Store, as the SQLite backend (storage.DB) is, and one
// set of contract tests (storage/storagetest) runs against both. It
// imports no other package of wikimod's than the domain (commands), so a
// PostgreSQL build needs neither cgo nor a chat SDK. What is
// policy (defaults, validation, truncation, when to prune) is decided in Go
// here, as there, so that the SQL of each backend only keeps rows.
//
// Several processes may share one database: every write is one statement
// or one transaction that PostgreSQL makes atomic (an INSERT ... ON
// CONFLICT, an UPDATE ... RETURNING), and Open migrates the schema under an
// advisory lock, so that replicas starting at once migrate it once.
//
// Times are timestamptz, truncated in Go to the millisecond, the precision
// the SQLite backend keeps: both backends then give back the same instants,
// and an operator reading the tables in psql reads times, not numbers. They
// come back in UTC.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wikimod/wikimod/commands"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLock is the key of the advisory lock Open holds while it
// migrates: "wikimod" in ASCII. Advisory locks are per database, so
// wikimods sharing a server but not a database do not wait for each other.
const migrateLock int64 = 0x77696b696d6f64

var _ commands.Store = (*DB)(nil)

// DB is an open wikimod database in PostgreSQL: a commands.Store.
type DB struct {
	pool *pgxpool.Pool
	now  func() time.Time

	// lastReplayPrune is when (Unix ms, by the injected clock) FirstSeen
	// last deleted expired replay keys through this DB; zero before the
	// first time. Each replica prunes on its own clock; a prune another
	// has just done costs an index look-up.
	lastReplayPrune atomic.Int64
}

// Options configure Open. The zero value is safe.
type Options struct {
	// Now is the clock used for timestamps the database sets itself and to
	// tell when a replay key has expired. Nil means time.Now.
	Now func() time.Time
}

// Open connects to the database dsn names (a libpq connection string or
// URL; pool settings such as pool_max_conns may be given in it) and brings
// its schema up to date. Neither its errors nor anything else here show
// the DSN, which may hold a password.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("postgres: no DSN")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the DSN with what it recognises as a
		// password masked, which a malformed DSN can defeat.
		return nil, errors.New("postgres: the DSN cannot be parsed (not shown: it may hold a password)")
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		// So that an operator tells wikimod's sessions apart in
		// pg_stat_activity.
		cfg.ConnConfig.RuntimeParams["application_name"] = "wikimod"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	db := &DB{pool: pool, now: opts.Now}
	if db.now == nil {
		db.now = time.Now
	}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database's connections, waiting for those in use to be
// given back. It is safe to call twice; after it, every method returns an
// error.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Writable checks that the database takes a write now, as an audit record
// is written: reachable, a primary rather than a read-only standby, and
// able to commit. It rewrites the heartbeat row with the time and commits,
// which writes and flushes the write-ahead log; an UPDATE that matched no
// row, as it once ran, writes nothing and passed where a commit failed.
// It waits no longer than ctx allows. The health endpoint uses it.
func (db *DB) Writable(ctx context.Context) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: write check: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `INSERT INTO heartbeat (id, beat) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET beat = excluded.beat`, msUTC(db.now())); err != nil {
		return fmt.Errorf("postgres: write check: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: write check: %w", err)
	}
	return nil
}

// migration is one embedded migration.
type migration struct {
	version int
	name    string // the file's name, e.g. 0001_init.sql
	body    string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s: name must start with a number", base)
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version, base, string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies every embedded migration not applied yet, in one
// transaction, and records each in schema_migrations (named and shaped as
// the SQLite backend's). The transaction first takes an advisory lock, so
// that of several wikimods opening a new database at once one migrates
// and the others, once it commits, find nothing left to do. PostgreSQL's
// DDL is transactional: a migration that fails leaves nothing behind.
func (db *DB) migrate(ctx context.Context) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	// Looked for first rather than created IF NOT EXISTS, so that an Open
	// with nothing to migrate writes nothing: it then works on a
	// read-only session too, where Writable says what is wrong.
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE TABLE schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL)`); err != nil {
			return fmt.Errorf("postgres: migrations table: %w", err)
		}
	}
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	done := map[int]bool{}
	for _, v := range applied {
		done[int(v)] = true
	}
	changed := !exists
	for _, m := range all {
		if done[m.version] {
			continue
		}
		if _, err := tx.Exec(ctx, m.body); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`,
			m.version, m.name, msUTC(db.now())); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		changed = true
	}
	if !changed {
		return nil // the deferred rollback lets the lock go
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the highest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int32
	if err := db.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return int(v), nil
}

// msUTC is t as stored: truncated to the millisecond, as the SQLite
// backend keeps times, and in UTC.
func msUTC(t time.Time) time.Time {
	return t.Truncate(time.Millisecond).UTC()
}

// storable makes s fit a text column. PostgreSQL's text holds neither a
// NUL nor bytes that are not UTF-8, and refuses the whole row for one:
// a record of the audit log or a count of refusals must not be lost for a
// byte in a chat name or in what a client sent. Each such byte becomes
// U+FFFD. Strings that fit, nearly all, are returned as they are.
func storable(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
