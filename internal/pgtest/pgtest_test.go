package pgtest_test

import (
	"context"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wikimod/wikimod/internal/pgtest"
)

var server *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &server)) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestDatabasesAreSeparate writes a table in one test database and finds
// it missing from the next: each test starts empty.
func TestDatabasesAreSeparate(t *testing.T) {
	ctx := context.Background()
	a := connect(t, server.NewDatabase(t))
	if _, err := a.Exec(ctx, `CREATE TABLE t (x int); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	b := connect(t, server.NewDatabase(t))
	var n int
	if err := b.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the second database has %d tables t (%v), want none", n, err)
	}
	if !strings.HasPrefix(server.Version(), "PostgreSQL ") {
		t.Errorf("Version() = %q", server.Version())
	}
}

// TestServerIsThrowaway checks the settings that make the server fast and
// private: no fsync, no TCP port, UTF-8, and not run as root.
func TestServerIsThrowaway(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, server.NewDatabase(t))
	for setting, want := range map[string]string{
		"fsync":            "off",
		"listen_addresses": "",
		"server_encoding":  "UTF8",
	} {
		var got string
		if err := conn.QueryRow(ctx, `SELECT current_setting($1)`, setting).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", setting, got, err, want)
		}
	}
	var dir string
	if err := conn.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if owner := fileOwner(fi); owner == 0 {
		t.Errorf("the cluster %s belongs to root", dir)
	}
}

// fileOwner returns the user id owning a file.
func fileOwner(fi fs.FileInfo) uint32 {
	return fi.Sys().(*syscall.Stat_t).Uid
}
