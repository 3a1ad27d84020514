package discord_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/discord"
)

// BenchmarkDeferredResponse sends bursts of concurrent signed /protect
// interactions to the real handler (on a local server, with the real core and
// wiki behind it) and measures, for each, the time from sending the request
// to reading the deferred response. Each burst's commands then run against
// the wiki while the rest of the burst is still being acknowledged, as they
// would under load; the next burst starts once every result has been posted.
// It reports the 50th and 99th percentiles over every interaction sent.
func BenchmarkDeferredResponse(b *testing.B) {
	const burst = 32
	f := newFixture(b, discord.ModeHTTP, func(c *discord.Config) { c.NoticeChannel = "" })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: burst}}
	url := f.srv.URL + discord.InteractionsPath
	var all []time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		reqs := make([]*http.Request, burst)
		tokens := make([]string, burst)
		for j := range reqs {
			var body []byte
			_, tokens[j], body = slash(member("D-ADMIN"), "protect",
				opt("title", fmt.Sprintf("Bench Discord %d-%d", n, j)), opt("create", "sysop"), opt("expiry", "1 day"))
			reqs[j] = f.signer.Request(url, body, f.clock.Now())
		}
		lat := make([]time.Duration, burst)
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		for j, req := range reqs {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				ready.Done()
				<-start
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[j] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
				}
			}()
		}
		ready.Wait()
		b.StartTimer()
		close(start)
		done.Wait()
		b.StopTimer()
		all = append(all, lat...)
		for _, tok := range tokens {
			f.api.WaitEdit(b, appID, tok)
		}
		b.StartTimer()
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(burst), "concurrent")
}
