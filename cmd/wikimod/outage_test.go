package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/pgtest"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/postgres"
)

// TestDatabaseOutageEveryCommandEndsAsAnswered stops PostgreSQL in the
// middle of a burst of /protect commands queued behind a slowed wiki, and
// starts it again once the audit log has failed to take a command's end.
// Every command taken is answered once, and once the database is back,
// with no restart of wikimod and no wait but for that, its audit record
// ends with the outcome its reply gave: the command that was running when
// the database went (applied, and answered so), those refused because
// their turn came in the outage, those that ran after it. None is left
// queued or pending for a live process to hold.
func TestDatabaseOutageEveryCommandEndsAsAnswered(t *testing.T) {
	ctx := context.Background()
	// A server of its own: the others' tests share this binary's.
	srv, err := pgtest.Start(ctx)
	if errors.Is(err, pgtest.ErrNotInstalled) && os.Getenv(pgtest.RequireEnv) != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() }) // after the database is dropped
	dsn := srv.NewDatabase(t)
	slow := newSlowWiki(t, 100*time.Millisecond)
	path := writeConfig(t, "")
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	text = []byte(strings.Replace(string(text), cfg.Wiki.APIURL, slow.srv.URL+"/api.php", 1))
	writeFile(t, path, strings.Replace(string(text), "[storage]\n", fmt.Sprintf("[storage]\ndriver = \"postgres\"\ndsn = %q\n", dsn), 1))
	if cfg, err = LoadConfig(path); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.LogBuffer{}
	app, _, _ := startApp(t, cfg, AppOptions{LogOutput: logs})

	prefix := testwait.Unique("Outage ")
	var (
		mu      sync.Mutex
		taken   = map[string]bool{}
		replies = map[string][]commands.Reply{}
		refused int
	)
	submit := func(i int) {
		title := fmt.Sprintf("%s %d", prefix, i)
		_, ok := app.service.Submit(ctx, commands.Job{Actor: consoleActor("admin"), Line: fmt.Sprintf(`/protect %q create=sysop`, title),
			Deliver: func(_ context.Context, r commands.Reply) {
				mu.Lock()
				defer mu.Unlock()
				replies[title] = append(replies[title], r)
			}})
		mu.Lock()
		defer mu.Unlock()
		if ok {
			taken[title] = true
		} else {
			refused++
		}
	}
	answered := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, rs := range replies {
			n += len(rs)
		}
		return n
	}
	const before, during, after = 24, 6, 6
	for i := range before {
		submit(i)
	}
	testwait.For(t, "the first replies", func() bool { return answered() >= 4 })
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "a command's end the audit log did not take", func() bool {
		return strings.Contains(logs.String(), "it is tried again until the audit log takes it")
	})
	for i := range during {
		submit(before + i)
	}
	testwait.For(t, "every command taken before the outage answered", func() bool { return answered() == before })
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range after {
		submit(before + during + i)
	}

	mu.Lock()
	n := len(taken)
	mu.Unlock()
	testwait.For(t, "every command taken answered", func() bool { return answered() == n })
	db, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var recs []commands.AuditRecord
	ends := func() (string, bool) {
		var err error
		recs, err = db.Audit(ctx, storage.AuditFilter{Limit: 1000})
		if err != nil {
			return err.Error(), false
		}
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]int{}
		for _, r := range recs {
			title := r.Args["_"]
			if !strings.HasPrefix(title, prefix+" ") {
				continue
			}
			seen[title]++
			rs := replies[title]
			if !taken[title] {
				return fmt.Sprintf("%q has a record but was refused", title), false
			}
			if len(rs) != 1 {
				return fmt.Sprintf("%q answered %d times", title, len(rs)), false
			}
			if r.Outcome != rs[0].Outcome || r.Code != rs[0].Code {
				return fmt.Sprintf("%q: record %s/%s, reply %s/%s", title, r.Outcome, r.Code, rs[0].Outcome, rs[0].Code), false
			}
		}
		for title := range taken {
			if seen[title] != 1 {
				return fmt.Sprintf("%q taken, with %d records", title, seen[title]), false
			}
		}
		return "", true
	}
	// Each new reason it is not so yet is logged, so that a test that
	// gives up shows the last.
	var why string
	testwait.For(t, "every record to end as its command was answered", func() bool {
		w, ok := ends()
		if !ok && w != why {
			t.Logf("not every record ends as its command was answered yet: %s", w)
			why = w
		}
		return ok
	})
	mu.Lock()
	defer mu.Unlock()
	outcomes, applied := map[string]int{}, 0
	for _, rs := range replies {
		outcomes[string(rs[0].Outcome)+"/"+rs[0].Code]++
		if rs[0].Outcome == commands.OutcomeOK {
			applied++
		}
	}
	t.Logf("%d commands taken, %d refused while the database was away; replies, each its record's outcome now: %v",
		len(taken), refused, outcomes)
	if refused == 0 || applied == 0 || outcomes["failed/audit-unavailable"] == 0 {
		t.Errorf("the outage refused %d commands, %d were applied, %d found the audit log away at their turn; the test shows little",
			refused, applied, outcomes["failed/audit-unavailable"])
	}
}
