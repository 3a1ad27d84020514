package postgres_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/internal/pgtest"
	"github.com/wikimod/wikimod/storage/postgres"
	"github.com/wikimod/wikimod/storage/storagetest"
)

// server is the test binary's PostgreSQL, nil where it is not installed.
var server *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &server)) }

// open opens a handle on dsn, closed when the test ends.
func open(t *testing.T, dsn string, now func() time.Time) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestContract runs the contract every backend keeps against PostgreSQL:
// each test a database of its own on the test binary's server. Each handle
// has at most four connections, fewer than the goroutines of the
// concurrency tests, so that they also wait for connections.
func TestContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Opener {
		dsn := server.NewDatabase(t) + " pool_max_conns=4"
		return func(now func() time.Time) storagetest.Store { return open(t, dsn, now) }
	})
}

// TestMigrationsRaceOnce opens a new database from three goroutines at
// once, as three replicas starting together would: each migration is
// applied once (a second CREATE TABLE would fail the Open that ran it),
// and a later Open changes nothing.
func TestMigrationsRaceOnce(t *testing.T) {
	dsn := server.NewDatabase(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			<-start
			db, err := postgres.Open(ctx, dsn, postgres.Options{})
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	type row struct {
		Version int32
		Name    string
		Xmin    string
	}
	read := func() []row {
		t.Helper()
		rows, err := conn.Query(ctx, `SELECT version, name, xmin::text FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	before := read()
	if len(before) == 0 || before[0].Version != 1 || !strings.HasPrefix(before[0].Name, "0001_") {
		t.Fatalf("schema_migrations = %+v", before)
	}
	for i, r := range before {
		if r.Xmin != before[0].Xmin {
			t.Errorf("migration %d was recorded by transaction %s, migration 1 by %s: want one transaction", r.Version, r.Xmin, before[0].Xmin)
		}
		if i > 0 && r.Version <= before[i-1].Version {
			t.Errorf("versions out of order: %+v", before)
		}
	}
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables); err != nil {
		t.Fatal(err)
	}

	db := open(t, dsn, nil)
	if v, err := db.SchemaVersion(ctx); err != nil || v != int(before[len(before)-1].Version) {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, before[len(before)-1].Version)
	}
	after := read()
	if len(after) != len(before) || after[0] != before[0] {
		t.Errorf("a second Open changed schema_migrations:\n%+v\nto\n%+v", before, after)
	}
	var tablesAfter int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tablesAfter); err != nil || tablesAfter != tables {
		t.Errorf("%d tables after a second Open, %d before (%v)", tablesAfter, tables, err)
	}
}

// TestOpenShowsNoPassword opens with DSNs holding a password, malformed
// and unreachable: no error quotes it.
func TestOpenShowsNoPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const secret = "Sup3r-Secret-pw"
	for _, dsn := range []string{
		"postgres://wikimod:" + secret + "@[::1/wikimod",
		"host=127.0.0.1 port=notaport password=" + secret,
		"postgres://wikimod:" + secret + "@127.0.0.1:1/wikimod?connect_timeout=2",
	} {
		_, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err == nil {
			t.Errorf("Open succeeded with a DSN going nowhere")
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open's error shows the password: %v", err)
		}
	}
	if _, err := postgres.Open(ctx, "", postgres.Options{}); err == nil {
		t.Error("Open with no DSN succeeded")
	}
}

// TestWritableOnAReadOnlyDatabase: Writable fails where PostgreSQL takes
// no writes (a standby, or a database set read-only), as the health
// endpoint must see.
func TestWritableOnAReadOnlyDatabase(t *testing.T) {
	dsn := server.NewDatabase(t)
	ctx := context.Background()
	open(t, dsn, nil) // migrate
	db := open(t, dsn+" default_transaction_read_only=on", nil)
	if err := db.Writable(ctx); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("Writable on a read-only session = %v, want a read-only error", err)
	}
}
