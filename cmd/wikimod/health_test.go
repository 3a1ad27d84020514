package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/testenv"
)

// TestHealthzAsksTheWikiForReal: /healthz reports the wiki down while it is
// frozen (not the cached site information), asks it at most once per
// interval however often it is called, and never logs in to do so.
func TestHealthzAsksTheWikiForReal(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	clock := testenv.NewClock(time.Now())
	app, base, _ := startApp(t, cfg, AppOptions{Now: clock.Now})
	logins := func() float64 { return app.metrics.Value("wikimod_wiki_requests_total", "action", "login") }
	queries := func() float64 { return app.metrics.Value("wikimod_wiki_requests_total", "action", "query") }

	clock.Add(time.Minute)
	resp, body := get(t, base+"/healthz")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d %s", resp.StatusCode, body)
	}
	loginsBefore, queriesBefore := logins(), queries()
	for range 20 {
		get(t, base+"/healthz")
	}
	if n := queries() - queriesBefore; n != 0 {
		t.Errorf("20 calls inside the interval asked the wiki %v times", n)
	}

	if err := wiki.Freeze(); err != nil {
		t.Fatal(err)
	}
	thawed := false
	defer func() {
		if !thawed {
			wiki.Thaw()
		}
	}()
	clock.Add(healthEvery)
	resp, body = get(t, base+"/healthz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, cfg.Wiki.APIURL) {
		t.Errorf("healthz with the wiki frozen = %d %s", resp.StatusCode, body)
	}
	wiki.Thaw()
	thawed = true
	clock.Add(healthEvery)
	if resp, body = get(t, base+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz after the wiki resumed = %d %s", resp.StatusCode, body)
	}
	if n := logins() - loginsBefore; n != 0 {
		t.Errorf("the health checks logged in %v times", n)
	}
}

// TestAdminListenServesHealthAndMetricsApart: with [http] admin_listen,
// /healthz and /metrics (and, with profiling, Go's profiles) are served
// there and not on the public listener.
func TestAdminListenServesHealthAndMetricsApart(t *testing.T) {
	admin := freeAddr(t)
	cfg, err := LoadConfig(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.AdminListen = admin
	cfg.HTTP.Profiling = true
	_, base, _ := startApp(t, cfg, AppOptions{})
	waitHTTP(t, "http://"+admin+"/healthz")
	if resp, body := get(t, "http://"+admin+"/debug/pprof/heap?debug=1"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Errorf("admin heap profile = %d %.200s", resp.StatusCode, body)
	}
	for _, path := range []string{"/healthz", "/metrics", "/debug/pprof/heap"} {
		if resp, body := get(t, "http://"+admin+path); resp.StatusCode != http.StatusOK {
			t.Errorf("admin %s = %d %s", path, resp.StatusCode, body)
		}
		if resp, _ := get(t, base+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("public %s = %d, want 404", path, resp.StatusCode)
		}
	}
}

// TestProfilingNeedsAdminListen: profiles are never offered on the address
// Slack and Discord reach, so profiling without admin_listen is refused.
func TestProfilingNeedsAdminListen(t *testing.T) {
	path := writeConfig(t, "")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, strings.Replace(string(text), "[http]\n", "[http]\nprofiling = true\n", 1))
	_, err = LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), "http.profiling needs http.admin_listen") {
		t.Fatalf("LoadConfig = %v, want a refusal naming admin_listen", err)
	}
}

// TestAuditNeedsOnlyStorage: `wikimod audit` runs with a config that has
// only [storage], no wiki and no platform secrets.
func TestAuditNeedsOnlyStorage(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/audit.toml"
	writeFile(t, path, "[storage]\npath = \""+dir+"/wikimod.db\"\n")
	var out, errOut strings.Builder
	if code := Main([]string{"audit", "-config", path}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("audit exited %d: %s", code, errOut.String())
	}
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

var osReadFile = os.ReadFile

// TestMetricsDeclaredAtZero: /metrics lists every command's counters at
// zero before any command has run.
func TestMetricsDeclaredAtZero(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	_, base, _ := startApp(t, cfg, AppOptions{})
	_, body := get(t, base+"/metrics")
	for _, want := range []string{
		`wikimod_commands_total{command="protect",outcome="ok",wiki="default"} 0`,
		`wikimod_commands_total{command="createaccount",outcome="unknown",wiki="default"} 0`,
		`wikimod_commands_waiting 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
