package alerts_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/alerts"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

// standIns answers, for a thousand wikis on one loopback server
// (/wNNNN/api.php), list=recentchanges|abuselog as a MediaWiki 1.43 wiki
// does (the shape of TestRecentChangesAgainstRealWiki's answers): each
// request lists perPoll new edits of the wiki, stamped with the
// benchmark's clock, and an empty abuse log. The edits are no reverts:
// what is measured is the cost of following, not of the alerts (a few a
// day, each a post and three reads of the wiki). 1,000 real wikis cannot run on one machine; the
// stand-ins cost the follower what a wiki's answer costs it, and nothing
// of a wiki's own time.
type standIns struct {
	srv      *httptest.Server
	perPoll  int
	now      func() time.Time
	requests atomic.Int64
	mu       sync.Mutex
	rcid     map[string]int64
}

func newStandIns(tb testing.TB, perPoll int, now func() time.Time) *standIns {
	s := &standIns{perPoll: perPoll, now: now, rcid: map[string]int64{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *standIns) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	wiki := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/api.php")
	s.mu.Lock()
	first := s.rcid[wiki]
	s.rcid[wiki] += int64(s.perPoll)
	s.mu.Unlock()
	now := s.now().UTC().Format(time.RFC3339)
	var b strings.Builder
	b.WriteString(`{"batchcomplete":true,"query":{"recentchanges":[`)
	for i := range s.perPoll {
		id := first + int64(i) + 1
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"edit","ns":0,"title":"Page %d","pageid":%d,"revid":%d,"old_revid":%d,"rcid":%d,"user":"Editor %d","timestamp":%q,"tags":[]}`,
			id%50, id%50+1, id+100, id+99, id, id%7, now)
	}
	b.WriteString(`]`)
	if strings.Contains(r.URL.RawQuery, "abuselog") {
		b.WriteString(`,"abuselog":[]`)
	}
	b.WriteString(`}}`)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write([]byte(b.String()))
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFollow1000Wikis follows 1,000 wikis (loopback stand-ins, see
// standIns) at the default interval of a minute, with an injected clock:
// each iteration is one interval, every wiki polled once, with the
// SQLite store keeping the cursors. It reports the requests an interval
// (a minute: requests per minute), the CPU time an interval takes, and the
// heap the follower keeps for the thousand wikis. Run it with:
//
//	go test ./bot/alerts -run '^$' -bench Follow1000Wikis -benchtime 10x -count 3
func BenchmarkFollow1000Wikis(b *testing.B) {
	for _, perPoll := range []int{0, 10} {
		b.Run(fmt.Sprintf("changes-per-minute=%d", perPoll), func(b *testing.B) {
			const farm = 1000
			clock := testenv.NewClock(time.Now())
			s := newStandIns(b, perPoll, clock.Now)
			db, err := storage.Open(filepath.Join(b.TempDir(), "w.db"), storage.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			// One transport for every wiki, as cmd/wikimod shares one.
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 32
			hc := &http.Client{Transport: tr}
			var wikis []alerts.Wiki
			for i := range farm {
				c, err := mw.New(mw.Config{APIURL: fmt.Sprintf("%s/w%04d/api.php", s.srv.URL, i), HTTPClient: hc})
				if err != nil {
					b.Fatal(err)
				}
				wikis = append(wikis, alerts.Wiki{Name: fmt.Sprintf("w%04d", i), Client: c})
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			f, err := alerts.New(alerts.Config{Store: db, Wikis: wikis, Channels: newInbox().channels, Now: clock.Now})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			ctx := context.Background()
			// The first interval reads each wiki's window (its warm-up).
			clock.Add(time.Minute)
			if n := len(f.PollDue(ctx)); n != farm {
				b.Fatalf("polled %d wikis, want %d", n, farm)
			}
			s.requests.Store(0)
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				clock.Add(time.Minute)
				if n := len(f.PollDue(ctx)); n != farm {
					b.Fatalf("polled %d wikis, want %d", n, farm)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(s.requests.Load())/float64(b.N), "requests/min")
			b.ReportMetric((cpuTime()-cpu).Seconds()*1000/float64(b.N), "cpu-ms/min")
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<20), "heap-MB")
		})
	}
}

// BenchmarkAlertDelay measures, on the real test wiki, the time from the
// third rollback of an edit war to the alert in the notice channel, with
// the follower running on the real clock at the shortest interval (a
// second) and at five seconds. The delay is at most an interval plus a
// poll: a minute's interval waits half a minute on average. Run it with:
//
//	go test ./bot/alerts -run '^$' -bench AlertDelay -benchtime 3x
func BenchmarkAlertDelay(b *testing.B) {
	w := devwiki.Need(b, wiki)
	for _, every := range []time.Duration{time.Second, 5 * time.Second} {
		b.Run("interval="+every.String(), func(b *testing.B) {
			db, err := storage.Open(filepath.Join(b.TempDir(), "w.db"), storage.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			c, err := mw.New(mw.Config{APIURL: w.APIURL})
			if err != nil {
				b.Fatal(err)
			}
			box := newInbox()
			f, err := alerts.New(alerts.Config{Store: db, Wikis: []alerts.Wiki{{Name: "en", Client: c}}, Channels: box.channels, Interval: every})
			if err != nil {
				b.Fatal(err)
			}
			if err := f.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var total, worst time.Duration
			for range b.N {
				b.StopTimer()
				title := testwait.Unique("Delay War ")
				who := editors(b, w, 3)
				ctx := context.Background()
				admin := as(b, w, "Admin", devwiki.AdminPassword)
				if err := admin.Edit(ctx, title, "The page."); err != nil {
					b.Fatal(err)
				}
				for _, e := range who[:2] {
					revert(b, w, title, e)
				}
				if err := as(b, w, who[2], userPassword).Edit(ctx, title, "Mine."); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := admin.Rollback(ctx, title, who[2]); err != nil {
					b.Fatal(err)
				}
				third := time.Now()
				testwait.For(b, "the alert", func() bool { return len(box.about(title)) > 0 })
				d := time.Since(third)
				total += d
				worst = max(worst, d)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-alert")
			b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
		})
	}
}
