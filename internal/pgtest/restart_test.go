package pgtest_test

import (
	"context"
	"testing"

	"github.com/wikimod/wikimod/internal/pgtest"
)

// TestStopAndRestart: a stopped server refuses connections, and once
// restarted serves the same databases, rows and all.
func TestStopAndRestart(t *testing.T) {
	ctx := context.Background()
	// A server of its own: stopping the shared one would stop the other
	// tests' databases.
	s, err := pgtest.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // after the database is dropped
	dsn := s.NewDatabase(t)
	conn := connect(t, dsn)
	if _, err := conn.Exec(ctx, `CREATE TABLE t (x int); INSERT INTO t VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT 1`); err == nil {
		t.Error("a connection still works after Stop")
	}
	if err := s.Stop(); err == nil {
		t.Error("a second Stop succeeded")
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := connect(t, dsn).QueryRow(ctx, `SELECT x FROM t`).Scan(&x); err != nil || x != 7 {
		t.Errorf("after Restart: x = %d, %v; want 7", x, err)
	}
	if err := s.Restart(ctx); err == nil {
		t.Error("Restart of a running server succeeded")
	}
}
