package bot_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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
	if err := m.Err(); err != nil {
		t.Error(err)
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

func TestMetricsDescribedByOthers(t *testing.T) {
	m := bot.NewMetrics()
	// Label names fixed by the first use.
	m.Describe("wikimod_test_posts_total", "counter", "Posts, by kind.")
	m.Describe("wikimod_test_posts_total", "counter", "Posts, by kind.") // a second adapter: harmless
	m.Init("wikimod_test_posts_total", []string{"kind", "result"}, []string{"kind", "notice"})
	m.Add("wikimod_test_posts_total", 2, "kind", "result")
	// Label names fixed by Describe, a series at zero without labels.
	m.Describe("wikimod_test_ack_seconds", "histogram", "Time to acknowledge, by type and kind.", "type", "kind")
	m.Observe("wikimod_test_ack_seconds", 30*time.Millisecond, "kind", "k", "type", "t") // any order
	m.Describe("wikimod_test_tick_seconds", "histogram", "Time for one tick.")
	m.Init("wikimod_test_tick_seconds")

	text := metricsText(t, m)
	wantLines(t, text,
		"# HELP wikimod_test_posts_total Posts, by kind.",
		"# TYPE wikimod_test_posts_total counter",
		`wikimod_test_posts_total{kind="notice"} 0`,
		`wikimod_test_posts_total{kind="result"} 2`,
		"# TYPE wikimod_test_ack_seconds histogram",
		`wikimod_test_ack_seconds_bucket{kind="k",type="t",le="0.025"} 0`,
		`wikimod_test_ack_seconds_bucket{kind="k",type="t",le="0.05"} 1`,
		`wikimod_test_ack_seconds_sum{kind="k",type="t"} 0.03`,
		`wikimod_test_tick_seconds_count 0`,
	)
	if v := m.Value("wikimod_test_posts_total", "kind", "result"); v != 2 {
		t.Errorf("counter Value = %v, want 2", v)
	}
	if v := m.Value("wikimod_test_ack_seconds", "type", "t", "kind", "k"); v != 1 {
		t.Errorf("histogram Value = %v, want its count, 1", v)
	}
	if v := m.Value("wikimod_test_posts_total", "kind", "never"); v != 0 {
		t.Errorf("untouched series Value = %v, want 0", v)
	}
	if strings.Contains(metricsText(t, m), `kind="never"`) {
		t.Error("Value created the series it read")
	}
	if err := m.Err(); err != nil {
		t.Error(err)
	}
}

func TestMetricsMisuseIsReportedOnceAndDropped(t *testing.T) {
	var logged strings.Builder
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	m := bot.NewMetrics()
	m.Describe("wikimod_test_total", "counter", "Tests, by kind.", "kind")
	for range 3 {
		m.Add("wikimod_test_totl", 1, "kind", "x")  // undeclared name
		m.Add("wikimod_test_total", 1, "knid", "x") // wrong label name
		m.Add("wikimod_test_total", 1)              // missing label
		m.Add("wikimod_test_total", 1, "kind")      // odd labels
		m.Add("wikimod_test_total", 1, "kind", "a", "kind", "b")
		m.Add("wikimod_test_total", -1, "kind", "x")    // would panic in the library
		m.Observe("wikimod_test_total", 0, "kind", "x") // wrong kind
		m.Add("wikimod_command_duration_seconds", 1, "command", "x")
	}
	m.Describe("wikimod_test_total", "histogram", "Tests, by kind.") // redeclared as another kind
	m.Describe("wikimod_test_total", "counter", "Tests, by kind.", "platform")
	m.Describe("wikimod_test_gauge", "gauge", "Use Gauge.")
	m.Describe("wikimod-test", "counter", "Not a name.")
	m.Describe("wikimod_test_seconds", "histogram", "Reserved label.", "le")
	m.Gauge("go_goroutines", "Clashes with the Go collector.", func() float64 { return 1 })
	m.Value("wikimod_test_total", "platform", "x")

	err := m.Err()
	if err == nil {
		t.Fatal("no misuse reported")
	}
	problems := strings.Split(err.Error(), "\n")
	t.Logf("reported:\n%v", err)
	if len(problems) != 15 {
		t.Errorf("%d problems reported, want 15, each once", len(problems))
	}
	if n := strings.Count(logged.String(), "level=ERROR msg=\"metric misused"); n != 15 {
		t.Errorf("%d problems logged, want 15, each once:\n%s", n, logged.String())
	}
	for _, want := range []string{"wikimod_test_totl", "knid", "alternate", "-1", "not a histogram", `"le"`, "go_goroutines", "declared with Gauge"} {
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
			t.Errorf("no problem mentions %q", want)
		}
	}
	text := metricsText(t, m)
	if strings.Contains(text, "wikimod_test_total{") || strings.Contains(text, `command="x"`) {
		t.Errorf("a misused value was recorded:\n%s", text)
	}
	if v := m.Value("wikimod_test_total", "kind", "x"); v != 0 {
		t.Errorf("Value = %v, want 0", v)
	}
}

