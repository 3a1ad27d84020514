// Package storage keeps wikimod's state in SQLite: the audit log of every
// command attempt, the replay guard for signed requests, counts of refused
// requests, the reminders, and the links between chat identities and wiki
// accounts. The wikis of a farm share one database: every row about a wiki
// names it, and the same title or chat identity on two wikis is two rows.
// One writer connection with immediate transactions and a busy timeout;
// readers share a separate pool, which WAL lets run beside the writer. The database and its -wal and -shm files are
// readable by their owner only: the audit log names who did what.
package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // the database/sql driver "sqlite3"

	"github.com/wikimod/wikimod/commands"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

var _ commands.Store = (*DB)(nil)

// DB is an open wikimod database: a commands.Store.
type DB struct {
	path  string
	write *sql.DB // one connection: SQLite has one writer
	read  *sql.DB
	now   func() time.Time

	// Statements run for every command or signed request, prepared once
	// at Open: preparing them on each call was an eighth to a sixth of a
	// command's CPU in the database. Those that write are prepared on the
	// writer connection, the link look-ups on the readers. ReconcilePage's,
	// run in a transaction, come from the writer's statement cache instead
	// (openWriter).
	beginStmt       *sql.Stmt
	startStmt       *sql.Stmt
	finishStmt      *sql.Stmt
	firstSeenStmt   *sql.Stmt
	pruneReplayStmt *sql.Stmt

	linkStmt          *sql.Stmt // read
	saveLinkStmt      *sql.Stmt
	deleteLinkStmt    *sql.Stmt
	attemptStmt       *sql.Stmt // read
	saveAttemptStmt   *sql.Stmt
	wrongCodeStmt     *sql.Stmt
	deleteAttemptStmt *sql.Stmt
	pruneAttemptsStmt *sql.Stmt

	languageStmt *sql.Stmt // read

	// lastReplayPrune is when (Unix ms, by the injected clock) FirstSeen
	// last deleted expired replay keys; zero before the first time.
	lastReplayPrune atomic.Int64
}

// Options configure Open. The zero value is safe.
type Options struct {
	// Now is the clock used for timestamps the database sets itself and to
	// tell when a replay key has expired. Nil means time.Now.
	Now func() time.Time
}

