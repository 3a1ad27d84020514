package slack_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/internal/testenv"
)

// BenchmarkAckLatency measures how long Slack would wait for wikimod's
// acknowledgement when a burst of signed slash commands arrives at once:
// each operation sends 64 concurrent signed /validatepassword requests (each
// one then runs against the real wiki in the background) to the real HTTP
// handler, times each request from send to the 200, and waits for all 64
// results to reach the response URLs before the next burst. It reports the
// 50th and 99th percentiles and the maximum over every request.
//
//	go test ./bot/slack/ -run '^$' -bench AckLatency -benchtime 20x
func BenchmarkAckLatency(b *testing.B) {
	const burst = 64
	h := newHarness(b, testenv.Options{}, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: burst}}
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	for b.Loop() {
		forms := make([]string, burst)
		urls := make([]string, burst)
		for j := range burst {
			f := h.slashForm("U-ADMIN", "/validatepassword", fmt.Sprintf("password=Bench-pass-%d-%d-long", h.next(), j))
			forms[j], urls[j] = f.Encode(), f.Get("response_url")
		}
		ts := h.clock.Now().Unix()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for j := range burst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/slack/commands", strings.NewReader(forms[j]))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
				req.Header.Set("X-Slack-Signature", wikislack.Sign(signingSecret, ts, []byte(forms[j])))
				<-start
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("HTTP %d", resp.StatusCode)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		for _, u := range urls {
			h.slack.waitWebhook(b, u)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ack-ms")
	b.ReportMetric(pct(0.99), "p99-ack-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ack-ms")
	b.ReportMetric(float64(len(lat)), "requests")
}
