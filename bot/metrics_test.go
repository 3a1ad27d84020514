package bot_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/mw"
)

func metricsText(t *testing.T, m *bot.Metrics) string {
	t.Helper()
	var b strings.Builder
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	return b.String()
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, l+"\n") {
			t.Errorf("metrics lack %q", l)
		}
	}
}

func TestMetricsEscapeLabelValues(t *testing.T) {
	m := bot.NewMetrics()
	m.SecurityEvent("slack", "quote\" backslash\\ newline\n end")
	m.WikiObserver("default")(mw.RequestInfo{Action: "query", ErrorCode: "bad\xffutf8"})
	text := metricsText(t, m)
	wantLines(t, text,
		`wikimod_security_events_total{kind="quote\" backslash\\ newline\n end",platform="slack"} 1`,
		`wikimod_wiki_errors_total{code="bad`+"\uFFFD"+`utf8",wiki="default"} 1`,
	)
	if v := m.Value("wikimod_security_events_total", "platform", "slack", "kind", "quote\" backslash\\ newline\n end"); v != 1 {
		t.Errorf("Value = %v, want 1", v)
	}
	if v := m.Value("wikimod_wiki_errors_total", "code", "bad\xffutf8"); v != 1 {
		t.Errorf("Value of an invalid label value = %v, want 1", v)
	}
}

func TestMetricsInitCommands(t *testing.T) {
	m := bot.NewMetrics()
	m.InitCommands([]string{"default"}, "protect", "help")
	m.ObserveCommand("default", "protect", "ok", time.Millisecond)
	text := metricsText(t, m)
	wantLines(t, text,
		`wikimod_commands_total{command="protect",outcome="ok",wiki="default"} 1`,
		`wikimod_command_duration_seconds_count{command="protect",wiki="default"} 1`,
		`wikimod_command_duration_seconds_count{command="help",wiki="default"} 0`,
		`wikimod_command_duration_seconds_bucket{command="help",wiki="default",le="30"} 0`,
	)
	for _, cmd := range []string{"protect", "help"} {
		for _, o := range []string{"denied", "invalid", "wiki_error", "failed", "unknown", "interrupted"} {
			wantLines(t, text, `wikimod_commands_total{command="`+cmd+`",outcome="`+o+`",wiki="default"} 0`)
		}
	}
	if strings.Contains(text, `outcome="queued"`) || strings.Contains(text, `outcome="pending"`) {
		t.Error("queued and pending are not outcomes a command ends with")
	}
}

// TestMetricsInitBounded: a farm's wikis start at zero only up to a bound,
// and each kind of refusal a platform names starts at zero.
func TestMetricsInitBounded(t *testing.T) {
	m := bot.NewMetrics()
	var wikis []string
	for i := range 25 {
		wikis = append(wikis, "wiki"+strconv.Itoa(i))
	}
	m.InitCommands(wikis, "protect")
	m.InitWikis(wikis)
	m.InitSecurity("discord", "bad-signature", "no-member")
	text := metricsText(t, m)
	wantLines(t, text,
		`wikimod_commands_total{command="protect",outcome="ok",wiki="wiki19"} 0`,
		`wikimod_wiki_errors_total{code="maxlag",wiki="wiki19"} 0`,
		`wikimod_wiki_errors_total{code="readonly",wiki="wiki0"} 0`,
		`wikimod_security_events_total{kind="bad-signature",platform="discord"} 0`,
		`wikimod_security_events_total{kind="no-member",platform="discord"} 0`,
	)
	if strings.Contains(text, `wiki="wiki20"`) {
		t.Error("the 21st wiki starts with series at zero")
	}
	if n := strings.Count(text, "\nwikimod_wiki_errors_total{"); n != 20*5 {
		t.Errorf("%d wiki error series at zero, want 5 codes for each of 20 wikis", n)
	}
}

// TestMetricsRegistererServesOthers: what other packages register through
// Registerer is served with wikimod's own metrics and read by Value; a name
// registered twice is refused; each Metrics has a registry of its own.
func TestMetricsRegistererServesOthers(t *testing.T) {
	m := bot.NewMetrics()
	posts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wikimod_test_posts_total", Help: "Posts, by kind."}, []string{"kind"})
	m.Registerer().MustRegister(posts)
	posts.WithLabelValues("notice")
	posts.WithLabelValues("result").Add(2)
	text := metricsText(t, m)
	wantLines(t, text,
		"# HELP wikimod_test_posts_total Posts, by kind.",
		"# TYPE wikimod_test_posts_total counter",
		`wikimod_test_posts_total{kind="notice"} 0`,
		`wikimod_test_posts_total{kind="result"} 2`,
	)
	if v := m.Value("wikimod_test_posts_total", "kind", "result"); v != 2 {
		t.Errorf("Value = %v, want 2", v)
	}
	again := prometheus.NewCounter(prometheus.CounterOpts{Name: "wikimod_test_posts_total", Help: "Posts, by kind."})
	if err := m.Registerer().Register(again); err == nil {
		t.Error("a second metric of the same name was registered")
	}
	if strings.Contains(metricsText(t, bot.NewMetrics()), "wikimod_test_posts_total") {
		t.Error("a metric leaked into another Metrics")
	}
}

