package bot_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/mw"
)

func TestMetricsText(t *testing.T) {
	m := bot.NewMetrics()
	m.ObserveCommand("default", "protect", "ok", 20*time.Millisecond)
	m.ObserveCommand("default", "protect", "ok", 2*time.Second)
	m.WikiObserver("default")(mw.RequestInfo{Action: "protect", Duration: 7 * time.Millisecond, ErrorCode: "badtoken"})
	m.SecurityEvent("slack", "bad-signature")
	var b strings.Builder
	m.WriteTo(&b)
	text := b.String()
	for _, want := range []string{
		"# TYPE wikimod_commands_total counter\n",
		`wikimod_commands_total{command="protect",outcome="ok",wiki="default"} 2` + "\n",
		`wikimod_command_duration_seconds_bucket{command="protect",wiki="default",le="0.025"} 1` + "\n",
		`wikimod_command_duration_seconds_bucket{command="protect",wiki="default",le="2.5"} 2` + "\n",
		`wikimod_command_duration_seconds_bucket{command="protect",wiki="default",le="+Inf"} 2` + "\n",
		`wikimod_command_duration_seconds_count{command="protect",wiki="default"} 2` + "\n",
		`wikimod_wiki_errors_total{code="badtoken",wiki="default"} 1` + "\n",
		`wikimod_security_events_total{kind="bad-signature",platform="slack"} 1` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if m.Value("wikimod_commands_total", "command", "protect", "outcome", "ok") != 2 {
		t.Error("Value disagrees with the text")
	}
}

func TestServerHealth(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	s := bot.NewServer(bot.ServerConfig{Listen: "127.0.0.1:0", Metrics: bot.NewMetrics(), Checks: []bot.Check{
		{Name: "wiki", Func: func(context.Context) error {
			if healthy.Load() {
				return nil
			}
			return errors.New("not logged in")
		}},
	}})
	s.Mux().HandleFunc("POST /x", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "mounted") })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	base := "http://" + s.Addr()
	check := func(wantCode int, wantBody string) {
		t.Helper()
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantCode || !strings.Contains(string(b), wantBody) {
			t.Errorf("healthz = %d %s, want %d with %s", resp.StatusCode, b, wantCode, wantBody)
		}
	}
	check(200, `"wiki":"ok"`)
	healthy.Store(false)
	check(503, `"wiki":"not logged in"`)
	resp, err := http.Post(base+"/x", "text/plain", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("mounted handler: %v %v", resp, err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Error(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
