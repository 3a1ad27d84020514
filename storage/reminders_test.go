package storage_test

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/storage"
	"github.com/wikimod/wikimod/storage/storagetest"
)

// wk is the wiki the benchmarks track protections on.
const wk = "en"

var (
	t0    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	leads = []time.Duration{24 * time.Hour, time.Hour}
)

// The benchmarks below measure the reminders at scale: a database holding
// benchReminders pending reminders (333,334 protections with three reminders
// each, expiring over the next year). The database is built once, in a
// child process so that the bulk insert does not count towards the memory
// the benchmark reports, and kept in the temporary directory for later runs
// (wikimod-reminders-bench-SCHEMA-N.db). Run them with:
//
//	go test ./storage -run '^$' -bench Reminders -benchtime 200x
const benchReminders = 1_000_000

// benchDB returns the path of a database with n pending reminders, all due
// in the future, building it if needed.
func benchDB(b *testing.B, n int) string {
	b.Helper()
	// The name carries a hash of the schema, so a changed migration builds
	// a new database.
	h := fnv.New32a()
	migrations, _ := filepath.Glob("migrations/*.sql")
	for _, m := range migrations {
		b, _ := os.ReadFile(m)
		h.Write(b)
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("wikimod-reminders-bench-%08x-%d.db", h.Sum32(), n))
	if _, err := os.Stat(path + ".done"); err == nil {
		return path
	}
	start := time.Now()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBuildBenchDB$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WIKIMOD_BENCH_DB="+path, "WIKIMOD_BENCH_N="+strconv.Itoa(n))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building %s: %v\n%s", path, err, out)
	}
	b.Logf("built %d reminders in %s", n, time.Since(start).Round(time.Millisecond))
	return path
}

// TestBuildBenchDB builds the benchmarks' database when asked to by benchDB;
// otherwise it does nothing.
func TestBuildBenchDB(t *testing.T) {
	path := os.Getenv("WIKIMOD_BENCH_DB")
	if path == "" {
		t.Skip("only run by the benchmarks")
	}
	n, err := strconv.Atoi(os.Getenv("WIKIMOD_BENCH_N"))
	if err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm", ".done"} {
		os.Remove(path + suffix)
	}
	db, err := storage.Open(path, storage.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	tx, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	insP, err := tx.Prepare(`INSERT INTO protections (id, wiki, title, type, level, expiry_ms, length_ms, set_by, platform, reason, url, set_ms, updated_ms)
		VALUES (?, 'default', ?, 'edit', 'sysop', ?, ?, 'Bench', 'wiki', 'bench', '', ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	insR, err := tx.Prepare(`INSERT INTO reminders (protection_id, expiry_ms, lead_ms, remind_ms, next_ms) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	year := int64(365 * 24 * time.Hour / time.Millisecond)
	base := t0.UnixMilli()
	for id, made := int64(1), 0; made < n; id++ {
		// Expiries spread evenly over the year after t0 + 2 days.
		expiry := base + 2*24*3600*1000 + (id*7919*1000)%year
		if _, err := insP.Exec(id, fmt.Sprintf("Bench page %d", id), expiry, 7*24*3600*1000, base, base); err != nil {
			t.Fatal(err)
		}
		for _, lead := range []int64{0, 3600 * 1000, 24 * 3600 * 1000} {
			if made == n {
				break
			}
			if _, err := insR.Exec(id, expiry, lead, expiry-lead, expiry-lead); err != nil {
				t.Fatal(err)
			}
			made++
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".done", nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyDB copies the benchmark database so a benchmark may change it.
func copyDB(b *testing.B, src string) string {
	b.Helper()
	dst := filepath.Join(b.TempDir(), "bench.db")
	data, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return dst
}

// memory reports the Go heap in use and the process's resident memory
// (which includes SQLite's own page cache), in MB.
func memory(b *testing.B) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				b.ReportMetric(kb/1024, "rss-MB")
			}
		}
	}
}

func benchSizes() []int { return []int{10_000, benchReminders} }

