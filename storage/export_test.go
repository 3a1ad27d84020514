package storage

import (
	"context"
	"time"
)

// MigrateUpTo creates or opens the database at path and applies migrations
// only up to version upTo, leaving it as an older wikimod did, so that a
// test can fill it the old way and then see Open migrate it.
func MigrateUpTo(path string, upTo int) error {
	w, err := openWriter(path)
	if err != nil {
		return err
	}
	defer w.Close()
	db := &DB{path: path, write: w, now: time.Now}
	return db.migrate(context.Background(), upTo)
}

// UnsettledSQL is the query Unsettled runs, for a test to check its plan.
const UnsettledSQL = unsettledSQL
