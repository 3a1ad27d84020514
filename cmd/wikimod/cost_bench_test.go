package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/testwait"
)

// procCPU reads a process's user and system CPU time from /proc.
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The fields after the command name (which is in parentheses).
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// memStats reads the process's allocation counters, bytes and objects,
// from /metrics.
func memStats(tb testing.TB, base string) (bytes, objects float64) {
	tb.Helper()
	m := scrapeMetrics(tb, base)
	bytes, okB := m["go_memstats_alloc_bytes_total"]
	objects, okO := m["go_memstats_mallocs_total"]
	if !okB || !okO {
		tb.Fatalf("no allocation counters in %s/metrics", base)
	}
	return bytes, objects
}

// BenchmarkCommandCost measures what one signed Slack /protect costs the
// wikimod binary in its default configuration (reminders tracked, linking
// on): its CPU time (from /proc, so the wiki's PHP and this test's own
// client are not counted) and the bytes and objects it allocates (from its
// own Go runtime metrics), over commands sent 4 at a time after a warm-up.
// Each /protect sets a one-day protection, so the reminders track it.
//
//	go test ./cmd/wikimod -run '^$' -bench CommandCost -benchtime 400x -count 3
//
// The test wiki is PHP's built-in server, which closes the connection after
// every answer, so each wiki request costs the bot a new connection; the
// keep-alive case puts a loopback proxy that keeps connections open
// between the bot and the wiki, as a production web server does.
//
// The io-floor case runs testdata/iofloor instead of wikimod, through the
// same proxy and the same driver: a Go process that makes the same HTTP
// exchanges and SQLite writes per command and does nothing else. Its reply
// is a Slack message of the shape and size wikimod posts (reply-bytes
// shows both), with the values written into a fixed text. What it
// costs is what any bot doing this work spends on this machine; wikimod's
// own work is the difference.
func BenchmarkCommandCost(b *testing.B) {
	b.Run("wiki-closes-connections", func(b *testing.B) { commandCost(b, costWikimod) })
	b.Run("wiki-keeps-connections", func(b *testing.B) { commandCost(b, costKeepAlive) })
	b.Run("io-floor", func(b *testing.B) { commandCost(b, costFloor) })
}

type costCase int

const (
	costWikimod   costCase = iota // the binary against the test wiki itself
	costKeepAlive                 // the binary behind a keep-alive proxy
	costFloor                     // testdata/iofloor behind the same proxy
)

// startFloor builds and starts testdata/iofloor against the wiki at api.
func startFloor(b *testing.B, api, user, password string) *process {
	bin := filepath.Join(b.TempDir(), "iofloor")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/iofloor").CombinedOutput(); err != nil {
		b.Fatalf("go build iofloor: %v\n%s", err, out)
	}
	addr := freeAddr(b)
	cmd := exec.Command(bin, addr, api, filepath.Join(b.TempDir(), "iofloor.db"))
	cmd.Env = append(os.Environ(), "IOFLOOR_USER="+user, "IOFLOOR_PASSWORD="+password)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &process{cmd: cmd, base: "http://" + addr}
	b.Cleanup(p.kill)
	waitHTTP(b, p.base+"/healthz")
	return p
}

