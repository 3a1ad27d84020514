// Package pgtest runs a throwaway PostgreSQL server for tests, from the
// server programs of Debian's postgresql package: a cluster initialised in
// a temporary folder (in memory, in /dev/shm, where there is one),
// listening only on a Unix socket in that folder (no port to collide with
// another test binary's), with durability turned off for speed. One server serves a whole test binary (see Main); each test
// takes a database of its own (NewDatabase), so that tests are independent
// and can run again with -count=2.
//
// Where PostgreSQL is not installed, the tests that need it skip, saying
// how to install it; with RequireEnv set to 1, as CI sets it, they fail
// instead, so that a CI run cannot pass without them.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// RequireEnv names the environment variable that, set to 1, turns a
// missing PostgreSQL from a reason to skip into a failure.
const RequireEnv = "WIKIMOD_REQUIRE_POSTGRES"

// ErrNotInstalled is returned by Start when PostgreSQL's server programs
// are not on the machine.
var ErrNotInstalled = errors.New("PostgreSQL's server is not installed: run scripts/install-deps.sh, or apt-get install postgresql")

// superuser is the name of the cluster's superuser, whatever the operating
// system user running it, so that every DSN names the same user.
const superuser = "postgres"

// libDir is where Debian installs each PostgreSQL major version's server
// programs, in a folder per version: /usr/lib/postgresql/15/bin. A
// variable so that a test can see what happens where there is none.
var libDir = "/usr/lib/postgresql"

// Server is a running throwaway PostgreSQL server.
type Server struct {
	dir     string   // the temporary folder: the cluster, its socket and its log
	inUse   *os.File // dir's lock file, locked while the Server lives
	version string   // e.g. "PostgreSQL 15.18"
	cmd     *exec.Cmd
	exited  chan struct{} // closed once cmd has exited

	databases atomic.Int64 // databases NewDatabase has made
	closeOnce sync.Once
	closeErr  error
}

// BinDir returns the folder holding the server programs of the newest
// PostgreSQL installed under /usr/lib/postgresql, or an error wrapping
// ErrNotInstalled.
func BinDir() (string, error) {
	entries, err := os.ReadDir(libDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var versions []int
	for _, e := range entries {
		v, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(libDir, e.Name(), "bin", "initdb")); err == nil {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		return "", fmt.Errorf("no %s/*/bin/initdb: %w", libDir, ErrNotInstalled)
	}
	sort.Ints(versions)
	return filepath.Join(libDir, strconv.Itoa(versions[len(versions)-1]), "bin"), nil
}

// Start initialises a cluster in a new temporary folder and starts a
// server on it. PostgreSQL refuses to run as root; run as root, Start
// runs initdb and the server as the postgres user Debian's package
// creates (or nobody, where there is none), and gives it the folder.
// Close stops the server and deletes the folder.
func Start(ctx context.Context) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	// The cluster goes in memory, in /dev/shm, where there is one: a test
	// makes a database, and there that takes a tenth of the time it takes
	// on a disk (25 ms rather than 300 on an ext4 disk mounted with
	// discard).
	root := "/dev/shm"
	dir, err := os.MkdirTemp(root, dirPattern)
	if err != nil {
		root = os.TempDir()
		dir, err = os.MkdirTemp(root, dirPattern)
	}
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, exited: make(chan struct{})}
	if s.inUse, err = lockInUse(dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	sweep(root)
	if err := s.start(ctx, bin, cred); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dirPattern names the Servers' folders, for os.MkdirTemp and sweep.
const dirPattern = "wikimod-pg-"

// inUseName is the file in a Server's folder that the Server holds locked
// (flock) for as long as it lives. The kernel lets the lock go when the
// process dies, however it dies.
const inUseName = "in-use"

// lockInUse creates dir's in-use file and locks it.
func lockInUse(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, inUseName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return f, nil
}

// sweep deletes the folders in root that Servers of test binaries now
// dead left: a binary stopped at its timeout, or killed, runs no Close.
// Its server stopped with it (see Pdeathsig below), but its folder would
// stay, in memory, until the machine restarts. A folder whose in-use file
// nobody holds locked is such a folder; one without the file is being
// made, or is not ours to look into, and stays.
func sweep(root string) {
	dirs, _ := filepath.Glob(filepath.Join(root, dirPattern+"*"))
	for _, dir := range dirs {
		f, err := os.Open(filepath.Join(dir, inUseName))
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(dir)
		}
		f.Close()
	}
}

// serverCredential returns who to run PostgreSQL's programs as: nil for
// the current user, unless that is root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		// No supplementary groups: the server needs none of root's.
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, errors.New("running as root, and neither a postgres nor a nobody user to run PostgreSQL as (initdb refuses root)")
}

