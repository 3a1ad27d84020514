package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/postgres"
)

// commandRate sends n signed Slack commands, conc at a time, spread round
// robin over the processes, each waiting for its reply at its response URL
// before the next goes, and returns the commands answered per second. Each
// must succeed. tag keeps the response URLs apart.
func commandRate(b *testing.B, procs []*process, s *replyStandIn, command, tag string, text func(i int) string, n, conc int) float64 {
	b.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			path := fmt.Sprintf("/response/%s-%d", tag, i)
			if ok, err := sendCommand(context.Background(), client, procs[i%len(procs)].base, s.srv.URL+path, command, text(i)); !ok {
				b.Errorf("%s %d refused: %v", command, i, err)
				return
			}
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(2 * time.Millisecond) {
				s.mu.Lock()
				replies := s.replies[path]
				s.mu.Unlock()
				if len(replies) > 0 {
					if !strings.Contains(replies[0], ":white_check_mark:") { // Slack's mark of a command that succeeded
						failed.Add(1)
					}
					return
				}
				if time.Now().After(deadline) {
					b.Errorf("no reply to %s %d", command, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f > 0 {
		b.Errorf("%d of %d %s commands failed", f, n, command)
	}
	return float64(n) / elapsed.Seconds()
}

// claimRate seeds n reminders due at once in the database of the first
// store, then has a scheduler on each store tick once, all at the same
// moment (as the replicas' cron wakes them at the minute), posting to a
// channel that costs nothing, each reminder in a message of its own (one
// page each, no digest). It returns the reminders claimed and marked sent
// per second, and how many each scheduler sent.
func claimRate(b *testing.B, stores []reminders.Store, replicas []reminders.ReplicaStore, clock *testenv.Clock, n int) (float64, []int) {
	b.Helper()
	ctx := context.Background()
	due := clock.Now().Add(time.Minute)
	leads := []time.Duration{time.Hour}
	var seeded sync.WaitGroup
	const seeders = 8
	for w := range seeders {
		seeded.Add(1)
		go func() {
			defer seeded.Done()
			for i := w; i < n; i += seeders {
				p := reminders.TrackedProtection{Type: "edit", Level: "sysop", Expiry: due.Add(time.Hour), SetBy: "bench",
					Platform: "slack", SetAt: clock.Now()}
				if _, err := stores[0].ReconcilePage(ctx, commands.DefaultWiki, fmt.Sprintf("Claim %05d", i), []reminders.TrackedProtection{p}, leads, clock.Now()); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	seeded.Wait()
	gone, _ := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php"})
	sent := make([]atomic.Int64, len(stores))
	var titles sync.Map
	var scheds []*reminders.Scheduler
	for i, st := range stores {
		cfg := reminders.Config{Store: st, Wikis: []reminders.Wiki{{Name: commands.DefaultWiki, Client: gone}}, Now: clock.Now,
			LeadTimes: leads, DigestThreshold: n + 1,
			Notify: func(_ context.Context, r commands.Reply) error {
				sent[i].Add(1)
				if _, dup := titles.LoadOrStore(r.Title, true); dup {
					b.Errorf("%q posted twice", r.Title)
				}
				return nil
			}}
		if replicas != nil {
			cfg.Replicas = &reminders.Replicas{Store: replicas[i], Instance: fmt.Sprintf("bench-%d", i)}
		}
		s, err := reminders.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		scheds = append(scheds, s)
	}
	clock.Set(due)
	var wg sync.WaitGroup
	start := time.Now()
	for _, s := range scheds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Tick(ctx); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var total int64
	each := make([]int, len(sent))
	for i := range sent {
		each[i] = int(sent[i].Load())
		total += sent[i].Load()
	}
	if total != int64(n) {
		b.Errorf("%d of %d reminders sent in one tick of each scheduler", total, n)
	}
	return float64(n) / elapsed.Seconds(), each
}

// BenchmarkReplicas compares wikimod alone on SQLite, alone on PostgreSQL
// and as three replicas sharing one PostgreSQL database. Through the real
// binaries and the real test wiki it measures command throughput: signed
// Slack /validatepassword (a read on the wiki) and /protect (a read and a
// write, tracked by the reminders) commands answered per second, 8 in
// flight, spread round robin over the replicas. In-process, at the store,
// it measures the reminders' claim rate: 5,000 reminders due at once on one
// wiki, claimed and marked sent (each its own message, audited: the most
// work a reminder can cost) by one tick of each scheduler. A tick's cost
// per reminder grows with the size of its claim, so the rate is for 5,000. Loopback only; PostgreSQL is pgtest's throwaway server
// (in /dev/shm, fsync off). Run it as
//
//	go test ./cmd/wikimod -run '^$' -bench Replicas -benchtime 1x -count 3
func BenchmarkReplicas(b *testing.B) {
	const (
		reads, writes, inFlight = 300, 200, 8
		due                     = 5000
	)
	for _, c := range []struct {
		name     string
		postgres bool
		replicas int
	}{{"sqlite-1", false, 1}, {"postgres-1", true, 1}, {"postgres-3", true, 3}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				s := newReplyStandIn(b)
				var dsn string
				if c.postgres {
					dsn = postgresDSN(b)
				}
				var procs []*process
				for range c.replicas {
					config := slackConfig(b, s, "")
					if c.postgres {
						config = replicaConfig(b, s, dsn)
					}
					procs = append(procs, startProcess(b, config))
				}
				stamp := testwait.Unique("")
				// Warm each process: its session, tokens, site information.
				commandRate(b, procs, s, "/validatepassword", fmt.Sprintf("warm-%s", stamp), func(i int) string {
					return fmt.Sprintf(`password="Long-enough-password-%d"`, i)
				}, 4*len(procs), len(procs))
				commandRate(b, procs, s, "/protect", fmt.Sprintf("warm-protect-%s", stamp), func(i int) string {
					return fmt.Sprintf(`"Warm %s %d" create=sysop expiry="1 day"`, stamp, i)
				}, 2*len(procs), len(procs))

				readRate := commandRate(b, procs, s, "/validatepassword", fmt.Sprintf("read-%s", stamp), func(i int) string {
					return fmt.Sprintf(`password="Long-enough-password-%d"`, i)
				}, reads, inFlight)
				writeRate := commandRate(b, procs, s, "/protect", fmt.Sprintf("write-%s", stamp), func(i int) string {
					return fmt.Sprintf(`"Rate %s %d" create=sysop expiry="1 day" reason="benchmark"`, stamp, i)
				}, writes, inFlight)
				for _, p := range procs {
					p.stop(b)
				}

				// The claim rate, in-process, on a database of its own.
				clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
				var stores []reminders.Store
				var leases []reminders.ReplicaStore
				if c.postgres {
					claimDSN := postgresDSN(b)
					for range c.replicas {
						db, err := postgres.Open(context.Background(), claimDSN, postgres.Options{Now: clock.Now})
						if err != nil {
							b.Fatal(err)
						}
						b.Cleanup(func() { db.Close() })
						stores, leases = append(stores, db), append(leases, db)
					}
				} else {
					db, err := storage.Open(filepath.Join(b.TempDir(), "claim.db"), storage.Options{Now: clock.Now})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { db.Close() })
					stores = append(stores, db)
				}
				claims, each := claimRate(b, stores, leases, clock, due)
				b.Logf("%s: %.1f /validatepassword/s, %.1f /protect/s, %.0f reminders/s (sent by each scheduler: %v)",
					c.name, readRate, writeRate, claims, each)
				b.ReportMetric(readRate, "validatepassword/s")
				b.ReportMetric(writeRate, "protect/s")
				b.ReportMetric(claims, "reminders/s")
				b.ReportMetric(0, "ns/op")
			}
		})
	}
}
