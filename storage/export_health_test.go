package storage

import "context"

// BusyTimeout returns the writer connection's busy timeout in milliseconds,
// for a test to see that a health check put it back.
func BusyTimeout(db *DB) (int, error) {
	var ms int
	err := db.write.QueryRowContext(context.Background(), `PRAGMA busy_timeout`).Scan(&ms)
	return ms, err
}