func TestMetricsGaugesAndRuntime(t *testing.T) {
	m := bot.NewMetrics()
	n := 3.0
	m.Gauge("wikimod_commands_waiting", "Commands waiting in the queue for their turn at the wiki.", func() float64 { return n })
	wantLines(t, metricsText(t, m), "wikimod_commands_waiting 3")
	n = 4
	wantLines(t, metricsText(t, m), "wikimod_commands_waiting 4")
	m.Gauge("wikimod_commands_waiting", "Commands waiting in the queue for their turn at the wiki.", func() float64 { return 7 })
	text := metricsText(t, m)
	wantLines(t, text, "# TYPE wikimod_commands_waiting gauge", "wikimod_commands_waiting 7", "# TYPE go_goroutines gauge")
	if !strings.Contains(text, "\ngo_goroutines ") || !strings.Contains(text, "\ngo_gc_duration_seconds") {
		t.Error("the Go runtime collector is missing")
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil && !strings.Contains(text, "\nprocess_resident_memory_bytes ") {
		t.Error("the process collector is missing")
	}
	if v := m.Value("wikimod_commands_waiting"); v != 7 {
		t.Errorf("gauge Value = %v, want 7", v)
	}
	if err := m.Err(); err != nil {
		t.Error(err)
	}
	// Each Metrics has its own registry.
	other := bot.NewMetrics()
	if strings.Contains(metricsText(t, other), "wikimod_commands_waiting") {
		t.Error("a gauge leaked into another Metrics")
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
	m.Describe("wikimod_test_total", "counter", "Tests, by kind.")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				m.Add("wikimod_test_total", 1, "kind", strconv.Itoa(j%3))
				m.ObserveCommand("default", "protect", "ok", time.Duration(i)*time.Millisecond)
				m.Describe("wikimod_test_total", "counter", "Tests, by kind.")
				if j%50 == 0 {
					m.WriteTo(io.Discard)
					m.Value("wikimod_test_total", "kind", "0")
				}
			}
		})
	}
	wg.Wait()
	if v := m.Value("wikimod_commands_total", "command", "protect", "outcome", "ok"); v != 1600 {
		t.Errorf("commands = %v, want 1600", v)
	}
	if v := m.Value("wikimod_test_total", "kind", "1"); v != 8*67 {
		t.Errorf("kind 1 = %v, want %d", v, 8*67)
	}
	if err := m.Err(); err != nil {
		t.Error(err)
	}
}

// metricCall is one call of a Metrics method found in the module's source.
type metricCall struct {
	pos    string
	method string
	name   string
	args   []ast.Expr // after the name
	spread bool       // the call ends in ...
}

