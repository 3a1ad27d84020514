package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/testwait"
)

// farmConfigText is a config of n wikis, w0000 to w(n-1), all the test wiki
// under different names (each its own session), served over Slack HTTP.
func farmConfigText(tb testing.TB, n int, s *replyStandIn, dir string) string {
	tb.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[wikis.w%04d]\napi_url = %q\nbot_user = %q\nbot_password = %q\ncontact = \"ops@example.test\"\n\n",
			i, wiki.APIURL, wiki.BotUser, wiki.BotPassword)
	}
	fmt.Fprintf(&b, `[storage]
path = %q

[http]
listen = %q

[reminders]
sync_interval = "15m"

[[access]]
wiki_groups = ["sysop"]
slack_users = ["U-OPS"]

[slack]
mode = "http"
signing_secret = %q
bot_token = "xoxb-e2e"
api_url = %q
`, filepath.Join(dir, "wikimod.db"), freeAddr(tb), e2eSecret, s.srv.URL+"/api")
	return b.String()
}

// BenchmarkFarmStartup starts the wikimod binary with one wiki and with
// 1,000 (all the test wiki under different names), and reports how long it
// takes until /healthz answers, its RSS then, the RSS each configured wiki
// adds, and its RSS after commands on 20 different wikis (each logs in at
// its first command). Run it with -benchtime 1x:
//
//	go test ./cmd/wikimod -run '^$' -bench FarmStartup -benchtime 1x
func BenchmarkFarmStartup(b *testing.B) {
	const farm, used = 1000, 20
	for range b.N {
		s := newReplyStandIn(b)
		measure := func(n int) (start time.Duration, rss, rssUsed int64, logins int) {
			dir := b.TempDir()
			path := filepath.Join(dir, "wikimod.toml")
			if err := os.WriteFile(path, []byte(farmConfigText(b, n, s, dir)), 0o600); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			p := startProcess(b, path)
			start = time.Since(t0)
			time.Sleep(time.Second) // let start-up garbage settle
			rss = vmRSS(p.cmd.Process.Pid)
			client := &http.Client{Timeout: 30 * time.Second}
			for i := range min(used, n) {
				url := s.srv.URL + fmt.Sprintf("/response/farm-%d-%d", n, i)
				text := fmt.Sprintf(`password="Long-enough-password-%d" wiki=w%04d`, i, i*(n/min(used, n)))
				if ok, err := sendCommand(context.Background(), client, p.base, url, "/validatepassword", text); !ok {
					b.Fatalf("command %d refused: %v", i, err)
				}
			}
			testwait.For(b, fmt.Sprintf("the %d commands' replies", min(used, n)), func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				got := 0
				for path := range s.replies {
					if strings.HasPrefix(path, fmt.Sprintf("/response/farm-%d-", n)) {
						got++
					}
				}
				return got == min(used, n)
			})
			rssUsed = vmRSS(p.cmd.Process.Pid)
			m := scrapeLabelled(b, p.base, `wikimod_wiki_requests_total{action="login"`)
			p.stop(b)
			return start, rss, rssUsed, int(m)
		}
		start1, rss1, _, _ := measure(1)
		startN, rssN, rssNUsed, logins := measure(farm)
		if logins > 2*used {
			b.Errorf("%d logins for commands on %d wikis: the idle wikis logged in too", logins, used)
		}
		b.ReportMetric(start1.Seconds()*1000, "startup-ms-1-wiki")
		b.ReportMetric(startN.Seconds()*1000, "startup-ms-1000-wikis")
		b.ReportMetric(float64(rss1)/(1<<20), "RSS-MB-1-wiki")
		b.ReportMetric(float64(rssN)/(1<<20), "RSS-MB-1000-wikis")
		b.ReportMetric(float64(rssN-rss1)/(farm-1)/1024, "RSS-KB-per-wiki")
		b.ReportMetric(float64(rssNUsed)/(1<<20), "RSS-MB-after-20-used")
		b.ReportMetric(float64(logins), "logins")
	}
}

// scrapeLabelled sums the /metrics samples whose line starts with prefix
// (a metric's name and its first labels, as /metrics sorts them).
func scrapeLabelled(tb testing.TB, base, prefix string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		if i := strings.LastIndex(line, " "); i > 0 {
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				sum += v
			}
		}
	}
	return sum
}