func commandCost(b *testing.B, which costCase) {
	s := newReplyStandIn(b)
	config := slackConfig(b, s, "")
	cfg, err := LoadConfig(config)
	if err != nil {
		b.Fatal(err)
	}
	api := cfg.Wiki.APIURL
	if which != costWikimod {
		proxy := newSlowWiki(b, 0)
		api = proxy.srv.URL + "/api.php"
		rewriteConfig(b, config, cfg.Wiki.APIURL, api, "")
	}
	// WIKIMOD_CPUPROFILE=FILE saves a 30-second CPU profile of the binary
	// taken while the measured commands run (use -benchtime 1000x or more so
	// they last that long), from its admin address with [http] profiling.
	// WIKIMOD_ALLOCPROFILE=FILE saves the binary's allocation profiles
	// before and after the measured commands as FILE.before and FILE, for
	// go tool pprof -sample_index=alloc_space -base FILE.before FILE.
	profile, allocs := os.Getenv("WIKIMOD_CPUPROFILE"), os.Getenv("WIKIMOD_ALLOCPROFILE")
	if which == costFloor {
		profile, allocs = "", ""
	}
	if profile != "" || allocs != "" {
		rewriteConfig(b, config, "[http]\n", "[http]\nadmin_listen = \""+freeAddr(b)+"\"\nprofiling = true\n", "")
	}
	var p *process
	if which == costFloor {
		p = startFloor(b, api, cfg.Wiki.BotUser, cfg.Wiki.BotPassword)
	} else {
		p = startProcess(b, config)
	}
	pid := p.cmd.Process.Pid
	admin := p.base
	if cfg, err := LoadConfig(config); err == nil && cfg.HTTP.AdminListen != "" {
		admin = "http://" + cfg.HTTP.AdminListen
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	stamp := testwait.Unique("")
	var seq int
	var mu sync.Mutex
	run := func(n int) {
		sem := make(chan struct{}, 4)
		var wg sync.WaitGroup
		for range n {
			mu.Lock()
			seq++
			i := seq
			mu.Unlock()
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				path := "/response/cost-" + strconv.Itoa(i)
				text := fmt.Sprintf(`"Cost %s %d" create=sysop expiry="1 day" reason="benchmark"`, stamp, i)
				if ok, err := sendCommand(context.Background(), client, p.base, s.srv.URL+path, "/protect", text); !ok {
					b.Errorf("command %d refused: %v", i, err)
					return
				}
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
					s.mu.Lock()
					got := len(s.replies[path])
					s.mu.Unlock()
					if got > 0 {
						return
					}
				}
				b.Errorf("no reply to command %d", i)
			}()
		}
		wg.Wait()
	}
	run(40) // warm: session, tokens, site information, connections
	profiled := make(chan struct{})
	if profile != "" {
		go func() {
			defer close(profiled)
			saveProfile(b, admin+"/debug/pprof/profile?seconds=30", profile)
		}()
	} else {
		close(profiled)
	}
	if allocs != "" {
		saveProfile(b, admin+"/debug/pprof/allocs", allocs+".before")
	}
	cpu0 := procCPU(b, pid)
	bytes0, objs0 := memStats(b, admin)
	b.ResetTimer()
	run(b.N)
	b.StopTimer()
	// Each /metrics scrape allocates too: measure one and take it off.
	bytes1, objs1 := memStats(b, admin)
	bytes2, objs2 := memStats(b, admin)
	cpu := procCPU(b, pid) - cpu0
	allocated := bytes1 - bytes0 - (bytes2 - bytes1)
	objs := objs1 - objs0 - (objs2 - objs1)
	<-profiled
	if allocs != "" {
		saveProfile(b, admin+"/debug/pprof/allocs", allocs)
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/1000, "CPU-ms/cmd")
	b.ReportMetric(allocated/float64(b.N)/1024, "KB-alloc/cmd")
	b.ReportMetric(objs/float64(b.N), "allocs/cmd")
	// The size of what was posted to the response URL: the floor's
	// exchange should carry as many bytes as wikimod's.
	s.mu.Lock()
	var posted, replies int
	for _, r := range s.replies {
		for _, body := range r {
			posted += len(body)
			replies++
		}
	}
	s.mu.Unlock()
	if replies > 0 {
		b.ReportMetric(float64(posted)/float64(replies), "reply-bytes")
	}
	if which == costFloor {
		p.kill() // it has nothing to shut down
	} else {
		p.stop(b)
	}
}

// saveProfile fetches a profile from url into path.
func saveProfile(tb testing.TB, url, path string) {
	resp, err := http.Get(url)
	if err != nil {
		tb.Errorf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		tb.Errorf("profile: %v", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		tb.Errorf("profile: %v", err)
	}
}
