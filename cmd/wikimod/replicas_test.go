package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/pgtest"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage/postgres"
)

// pg is the PostgreSQL server of this test binary, started by the first
// test that needs it and stopped by TestMain.
var (
	pg     *pgtest.Server
	pgOnce sync.Once
)

// postgresDSN gives the test a database of its own on the binary's
// PostgreSQL server; where PostgreSQL is not installed, the test skips
// (or fails, with WIKIMOD_REQUIRE_POSTGRES=1, as in CI).
func postgresDSN(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		var err error
		pg, err = pgtest.Start(context.Background())
		if err != nil && !errors.Is(err, pgtest.ErrNotInstalled) {
			t.Fatalf("pgtest: %v", err)
		}
	})
	return pg.NewDatabase(t)
}

// replicaConfig writes the config of one replica: the shared test wiki
// and PostgreSQL database, Slack over HTTP, its own listen address.
func replicaConfig(t testing.TB, s *replyStandIn, dsn string) string {
	t.Helper()
	path := slackConfig(t, s, "")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, strings.Replace(string(text), "[storage]\n", fmt.Sprintf("[storage]\ndriver = \"postgres\"\ndsn = %q\n", dsn), 1))
	return path
}

// TestReplicasShareTheWorkAndSurviveAKill starts three wikimod replicas on
// one PostgreSQL database and the real wiki, sends them 300 signed Slack
// /protect commands spread across them, and kills one with SIGKILL in the
// middle. The survivors settle what the dead one left: every audit row
// begun is finished or marked interrupted, every acknowledged command has
// exactly one row, and the wiki's protect log shows each page protected
// at most once, in agreement with the audit log.
func TestReplicasShareTheWorkAndSurviveAKill(t *testing.T) {
	dsn := postgresDSN(t)
	s := newReplyStandIn(t)
	var procs []*process
	for range 3 {
		procs = append(procs, startProcess(t, replicaConfig(t, s, dsn)))
	}
	started := time.Now()
	prefix := testwait.Unique("Replica ")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	const n, killAfter, senders = 300, 100, 6
	var (
		mu     sync.Mutex
		acked  = map[int]bool{}
		killed bool
		wg     sync.WaitGroup
	)
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += senders {
				p := procs[i%3]
				ok, _ := sendSlash(context.Background(), client, p.base, s.srv.URL+"/response/"+strconv.Itoa(i),
					fmt.Sprintf(`"%s %d" create=sysop`, prefix, i))
				mu.Lock()
				if ok {
					acked[i] = true
				}
				if len(acked) >= killAfter && !killed {
					killed = true
					procs[1].kill()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	db, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The survivors settle the dead replica's rows once its lease runs out.
	var recs []auditRow
	testwait.For(t, "every audit row to be finished", func() bool {
		recs = auditFor(t, db, prefix)
		for _, r := range recs {
			if r.outcome == "queued" || r.outcome == "pending" {
				return false
			}
		}
		return true
	})
	settledAfter := time.Since(started)

	// What the wiki's protect log says happened to each page.
	logged := map[string]int{}
	c, err := mw.New(mw.Config{APIURL: wiki.APIURL})
	if err != nil {
		t.Fatal(err)
	}
	q := mw.LogEventsQuery{Type: "protect", Newer: true, Start: started.Add(-2 * time.Second)}
	for {
		page, err := c.LogEvents(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if strings.HasPrefix(e.Title, prefix+" ") {
				logged[e.Title]++
			}
		}
		if page.Continue == "" {
			break
		}
		q.Continue = page.Continue
	}

	applied, outcomes := checkEachOnce(t, prefix, n, acked, recs, func(title string) int { return logged[title] })
	t.Logf("3 replicas, one killed after %d acknowledgements: %d sent, %d acknowledged, %d audit rows, %d applied on the wiki, all settled %v after the start; rows: %v",
		killAfter, n, len(acked), len(recs), applied, settledAfter.Round(time.Second), outcomes)
	for _, p := range []*process{procs[0], procs[2]} {
		p.stop(t)
	}
}