func (s *Server) start(ctx context.Context, bin string, cred *syscall.Credential) error {
	if cred != nil {
		if err := os.Chown(s.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("give %s to the server's user: %w", s.dir, err)
		}
	}
	data := filepath.Join(s.dir, "data")
	// Trust authentication: only the socket in a folder readable by the
	// server's user alone (and root) reaches the server.
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", superuser,
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Env = serverEnv()
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}

	logPath := filepath.Join(s.dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// Nothing here must survive a crash: the cluster is thrown away at the
	// end, so fsync and the full-page writes that guard against torn pages
	// are off. listen_addresses is empty: the socket only.
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", s.dir,
		"-c", "listen_addresses=", "-c", "port=5432",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=32MB",
		// Each new database is written to the WAL; checkpoints often
		// keep the WAL, in memory, from growing towards 1 GB.
		"-c", "max_wal_size=64MB", "-c", "min_wal_size=32MB",
		"-c", "log_min_messages=warning", "-c", "log_min_error_statement=panic")
	s.cmd.Env = serverEnv()
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// Its own process group, so that a ^C to the tests reaches the
		// tests, which stop it in Close. Should the test binary die
		// without closing it (killed at its timeout), SIGQUIT is
		// PostgreSQL's immediate shutdown.
		Setpgid:   true,
		Pdeathsig: syscall.SIGQUIT,
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			err = conn.QueryRow(ctx, `SELECT split_part(version(), ' ', 1) || ' ' || current_setting('server_version')`).Scan(&s.version)
			conn.Close(ctx)
			if err != nil {
				return fmt.Errorf("postgres: %w", err)
			}
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited at start-up (%v):\n%s", s.cmd.ProcessState, tail(logPath))
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready: %w:\n%s", err, tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// serverEnv is the environment of PostgreSQL's programs: none of the
// tests' PG* variables, which would point initdb or the server elsewhere.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG=") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

// tail returns the end of the file at path, for an error message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// Version returns the server's version, e.g. "PostgreSQL 15.18".
func (s *Server) Version() string { return s.version }

// DSN returns a connection string for the database called name, as the
// superuser, through the server's socket.
// More settings may be appended, each as " key=value".
func (s *Server) DSN(name string) string {
	return fmt.Sprintf("host=%s port=5432 user=%s dbname=%s sslmode=disable", quote(s.dir), superuser, quote(name))
}

// quote quotes a value of a keyword/value connection string, which a
// space in a temporary folder's path would otherwise end.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// NewDatabase creates an empty database for the test tb, drops it when
// the test ends, and returns its connection string. On a nil Server (Main
// found no PostgreSQL) it skips tb, or fails it when RequireEnv is set.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	if s == nil {
		need(tb)
	}
	name := fmt.Sprintf("test_%d_%s", s.databases.Add(1), nameFrom(tb.Name()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.admin(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends the connections a test left open, rather than
		// failing the drop; the test's own cleanups closed its pools.
		if err := s.admin(ctx, `DROP DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// admin runs one statement in the maintenance database.
func (s *Server) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// nameFrom turns a test's name into a part of a database name, so that a
// database left behind says whose it was: PostgreSQL cuts names at 63
// bytes.
func nameFrom(test string) string {
	n := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(test), "_"), "_")
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return n
}

// Close stops the server (a fast shutdown: open connections are ended)
// and deletes its folder. It is safe to call twice.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-s.exited:
			case <-time.After(15 * time.Second):
				s.cmd.Process.Kill()
				<-s.exited
				s.closeErr = errors.New("pgtest: postgres did not stop within 15 s; killed")
			}
		}
		if err := os.RemoveAll(s.dir); err != nil && s.closeErr == nil {
			s.closeErr = err
		}
		if s.inUse != nil {
			s.inUse.Close() // after the removal: a sweep finds nothing
		}
	})
	return s.closeErr
}

// notInstalled is why Main left its Server nil: the tests that need one
// skip, saying this.
var notInstalled error

// Main starts a server for a test binary, stores it in *s, runs the tests
// and stops the server. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &server)) }
//
// Where PostgreSQL is not installed, *s stays nil and the tests that call
// s.NewDatabase skip, unless RequireEnv is set to 1: then Main fails the
// test binary. Any other failure to start fails it too.
func Main(m *testing.M, s **Server) int {
	start := time.Now()
	srv, err := Start(context.Background())
	if errors.Is(err, ErrNotInstalled) && os.Getenv(RequireEnv) != "1" {
		notInstalled = err
		fmt.Fprintf(os.Stderr, "pgtest: skipping the tests that need PostgreSQL: %v (set %s=1 to fail instead)\n", err, RequireEnv)
		return m.Run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest: these tests need a PostgreSQL server:", err)
		return 1
	}
	defer srv.Close()
	fmt.Printf("pgtest: these tests run against %s (started in %.1f s) at %s\n",
		srv.Version(), time.Since(start).Seconds(), srv.dir)
	*s = srv
	return m.Run()
}

// need skips tb, or fails it under RequireEnv, for want of a server.
func need(tb testing.TB) {
	tb.Helper()
	why := notInstalled
	if why == nil {
		why = errors.New("no server: start one with pgtest.Main from TestMain")
	}
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("pgtest: %v (%s=1)", why, RequireEnv)
	}
	tb.Skipf("pgtest: %v", why)
}
