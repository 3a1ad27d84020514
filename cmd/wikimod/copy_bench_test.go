package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wikimod/wikimod/storage"
)

// copyBenchRows is how many audit records BenchmarkStorageCopy copies;
// WIKIMOD_COPY_BENCH_ROWS overrides it.
const copyBenchRows = 200_000

// fillAudit writes n audit records, each with the arguments and the result
// of a /protect, into a new SQLite database at path (through Restore, so
// that filling takes seconds, not minutes).
func fillAudit(b *testing.B, path string, n int) {
	b.Helper()
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	err = db.Restore(context.Background(), func(ctx context.Context, yield func(storage.Batch) error) error {
		batch := make([]storage.AuditRow, 0, storage.DumpBatchRows)
		for i := 1; i <= n; i++ {
			title := fmt.Sprintf("Some page title %d", i)
			result := fmt.Sprintf(`{"protect":{"title":%q,"reason":"Persistent vandalism from several IPs","protections":[{"edit":"sysop","expiry":"2024-01-08T00:00:00Z"}]}}`, title)
			batch = append(batch, storage.AuditRow{ID: int64(i), Time: t0.Add(time.Duration(i) * time.Second), Wiki: "en",
				Platform: "slack", UserID: "U0123456", UserName: "Ann", WikiUser: "Ann", Channel: "C0123456", Command: "protect",
				Args:    fmt.Sprintf(`{"_":%q,"edit":"sysop","expiry":"1 week","reason":"Persistent vandalism from several IPs"}`, title),
				Outcome: "ok", Result: &result, Duration: 180 * time.Millisecond, Owner: "host-1-abc123"})
			if len(batch) == cap(batch) || i == n {
				if err := yield(storage.Batch{Audit: batch}); err != nil {
					return err
				}
				batch = make([]storage.AuditRow, 0, storage.DumpBatchRows)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkStorageCopy copies a SQLite database of 200,000 audit records
// into a new database each time: into PostgreSQL and into SQLite, with
// the wikimod binary (reporting its peak RSS) and in this process
// (reporting the peak of the Go heap, sampled every millisecond, above
// what it was before). Rows/s counts the audit records.
//
//	go test -run '^$' -bench StorageCopy -benchtime 3x ./cmd/wikimod/
func BenchmarkStorageCopy(b *testing.B) {
	n := copyBenchRows
	if v, err := strconv.Atoi(os.Getenv("WIKIMOD_COPY_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	srcPath := filepath.Join(b.TempDir(), "old.db")
	fillAudit(b, srcPath, n)
	fromCfg := filepath.Join(b.TempDir(), "from.toml")
	writeFile(b, fromCfg, fmt.Sprintf("[storage]\npath = %q\n", srcPath))
	targets := []struct {
		name   string
		config func(b *testing.B) string
	}{
		{"postgres", func(b *testing.B) string {
			cfg := filepath.Join(b.TempDir(), "to.toml")
			writeFile(b, cfg, fmt.Sprintf("[storage]\ndriver = \"postgres\"\ndsn = %q\n", postgresDSN(b)))
			return cfg
		}},
		{"sqlite", func(b *testing.B) string {
			dir := b.TempDir()
			cfg := filepath.Join(dir, "to.toml")
			writeFile(b, cfg, fmt.Sprintf("[storage]\npath = %q\n", filepath.Join(dir, "new.db")))
			return cfg
		}},
	}
	for _, target := range targets {
		b.Run(target.name+"/binary", func(b *testing.B) {
			bin := wikimodBinary(b)
			var took time.Duration
			var peakRSS int64
			for b.Loop() {
				b.StopTimer()
				toCfg := target.config(b)
				b.StartTimer()
				cmd := exec.Command(bin, "storage", "copy", "-from-config", fromCfg, "-to-config", toCfg)
				start := time.Now()
				out, err := cmd.CombinedOutput()
				took += time.Since(start)
				if err != nil {
					b.Fatalf("wikimod storage copy: %v\n%s", err, out)
				}
				if !regexp.MustCompile(fmt.Sprintf(`audit +%d rows`, n)).Match(out) {
					b.Fatalf("the copy did not copy %d audit records:\n%s", n, out)
				}
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peakRSS = max(peakRSS, ru.Maxrss) // KiB on Linux
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/took.Seconds(), "rows/s")
			b.ReportMetric(float64(peakRSS)/1024, "peak-RSS-MB")
		})
		b.Run(target.name+"/in-process", func(b *testing.B) {
			var took time.Duration
			var peak uint64
			for b.Loop() {
				b.StopTimer()
				toCfg := target.config(b)
				b.StartTimer()
				stop := sampleHeap()
				start := time.Now()
				code, stdout, stderr := runCopyB(fromCfg, toCfg)
				took += time.Since(start)
				peak = max(peak, stop())
				if code != 0 {
					b.Fatalf("wikimod storage copy = %d:\n%s%s", code, stdout, stderr)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/took.Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// runCopyB runs wikimod storage copy in this process.
func runCopyB(from, to string) (int, string, string) {
	var stdout, stderr strings.Builder
	code := Main([]string{"storage", "copy", "-from-config", from, "-to-config", to}, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// sampleHeap samples the bytes of the Go heap's objects (live, and dead
// but not yet swept) every millisecond until the function it returns is
// called, which returns the peak above the first sample.
func sampleHeap() func() uint64 {
	const name = "/memory/classes/heap/objects:bytes"
	read := func() uint64 {
		s := []metrics.Sample{{Name: name}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	base := read()
	done, result := make(chan struct{}), make(chan uint64)
	go func() {
		peak := base
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				result <- max(peak, read()) - base
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	}()
	return func() uint64 {
		close(done)
		return <-result
	}
}
