package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/commands"
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

// lockReminders opens a transaction on dsn that locks the reminders of the
// given pages, as another replica's claim does while it is being made, and
// returns it.
func lockReminders(t *testing.T, dsn string, titles ...string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := tx.Exec(ctx, `SELECT r.id FROM reminders r JOIN protections p ON p.id = r.protection_id
		WHERE p.title = ANY($1) FOR UPDATE OF r`, titles)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("locking the reminders of %v: %d, %v", titles, tag.RowsAffected(), err)
	}
	return tx
}

// TestClaimDueSkipsLockedRows: ClaimDue does not wait for the reminders
// another replica is claiming at that moment: it claims the others, and
// those are left for the next tick.
func TestClaimDueSkipsLockedRows(t *testing.T) {
	dsn := server.NewDatabase(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db := open(t, dsn, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 10 {
		want := []commands.TrackedProtection{{Type: "edit", Level: "sysop", Expiry: t0.Add(time.Hour)}}
		if _, err := db.ReconcilePage(ctx, "en", fmt.Sprintf("P%d", i), want, nil, t0); err != nil {
			t.Fatal(err)
		}
	}
	tx := lockReminders(t, dsn, "P0", "P1", "P2")
	start := time.Now()
	if n, err := db.ClaimDue(ctx, t0.Add(time.Hour), 1); err != nil || n != 7 {
		t.Fatalf("ClaimDue beside a claim in flight = %d, %v; want the 7 it does not hold", n, err)
	}
	t.Logf("ClaimDue took %s beside the locked rows", time.Since(start))
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := db.ClaimDue(ctx, t0.Add(time.Hour), 2); err != nil || n != 3 {
		t.Fatalf("ClaimDue after = %d, %v; want the 3 left", n, err)
	}
}

// TestClaimDueSupersedesAcrossReplicas: a reminder that falls due while a
// reminder closer to the same expiry is claimed by another replica's tick
// is superseded, as it is when one tick claims both.
func TestClaimDueSupersedesAcrossReplicas(t *testing.T) {
	dsn := server.NewDatabase(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a, b := open(t, dsn, nil), open(t, dsn, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exp := t0.Add(48 * time.Hour)
	want := []commands.TrackedProtection{{Type: "edit", Level: "sysop", Expiry: exp}}
	if _, err := a.ReconcilePage(ctx, "en", "P", want, []time.Duration{24 * time.Hour, time.Hour}, t0); err != nil {
		t.Fatal(err)
	}
	// After downtime, a's tick takes the 1-hour warning while b's holds
	// the 24-hour one (the rows it is claiming).
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT id FROM reminders WHERE lead_ms = $1 FOR UPDATE`, (24 * time.Hour).Milliseconds()); err != nil {
		t.Fatal(err)
	}
	now := exp.Add(-30 * time.Minute)
	if n, err := a.ClaimDue(ctx, now, 1); err != nil || n != 1 {
		t.Fatalf("a's claim = %d, %v; want the 1-hour warning", n, err)
	}
	tx.Rollback(ctx)
	if n, err := b.ClaimDue(ctx, now, 2); err != nil || n != 0 {
		t.Fatalf("b's claim = %d, %v; want the 24-hour warning superseded", n, err)
	}
	rs, err := b.PageReminders(ctx, "en", "P")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Lead.String()+":"+r.Status)
	}
	if strings.Join(got, " ") != "0s:pending 24h0m0s:superseded 1h0m0s:claimed" {
		t.Errorf("reminders = %v", got)
	}
}