// TestMetricsValue: Value sums the series whose labels match those given,
// reads a series never touched as 0 without creating it, and refuses a name
// or a label no metric has rather than read 0 for a test to trust.
func TestMetricsValue(t *testing.T) {
	m := bot.NewMetrics()
	m.ObserveCommand("en", "protect", "ok", time.Millisecond)
	m.ObserveCommand("de", "protect", "ok", time.Millisecond)
	m.ObserveCommand("de", "protect", "denied", time.Millisecond)
	m.ObserveCommand("de", "help", "ok", time.Millisecond)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"wikimod_commands_total", []string{"command", "protect"}, 3},
		{"wikimod_commands_total", []string{"command", "protect", "outcome", "ok"}, 2},
		{"wikimod_commands_total", []string{"outcome", "ok", "wiki", "de"}, 2},
		{"wikimod_commands_total", nil, 4},
		{"wikimod_command_duration_seconds", []string{"wiki", "de"}, 3},
		{"wikimod_commands_total", []string{"command", "never"}, 0},
		{"wikimod_wiki_requests_total", []string{"action", "login"}, 0}, // no series yet
	} {
		if got := m.Value(c.name, c.labels...); got != c.want {
			t.Errorf("Value(%s, %v) = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if strings.Contains(metricsText(t, m), `command="never"`) {
		t.Error("Value created the series it read")
	}
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"wikimod_commands_totl", nil},                              // no such metric
		{"wikimod_commands_total", []string{"comand", "protect"}},   // no such label
		{"wikimod_wiki_requests_total", []string{"acton", "login"}}, // no such label, no series yet
		{"wikimod_commands_total", []string{"command"}},             // odd labels
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Value(%s, %v) did not panic", c.name, c.labels)
				}
			}()
			m.Value(c.name, c.labels...)
		}()
	}
}

func TestMetricsGaugesAndRuntime(t *testing.T) {
	m := bot.NewMetrics()
	n := 3.0
	m.Registerer().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wikimod_commands_waiting", Help: "Commands waiting in the queue for their turn at the wiki."}, func() float64 { return n }))
	wantLines(t, metricsText(t, m), "wikimod_commands_waiting 3")
	n = 4
	text := metricsText(t, m)
	wantLines(t, text, "# TYPE wikimod_commands_waiting gauge", "wikimod_commands_waiting 4", "# TYPE go_goroutines gauge")
	if !strings.Contains(text, "\ngo_goroutines ") || !strings.Contains(text, "\ngo_gc_duration_seconds") {
		t.Error("the Go runtime collector is missing")
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil && !strings.Contains(text, "\nprocess_resident_memory_bytes ") {
		t.Error("the process collector is missing")
	}
	if v := m.Value("wikimod_commands_waiting"); v != 4 {
		t.Errorf("gauge Value = %v, want 4", v)
	}
}

func TestMetricsServeHTTP(t *testing.T) {
	m := bot.NewMetrics()
	m.ObserveCommand("default", "protect", "ok", time.Second)
	srv := httptest.NewServer(m)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("GET /metrics = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	wantLines(t, string(body), `wikimod_commands_total{command="protect",outcome="ok",wiki="default"} 1`, `wikimod_command_duration_seconds_bucket{command="protect",wiki="default",le="1"} 1`)
}

func TestMetricsConcurrent(t *testing.T) {
	m := bot.NewMetrics()
	observe := m.WikiObserver("default")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				m.ObserveCommand("default", "protect", "ok", time.Duration(i)*time.Millisecond)
				observe(mw.RequestInfo{Action: strconv.Itoa(j % 3)})
				m.SecurityEvent("slack", "bad-signature")
				if j%50 == 0 {
					m.WriteTo(io.Discard)
					m.Value("wikimod_wiki_requests_total", "action", "0")
				}
			}
		})
	}
	wg.Wait()
	if v := m.Value("wikimod_commands_total", "command", "protect", "outcome", "ok"); v != 1600 {
		t.Errorf("commands = %v, want 1600", v)
	}
	if v := m.Value("wikimod_wiki_requests_total", "action", "1"); v != 8*67 {
		t.Errorf("action 1 = %v, want %d", v, 8*67)
	}
	if v := m.Value("wikimod_security_events_total"); v != 1600 {
		t.Errorf("security events = %v, want 1600", v)
	}
}