// TestMetricNames finds every call to a Metrics method with a literal
// metric name in the module, tests included, and replays them on one
// Metrics: declarations first, then counts, then reads. An undeclared name,
// a label set that differs between callers, or a declaration that clashes
// fails here instead of dropping values in production.
func TestMetricNames(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	self := filepath.Join(root, "bot", "metrics_test.go") // its misuse is deliberate
	var calls []metricCall
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || path == self {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch sel.Sel.Name {
			case "Describe", "Gauge", "Add", "Observe", "Init", "Value":
			default:
				return true
			}
			pos := fset.Position(call.Pos())
			pos.Filename, _ = filepath.Rel(root, pos.Filename)
			name, isLit := stringLit(call.Args[0])
			onMetrics := strings.Contains(strings.ToLower(types.ExprString(sel.X)), "metrics")
			switch {
			case isLit && (strings.HasPrefix(name, "wikimod_") || onMetrics):
			case onMetrics:
				t.Errorf("%s: %s: name the metric with a string literal so this test can check it", pos, types.ExprString(call))
				return true
			default:
				return true
			}
			calls = append(calls, metricCall{pos: pos.String(), method: sel.Sel.Name, name: name, args: call.Args[1:], spread: call.Ellipsis.IsValid()})
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	order := map[string]int{"Describe": 0, "Gauge": 0, "Add": 1, "Observe": 1, "Init": 1, "Value": 2}
	sort.SliceStable(calls, func(i, j int) bool { return order[calls[i].method] < order[calls[j].method] })

	// Callers that disagree on a metric's labels, all named: replaying
	// alone would blame whoever came second.
	labelSets := map[string]map[string][]string{} // name -> label names -> where
	for _, c := range calls {
		if c.method != "Add" && c.method != "Observe" || c.spread {
			continue
		}
		var names []string
		for i := 1; i < len(c.args); i += 2 {
			s, _ := stringLit(c.args[i])
			names = append(names, s)
		}
		sort.Strings(names)
		key := "[" + strings.Join(names, " ") + "]"
		if labelSets[c.name] == nil {
			labelSets[c.name] = map[string][]string{}
		}
		labelSets[c.name][key] = append(labelSets[c.name][key], c.pos)
	}
	for name, sets := range labelSets {
		if len(sets) > 1 {
			t.Errorf("callers disagree on the labels of %s: %v", name, sets)
		}
	}

	m := bot.NewMetrics()
	seen := map[string]int{}
	for _, c := range calls {
		seen[c.method]++
		before := errText(m)
		if !replay(t, m, c) {
			continue
		}
		if after := errText(m); after != before {
			t.Errorf("%s: %s(%q): %s", c.pos, c.method, c.name, strings.TrimSpace(strings.TrimPrefix(after, before)))
		}
	}
	if seen["Describe"] == 0 || seen["Add"] == 0 || seen["Observe"] == 0 || seen["Value"] == 0 {
		t.Errorf("found too few calls to trust the search: %v", seen)
	}
	t.Logf("replayed %d calls: %v", len(calls), seen)
}

func errText(m *bot.Metrics) string {
	if err := m.Err(); err != nil {
		return err.Error()
	}
	return ""
}

// replay makes call c on m, with placeholders for values that are not
// literals. It reports false, having failed the test, for a call it cannot
// check.
func replay(t *testing.T, m *bot.Metrics, c metricCall) bool {
	t.Helper()
	cannot := func(why string) bool {
		t.Errorf("%s: %s(%q): %s, so TestMetricNames cannot check it", c.pos, c.method, c.name, why)
		return false
	}
	if c.spread && c.method != "Init" {
		return cannot("its labels are passed with ...")
	}
	labels := func(args []ast.Expr) ([]string, bool) {
		var out []string
		for i, a := range args {
			s, ok := stringLit(a)
			if !ok && i%2 == 0 {
				return nil, false
			}
			if !ok {
				s = "x"
			}
			out = append(out, s)
		}
		return out, true
	}
	switch c.method {
	case "Describe":
		lits, ok := labels(c.args)
		if len(c.args) < 2 || !ok || !isLit(c.args[0]) || !isLit(c.args[1]) {
			return cannot("its kind, help and labels are not all literals")
		}
		m.Describe(c.name, lits[0], lits[1], lits[2:]...)
	case "Gauge":
		help, ok := stringLit(c.args[0])
		if !ok {
			return cannot("its help is not a literal")
		}
		m.Gauge(c.name, help, func() float64 { return 0 })
	case "Add", "Observe", "Value":
		args := c.args
		if c.method != "Value" {
			args = args[1:]
		}
		lits, ok := labels(args)
		if !ok {
			return cannot("a label name is not a literal")
		}
		switch c.method {
		case "Add":
			m.Add(c.name, 1, lits...)
		case "Observe":
			m.Observe(c.name, time.Millisecond, lits...)
		case "Value":
			m.Value(c.name, lits...)
		}
	case "Init":
		if c.spread {
			return cannot("its label sets are passed with ...")
		}
		var sets [][]string
		for _, a := range c.args {
			cl, ok := a.(*ast.CompositeLit)
			if !ok {
				return cannot("a label set is not a []string{...} literal")
			}
			set, ok := labels(cl.Elts)
			if !ok {
				return cannot("a label name is not a literal")
			}
			sets = append(sets, set)
		}
		m.Init(c.name, sets...)
	}
	return true
}

func isLit(e ast.Expr) bool {
	_, ok := stringLit(e)
	return ok
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
