package main

import (
	"context"
	"fmt"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/postgres"
)

// Store is everything wikimod keeps, in SQLite on one machine
// (storage.DB) or in PostgreSQL, which replicas share (postgres.DB): the
// domain's one store contract, commands.Store. The rest of wikimod sees
// only the smaller interfaces it gathers.
type Store = commands.Store

// openStore opens the [storage] the config names.
func openStore(ctx context.Context, cfg StorageConfig, now func() time.Time) (Store, error) {
	switch cfg.Driver {
	case "", driverSQLite:
		return storage.Open(cfg.Path, storage.Options{Now: now})
	case driverPostgres:
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return postgres.Open(ctx, cfg.DSN, postgres.Options{Now: now})
	}
	return nil, fmt.Errorf("storage.driver %q: use %q or %q", cfg.Driver, driverSQLite, driverPostgres)
}

// The storage drivers.
const (
	driverSQLite   = "sqlite"
	driverPostgres = "postgres"
)

// describe names the store for /healthz and the log, without a secret:
// the SQLite file, or the PostgreSQL database's host and name.
func (c StorageConfig) describe() string {
	if c.Driver == driverPostgres {
		return "postgres " + postgres.Describe(c.DSN)
	}
	return "sqlite " + c.Path
}
