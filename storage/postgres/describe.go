package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// Describe names the database a DSN points at, for logs and /healthz:
// its host, port and name, never its user's password. A DSN that does not
// parse is described as such, without quoting it.
func Describe(dsn string) string {
	c, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "(a connection string that does not parse)"
	}
	return fmt.Sprintf("database %s on %s:%d", c.Database, c.Host, c.Port)
}
