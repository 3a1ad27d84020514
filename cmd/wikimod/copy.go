package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// notCopied lists what a copy leaves behind, and what that means for the
// people using wikimod: each is short-lived, and wikimod makes it again.
var notCopied = []string{
	"replays (the replay guard's keys, which expire within minutes)",
	"link_attempts (a /link being verified now must be started again)",
	"forms (a Discord form open now must be opened again)",
	"leases (taken again by the process that needs one)",
}

// cmdStorage runs wikimod storage SUBCOMMAND.
func cmdStorage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "copy" {
		return cmdStorageCopy(ctx, args[1:], stdout, stderr)
	}
	return errors.New("storage: use wikimod storage copy -from-config OLD -to-config NEW")
}

// cmdStorageCopy copies the durable state of one config's [storage] into
// another's, which must be empty, and reports the rows copied per table
// and what it left behind.
func cmdStorageCopy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("wikimod storage copy", flag.ContinueOnError)
	flags.SetOutput(stderr)
	fromPath := flags.String("from-config", "", "config file whose [storage] is copied from")
	toPath := flags.String("to-config", "", "config file whose [storage] is copied into: an empty database")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *fromPath == "" || *toPath == "" || flags.NArg() > 0 {
		return errors.New("storage copy: name both configs: -from-config OLD -to-config NEW")
	}
	from, err := LoadStorageConfig(*fromPath)
	if err != nil {
		return err
	}
	to, err := LoadStorageConfig(*toPath)
	if err != nil {
		return err
	}
	if err := checkCopyable(from.Storage, to.Storage); err != nil {
		return fmt.Errorf("storage copy: %w", err)
	}
	counts, took, err := copyData(ctx, from.Storage, to.Storage)
	if errors.Is(err, commands.ErrNotEmpty) {
		fresh := "a new one (createdb -O USER NAME, then dsn = \"postgres://USER@HOST/NAME\")"
		if to.Storage.Driver != driverPostgres {
			fresh = "a path where no file exists yet"
		}
		return fmt.Errorf("storage copy: nothing was copied: %w. A copy never merges: point the [storage] of %s at an empty database, %s",
			err, *toPath, fresh)
	}
	if err != nil {
		return fmt.Errorf("storage copy: nothing was copied: %w", err)
	}
	fmt.Fprintf(stdout, "copied %s\n    to %s\n    in %s:\n", from.Storage.describe(), to.Storage.describe(), took.Round(time.Millisecond))
	for _, c := range counts {
		fmt.Fprintf(stdout, "  %-16s %9d rows\n", c.table, c.rows)
	}
	fmt.Fprintln(stdout, "not copied, being short-lived:")
	for _, s := range notCopied {
		fmt.Fprintln(stdout, "  "+s)
	}
	return nil
}

// checkCopyable refuses a copy whose source is missing, or whose two ends
// are one database.
func checkCopyable(from, to StorageConfig) error {
	if from.Driver != driverPostgres {
		// storage.Open would create an empty database where a path is
		// mistyped, and the copy would then copy nothing.
		if _, err := os.Stat(from.Path); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("the database to copy from, %s, does not exist", from.Path)
		}
	}
	if from.Driver == driverPostgres && to.Driver == driverPostgres {
		if os.Getenv("WIKIMOD_STORAGE_DSN") != "" {
			return errors.New("WIKIMOD_STORAGE_DSN is set, and it would name one database for both configs: unset it and give each config its dsn")
		}
		if from.DSN == to.DSN {
			return errors.New("both configs name the same database")
		}
	}
	if from.Driver != driverPostgres && to.Driver != driverPostgres && samePath(from.Path, to.Path) {
		return fmt.Errorf("both configs name the same database, %s", from.Path)
	}
	return nil
}

// samePath reports whether two paths name one file.
func samePath(a, b string) bool {
	if ia, err := os.Stat(a); err == nil {
		if ib, err := os.Stat(b); err == nil {
			return os.SameFile(ia, ib)
		}
	}
	aa, errA := filepath.Abs(a)
	ab, errB := filepath.Abs(b)
	return errA == nil && errB == nil && aa == ab
}

// tableCount is how many rows of a table a copy wrote.
type tableCount struct {
	table string
	rows  int
}

// copyData copies the durable rows of the store from names into the
// store to names, streaming them a batch at a time, in one transaction
// of the target. Each end is opened as wikimod run opens it, which
// brings its schema up to date. It returns the rows copied per table, in
// commands.DumpedTables' order, and how long it took.
func copyData(ctx context.Context, from, to StorageConfig) ([]tableCount, time.Duration, error) {
	src, err := openStore(ctx, from, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("open the database to copy from: %w", err)
	}
	defer src.Close()
	dst, err := openStore(ctx, to, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("open the database to copy into: %w", err)
	}
	defer dst.Close()

	counts := make([]tableCount, len(commands.DumpedTables))
	for i, t := range commands.DumpedTables {
		counts[i].table = t
	}
	counted := func(ctx context.Context, yield func(commands.DumpBatch) error) error {
		return src.Dump(ctx, func(b commands.DumpBatch) error {
			for i, n := range b.Rows() {
				counts[i].rows += n
			}
			return yield(b)
		})
	}
	start := time.Now()
	if err := dst.Restore(ctx, counted); err != nil {
		return nil, 0, err
	}
	return counts, time.Since(start), nil
}