// Open opens (creating if needed) the database at path and brings its schema
// up to date. A database it creates is readable by its owner only; an
// existing one keeps its permissions.
func Open(path string, opts Options) (*DB, error) {
	w, err := openWriter(path)
	if err != nil {
		return nil, err
	}
	db := &DB{path: path, write: w, now: opts.Now}
	if db.now == nil {
		db.now = time.Now
	}
	if err := db.migrate(context.Background(), 0); err != nil {
		w.Close()
		return nil, err
	}
	rq := url.Values{}
	rq.Set("_busy_timeout", "5000")
	rq.Set("_query_only", "1")
	r, err := sql.Open("sqlite3", "file:"+path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("storage: open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	db.read = r
	if err := db.prepare(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openWriter creates the database file if needed and opens the single
// writer connection.
func openWriter(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("storage: no database path")
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("storage: create %s: %w", path, err)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	// The driver keeps the statements run by their SQL prepared, so that
	// a transaction runs its statements without preparing them again.
	// database/sql runs one prepared at Open in a transaction only through
	// a copy it allocates for each transaction (Tx.StmtContext).
	q.Set("_stmt_cache_size", "32")
	w, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	return w, nil
}

// createPrivate creates path as an empty file readable and writable by its
// owner only, unless it exists. SQLite would otherwise create it 0644 less
// the umask, readable by every local user; and SQLite gives the -wal and
// -shm files it creates later the database file's permissions, so they are
// private too. An existing file is left as it is: narrowing it is the
// operator's call, and nothing here widens it.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// The umask could narrow 0600 to a mode SQLite cannot write.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// statement is one prepared statement of a DB: where it is kept, the
// connection it runs on, and its SQL.
type statement struct {
	stmt  **sql.Stmt
	conn  *sql.DB
	query string
}

// statements lists every statement prepare prepares and closeStatements
// closes, so that the two cannot disagree.
func (db *DB) statements() []statement {
	return []statement{
		{&db.beginStmt, db.write, beginSQL},
		{&db.startStmt, db.write, startSQL},
		{&db.finishStmt, db.write, finishSQL},
		{&db.firstSeenStmt, db.write, firstSeenSQL},
		{&db.pruneReplayStmt, db.write, pruneReplaysSQL},
		{&db.linkStmt, db.read, linkSQL},
		{&db.saveLinkStmt, db.write, saveLinkSQL},
		{&db.deleteLinkStmt, db.write, deleteLinkSQL},
		{&db.attemptStmt, db.read, linkAttemptSQL},
		{&db.saveAttemptStmt, db.write, saveLinkAttemptSQL},
		{&db.wrongCodeStmt, db.write, addWrongCodeSQL},
		{&db.deleteAttemptStmt, db.write, deleteLinkAttemptSQL},
		{&db.pruneAttemptsStmt, db.write, pruneLinkAttemptsSQL},
		{&db.languageStmt, db.read, languageSQL},
	}
}

// prepare prepares the hot statements, each on its connection. database/sql
// keeps each prepared on the connections it has run on, and prepares it
// again only on a connection it has not met.
func (db *DB) prepare(ctx context.Context) error {
	for _, s := range db.statements() {
		stmt, err := s.conn.PrepareContext(ctx, s.query)
		if err != nil {
			return fmt.Errorf("storage: prepare: %w", err)
		}
		*s.stmt = stmt
	}
	return nil
}

// closeStatements closes the prepared statements; closing one twice is
// harmless.
func (db *DB) closeStatements() error {
	var errs []error
	for _, s := range db.statements() {
		if *s.stmt != nil {
			errs = append(errs, (*s.stmt).Close())
		}
	}
	return errors.Join(errs...)
}

// Close closes the database. It is safe to call twice; after it, every
// method returns an error ("sql: database is closed", or "sql: statement
// is closed" for those with prepared statements).
func (db *DB) Close() error {
	errs := []error{db.closeStatements()}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	return errors.Join(errs...)
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

const (
	// heartbeatSQL rewrites the heartbeat row.
	heartbeatSQL = `INSERT INTO heartbeat (id, beat_ms, beats) VALUES (1, ?, 1)
		ON CONFLICT (id) DO UPDATE SET beat_ms = excluded.beat_ms, beats = heartbeat.beats + 1`
	// minFree is the free space on the database's disk below which it is
	// taken as full: an audit record takes four to a dozen pages of the
	// write-ahead log.
	minFree = 256 << 10
)

// Writable checks that the database takes writes now, as the audit log
// needs. The health endpoint uses it. It rewrites the heartbeat row and
// commits, a page written to the write-ahead log, which a disk gone
// read-only or a file wikimod may not write refuses. And it checks that
// the disk holding the database has room: on a full disk a write still
// succeeds while it fits in the room the log file already has, which an
// audit record that failed there leaves behind, so a one-page heartbeat
// alone would pass where every audit record fails. (Taking the write lock
// and letting it go, as it once did, wrote nothing and passed on a full
// disk that refused every command.)
//
// SQLite waits for another process's write lock for the busy timeout,
// deaf to ctx; the check waits no longer than ctx's deadline allows, so
// that the health endpoint answers in time.
func (db *DB) Writable(ctx context.Context) error {
	if err := db.heartbeat(ctx); err != nil {
		return fmt.Errorf("storage: write check: %w", err)
	}
	dir := filepath.Dir(db.path)
	if free, ok := freeSpace(dir); ok && free < minFree {
		return fmt.Errorf("storage: write check: the disk holding %s is full (%d KiB free)", dir, free>>10)
	}
	return nil
}

// heartbeat rewrites the heartbeat row and commits.
func (db *DB) heartbeat(ctx context.Context) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		restore, err := shortenBusyTimeout(ctx, conn, time.Until(deadline))
		if err != nil {
			return err
		}
		defer restore()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, heartbeatSQL, db.now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// shortenBusyTimeout makes conn wait at most wait for another process's
// lock, if that is shorter than its busy timeout, and returns what puts
// the busy timeout back. Should that fail, the connection is dropped, and
// the pool opens another with the usual busy timeout.
func shortenBusyTimeout(ctx context.Context, conn *sql.Conn, wait time.Duration) (restore func(), err error) {
	var was int64
	if err := conn.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&was); err != nil {
		return nil, err
	}
	ms := max(wait.Milliseconds(), 0)
	if ms >= was {
		return func() {}, nil
	}
	// PRAGMA takes no parameters; both values are numbers.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, ms)); err != nil {
		return nil, err
	}
	return func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA busy_timeout = %d`, was)); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}, nil
}

// migrate applies, each in its own transaction, every embedded migration not
// applied yet (up to version upTo, unless it is zero), and records it.
func (db *DB) migrate(ctx context.Context, upTo int) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("storage: migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("storage: migration %s: name must start with a number", base)
		}
		if upTo > 0 && version > upTo {
			break
		}
		if err := db.applyMigration(ctx, version, base, name); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, version int, base, name string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("storage: migration %s: %w", base, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return fmt.Errorf("storage: migration %s: %w", base, err)
	}
	if n > 0 {
		return nil
	}
	body, err := migrationFS.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("storage: migration %s: %w", base, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)`,
		version, base, db.now().UnixMilli()); err != nil {
		return fmt.Errorf("storage: migration %s: %w", base, err)
	}
	return tx.Commit()
}

// SchemaVersion returns the highest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}