// BenchmarkRemindersDueScan measures one tick's work in the database when
// nothing is due (the usual minute), when five reminders are due, and when a
// thousand are (a burst, sent as one digest): claim them, read them, mark
// them sent.
func BenchmarkRemindersDueScan(b *testing.B) {
	for _, n := range benchSizes() {
		path := copyDB(b, benchDB(b, n))
		db, err := storage.Open(path, storage.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.Run(fmt.Sprintf("none-due/%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if got, err := db.ClaimDue(ctx, t0, int64(i+1)); err != nil || got != 0 {
					b.Fatalf("claimed %d, %v", got, err)
				}
			}
			memory(b)
		})
		for _, due := range []int{5, 1000} {
			if due*200 > n/2 {
				continue
			}
			b.Run(fmt.Sprintf("%d-due/%d", due, n), func(b *testing.B) {
				// Each iteration moves the clock on to the next reminders.
				raw := sqlOpen(path)
				defer raw.Close()
				rows, err := raw.Query(`SELECT next_ms FROM reminders WHERE status = 'pending' ORDER BY next_ms LIMIT ?`, due*b.N+due)
				if err != nil {
					b.Fatal(err)
				}
				var times []int64
				for rows.Next() {
					var ms int64
					rows.Scan(&ms)
					times = append(times, ms)
				}
				rows.Close()
				if len(times) < due*b.N {
					b.Skipf("only %d reminders left", len(times))
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					now := time.UnixMilli(times[due*(i+1)-1])
					claim := int64(1_000_000 + due*1000 + i)
					got, err := db.ClaimDue(ctx, now, claim)
					if err != nil || got == 0 {
						b.Fatalf("claimed %d, %v", got, err)
					}
					if _, err := db.ClaimedReminders(ctx, claim); err != nil {
						b.Fatal(err)
					}
					if err := db.MarkSent(ctx, claim, "", nil, now); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				memory(b)
			})
		}
		db.Close()
	}
}

// BenchmarkRemindersStartup measures start-up: open the database (schema
// check), recover reminders a crash left claimed, and count and claim what
// fell due while wikimod was down (five reminders).
func BenchmarkRemindersStartup(b *testing.B) {
	for _, n := range benchSizes() {
		path := copyDB(b, benchDB(b, n))
		raw := sqlOpen(path)
		var now int64
		if err := raw.QueryRow(`SELECT next_ms FROM reminders ORDER BY next_ms LIMIT 1 OFFSET 4`).Scan(&now); err != nil {
			b.Fatal(err)
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				// Put the five back, two of them claimed as a crash leaves them.
				if _, err := raw.Exec(`UPDATE reminders SET status = 'pending', claim = NULL WHERE next_ms <= ?`, now); err != nil {
					b.Fatal(err)
				}
				if _, err := raw.Exec(`UPDATE reminders SET status = 'claimed', claim = 1 WHERE id IN (SELECT id FROM reminders WHERE next_ms <= ? LIMIT 2)`, now); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				db, err := storage.Open(path, storage.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := db.RecoverClaimed(ctx); err != nil {
					b.Fatal(err)
				}
				if d, err := db.DueReminders(ctx, time.UnixMilli(now)); err != nil || d != 5 {
					b.Fatalf("due %d, %v", d, err)
				}
				if got, err := db.ClaimDue(ctx, time.UnixMilli(now), 2); err != nil || got != 5 {
					b.Fatalf("claimed %d, %v", got, err)
				}
				db.Close()
			}
			b.StopTimer()
			memory(b)
		})
		raw.Close()
	}
}

func sqlOpen(path string) *sql.DB {
	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		panic(err)
	}
	return raw
}

// BenchmarkReconcilePage measures what a /protect adds to the database: a
// page's protections tracked for the first time (edit and move, with the
// default lead times), changed (a new expiry: the old reminders cancelled,
// new ones scheduled), and read again unchanged (the sync that reads the
// /protect in the protect log and finds nothing new). Besides the time it
// reports the CPU time (user and system) an operation takes, which other
// work on the machine does not inflate.
func BenchmarkReconcilePage(b *testing.B) {
	db, err := storage.Open(filepath.Join(b.TempDir(), "w.db"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	page := func(exp time.Time) []commands.TrackedProtection {
		return []commands.TrackedProtection{storagetest.Protection("edit", "sysop", exp), storagetest.Protection("move", "sysop", exp)}
	}
	week := t0.Add(7 * 24 * time.Hour)
	pages, changes := 0, 0 // across the runs of each sub-benchmark
	b.Run("new", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			pages++
			if res, err := db.ReconcilePage(ctx, wk, "New "+strconv.Itoa(pages), page(week), leads, t0); err != nil || res.Added != 2 {
				b.Fatalf("%+v, %v", res, err)
			}
		}
	})
	b.Run("changed", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			changes++
			if res, err := db.ReconcilePage(ctx, wk, "Changed", page(week.Add(time.Duration(changes)*time.Minute)), leads, t0); err != nil || res.Changed+res.Added != 2 {
				b.Fatalf("%+v, %v", res, err)
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			if res, err := db.ReconcilePage(ctx, wk, "New 1", page(week), leads, t0); err != nil || res.Unchanged != 2 {
				b.Fatalf("%+v, %v", res, err)
			}
		}
	})
}

// cpuPerOp starts counting the process's CPU time, user and system; the
// function it returns reports it per operation as cpu-ns/op. Unlike ns/op,
// other work on the machine does not inflate it.
func cpuPerOp(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() { b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op") }
}
