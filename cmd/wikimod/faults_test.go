package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/console"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/storage"
)

// TestPanicInACommandIsAnsweredOnTheConsole: a command that panics is
// answered and audited as failed, and the console goes on to the next line.
func TestPanicInACommandIsAnsweredOnTheConsole(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	boom := commands.Command{Spec: commands.Spec{Name: "boom", Usage: "/boom"},
		Run: func(context.Context, *commands.Request) (commands.Reply, error) { panic("a bug") }}
	var logs bytes.Buffer
	app, err := NewApp(cfg, AppOptions{LogOutput: &logs, Extra: []commands.Command{boom}})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	var out bytes.Buffer
	con, err := console.New(console.Config{Service: app.service, User: "admin", In: strings.NewReader("/boom\n/help\n"), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := con.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "internal error") || !strings.Contains(out.String(), "/protect") {
		t.Errorf("console output:\n%s", out.String())
	}
	recs, _ := app.db.Audit(context.Background(), storage.AuditFilter{Limit: 2})
	if len(recs) != 2 || recs[1].Command != "boom" || recs[1].Outcome != commands.OutcomeFailed {
		t.Errorf("audit = %+v", recs)
	}
	if !strings.Contains(logs.String(), "a bug") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("log lacks the panic and its stack:\n%s", logs.String())
	}
}

// TestFloodOfBadSignaturesCostsLittle sends 100,000 requests with bad
// signatures, from 500 addresses, through the real handlers of a running
// wikimod. Each is refused and counted, but the database and the log each
// grow by well under a megabyte: refusals are kept as per-minute counts and
// logged at a bounded rate.
func TestFloodOfBadSignaturesCostsLittle(t *testing.T) {
	const n = 100_000
	path := writeConfig(t, `
[slack]
mode = "http"
signing_secret = "flood-test-signing-secret"
bot_token = "xoxb-flood"
`)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.LogBuffer{}
	app, _, _ := startApp(t, cfg, AppOptions{LogOutput: logs})
	app.security.Flush(context.Background())
	dbBefore, logBefore := dbSize(t, cfg.Storage.Path), len(logs.String())

	handler := app.server.Mux()
	body := "command=%2Fprotect&text=Main+Page+edit%3Dsysop&user_id=U1"
	var wg sync.WaitGroup
	const workers = 8
	var refused atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
				req.RemoteAddr = fmt.Sprintf("198.51.100.%d:%d", i%250, 40000+i%500)
				if i%2 == 0 {
					req.RemoteAddr = fmt.Sprintf("203.0.113.%d:5000", i%250)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
				req.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("ab", 32))
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code == http.StatusUnauthorized {
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	app.security.Flush(context.Background())
	if refused.Load() != n {
		t.Fatalf("%d of %d refused", refused.Load(), n)
	}
	counts, err := app.db.SecurityCounts(context.Background(), time.Time{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range counts {
		total += c.Count
	}
	if total != n {
		t.Errorf("counted %d refusals, want %d", total, n)
	}
	if v := app.metrics.Value("wikimod_security_events_total", "platform", "slack", "kind", "bad-signature"); v != n {
		t.Errorf("metric counted %v", v)
	}
	dbGrowth, logGrowth := dbSize(t, cfg.Storage.Path)-dbBefore, len(logs.String())-logBefore
	t.Logf("%d refused requests: database +%d bytes, log +%d bytes, %d count rows", n, dbGrowth, logGrowth, len(counts))
	if dbGrowth >= 1<<20 || logGrowth >= 1<<20 {
		t.Errorf("database grew %d bytes and log %d bytes; each must stay under 1 MB", dbGrowth, logGrowth)
	}
	recs, _ := app.db.Audit(context.Background(), storage.AuditFilter{Limit: 1})
	if len(recs) != 0 {
		t.Errorf("a refused request was audited as a command: %+v", recs)
	}
}

// dbSize is the size of a SQLite database with its write-ahead log.
func dbSize(t *testing.T, path string) int {
	t.Helper()
	total := 0
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			total += int(fi.Size())
		}
	}
	return total
}

// TestAuditTextQuotesValues: `wikimod audit` writes each command as it
// could be typed again, quoting values with spaces, and names an unreadable
// command.
func TestAuditTextQuotesValues(t *testing.T) {
	recs := []commands.AuditRecord{
		{Platform: "console", UserID: "admin", Command: "createaccount", Outcome: commands.OutcomeOK,
			Args: map[string]string{"realname": "Dora D", "username": "Dora", "password": "[redacted]", "reason": `say "hi"`}},
		{Platform: "slack", UserID: "U1", Command: "[unparsed]", Outcome: commands.OutcomeInvalid, Code: "usage", Args: map[string]string{"_": "[unparsed]"}},
		{Platform: "slack", UserID: "U1", Command: "protect", Outcome: commands.OutcomeOK, Args: map[string]string{"_": "Main Page", "edit": "sysop"}},
	}
	var b bytes.Buffer
	if err := printAudit(&b, recs, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	for i, want := range []string{
		`/createaccount password=[redacted] realname="Dora D" reason="say \"hi\"" username=Dora -> ok`,
		`/[unparsed] [unparsed] -> invalid (usage)`,
		`/protect "Main Page" edit=sysop -> ok`,
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
		}
	}
}
