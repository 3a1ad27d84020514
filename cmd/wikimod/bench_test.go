package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/testwait"
)

// slowWiki is a loopback proxy in front of the real wiki that holds every
// request for delay before passing it on, and counts the requests in
// flight.
type slowWiki struct {
	srv      *httptest.Server
	inflight atomic.Int64
	peak     atomic.Int64
	requests atomic.Int64
	// forwarded counts requests that waited out the delay and went on.
	forwarded atomic.Int64
	delay     time.Duration
}

func newSlowWiki(tb testing.TB, delay time.Duration) *slowWiki {
	target, err := url.Parse(wiki.URL)
	if err != nil {
		tb.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	s := &slowWiki{delay: delay}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inflight.Add(1)
		defer s.inflight.Add(-1)
		s.requests.Add(1)
		for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
		}
		select {
		case <-time.After(s.delay):
		case <-r.Context().Done():
			return
		}
		s.forwarded.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

// BenchmarkQueueBehindSlowWiki runs the wikimod binary against a wiki slowed
// to two seconds a request, sends it 1,000 signed Slack commands at once
// (one write in four), and samples the bot while they wait: its RSS, its
// goroutines, and the requests the wiki has in flight. Every command must
// get exactly one reply. Run it with -benchtime 1x:
//
//	go test ./cmd/wikimod -run '^$' -bench QueueBehindSlowWiki -benchtime 1x
func BenchmarkQueueBehindSlowWiki(b *testing.B) {
	const n = 1000
	for range b.N {
		slow := newSlowWiki(b, 2*time.Second)
		s := newReplyStandIn(b)
		config := slackConfig(b, s, "")
		// Point the bot at the slow wiki, and let commands wait 20 s.
		cfg, err := LoadConfig(config)
		if err != nil {
			b.Fatal(err)
		}
		rewriteConfig(b, config, cfg.Wiki.APIURL, slow.srv.URL+"/api.php", "")
		rewriteConfig(b, config, "[commands]\n", "[commands]\nmax_wait = \"20s\"\n", "")
		p := startProcess(b, config)
		pid := p.cmd.Process.Pid

		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		var wg sync.WaitGroup
		var acked atomic.Int64
		prefix := testwait.Unique("Slow ")
		start := time.Now()
		sem := make(chan struct{}, 64)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				command, text := "/validatepassword", fmt.Sprintf(`password="Long-enough-password-%d"`, i)
				if i%4 == 0 {
					command, text = "/protect", fmt.Sprintf(`"%s %d" create=sysop`, prefix, i)
				}
				if ok, _ := sendCommand(context.Background(), client, p.base, s.srv.URL+"/response/"+strconv.Itoa(i), command, text); ok {
					acked.Add(1)
				}
			}()
		}
		wg.Wait()
		ackTime := time.Since(start)

		var peakRSS int64
		var peakGoroutines, peakWaiting float64
		for {
			peakRSS = max(peakRSS, vmRSS(pid))
			m := scrapeMetrics(b, p.base)
			peakGoroutines = max(peakGoroutines, m["go_goroutines"])
			peakWaiting = max(peakWaiting, m["wikimod_commands_waiting"])
			if paths, _ := s.replyCount(); paths == n {
				break
			}
			if time.Since(start) > 3*time.Minute {
				paths, _ := s.replyCount()
				b.Fatalf("only %d of %d commands answered", paths, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		total := time.Since(start)
		paths, posts := s.replyCount()
		p.stop(b)
		if acked.Load() != n || paths != n || posts != n {
			b.Fatalf("%d acknowledged, %d answered, %d replies posted; want %d each", acked.Load(), paths, posts, n)
		}
		if slow.peak.Load() > 4 {
			b.Errorf("the wiki had %d requests in flight at once, above the configured 4", slow.peak.Load())
		}
		b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MB")
		b.ReportMetric(peakGoroutines, "peak-goroutines")
		b.ReportMetric(peakWaiting, "peak-waiting")
		b.ReportMetric(float64(slow.peak.Load()), "peak-wiki-inflight")
		b.ReportMetric(ackTime.Seconds()*1000/n, "ms-to-ack/cmd")
		b.ReportMetric(total.Seconds(), "s-until-all-answered")
	}
}

// rewriteConfig replaces the wiki's address in a config file and appends
// text.
func rewriteConfig(tb testing.TB, path, from, to, extra string) {
	tb.Helper()
	b, err := osReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	text := strings.Replace(string(b), from, to, 1) + "\n" + extra
	writeFile(tb, path, text)
}

// scrapeMetrics reads the unlabelled metrics /metrics serves.
func scrapeMetrics(tb testing.TB, base string) map[string]float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out
}
