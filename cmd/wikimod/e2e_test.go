package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
	"github.com/wikimod/wikimod/storage"
)

// The tests here run the wikimod binary itself, as an operator does, so that
// it can be killed with SIGKILL mid-work and started again.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// wikimodBinary builds wikimod once per test run.
func wikimodBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wikimod-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "wikimod")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// replyStandIn stands in for Slack's response URLs and Web API, and records
// every reply posted to a response URL.
type replyStandIn struct {
	srv     *httptest.Server
	mu      sync.Mutex
	replies map[string][]string // response URL path -> bodies
}

func newReplyStandIn(t testing.TB) *replyStandIn {
	s := &replyStandIn{replies: map[string][]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.HasPrefix(r.URL.Path, "/response/") {
			s.mu.Lock()
			s.replies[r.URL.Path] = append(s.replies[r.URL.Path], string(b))
			s.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *replyStandIn) replyCount() (paths, posts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.replies {
		paths++
		posts += len(r)
	}
	return paths, posts
}

// process is a running wikimod binary.
type process struct {
	cmd  *exec.Cmd
	base string
	logs *os.File
}

const e2eSecret = "e2e-signing-secret-0123456789"

// slackConfig writes a config that serves Slack over HTTP with the stand-in
// as its API, for the Slack user U-OPS as a sysop.
func slackConfig(t testing.TB, s *replyStandIn, extra string) string {
	return writeConfig(t, fmt.Sprintf(`slack_users = ["U-OPS"]

[slack]
mode = "http"
signing_secret = %q
bot_token = "xoxb-e2e"
api_url = %q
%s`, e2eSecret, s.srv.URL+"/api", extra))
}

// startProcess starts wikimod run with the config and waits for /healthz.
func startProcess(t testing.TB, config string) *process {
	t.Helper()
	cfg, err := LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := os.OpenFile(filepath.Join(filepath.Dir(config), "wikimod.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(wikimodBinary(t), "run", "-config", config)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, base: "http://" + cfg.HTTP.Listen, logs: logs}
	started := false
	t.Cleanup(func() {
		p.kill()
		logs.Close()
		if !started {
			out, _ := os.ReadFile(logs.Name())
			t.Logf("wikimod did not start; its log:\n%s", out)
		}
	})
	testwait.For(t, "wikimod to answer /healthz", func() bool {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	started = true
	return p
}

// passThrough stands between wikimod and the wiki and counts the requests
// the wiki has not answered yet. A request goes on to its answer even when
// its sender goes away, as the wiki's work on it does.
type passThrough struct {
	srv      *httptest.Server
	inflight atomic.Int64
}

func newPassThrough(t testing.TB) *passThrough {
	target, err := url.Parse(wiki.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	p := &passThrough{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.inflight.Add(1)
		defer p.inflight.Add(-1)
		// Neither the request's context nor the writer's CloseNotify (the
		// proxy's other way of noticing) tells it the sender has gone.
		proxy.ServeHTTP(struct{ http.ResponseWriter }{w}, r.WithContext(context.WithoutCancel(r.Context())))
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t testing.TB) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("wikimod exited with %v", err)
	}
}

// vmRSS reads the process's resident set size in bytes.
func vmRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// sendSlash posts one signed slash command and reports whether it was
// acknowledged (HTTP 200).
func sendSlash(ctx context.Context, client *http.Client, base, responseURL, text string) (bool, error) {
	return sendCommand(ctx, client, base, responseURL, "/protect", text)
}

// sendCommand posts one signed slash command and reports whether it was
// acknowledged (HTTP 200).
func sendCommand(ctx context.Context, client *http.Client, base, responseURL, command, text string) (bool, error) {
	form := url.Values{"user_id": {"U-OPS"}, "user_name": {"ops"}, "channel_id": {"C1"}, "command": {command},
		"text": {text}, "response_url": {responseURL}, "team_id": {"T1"}}
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/slack/commands", strings.NewReader(body))
	if err != nil {
		return false, err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", wikislack.Sign(e2eSecret, ts, []byte(body)))
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// TestKilledMidBurstSettlesAtRestart kills wikimod with SIGKILL in the
// middle of a burst of signed Slack /protect commands, and starts it again.
// The restart settles every audit row the kill left queued or pending
// against the wiki's protect log: none is left unfinished, every
// acknowledged command has exactly one row, and each row agrees with the
// wiki (ok: the page is protected; interrupted: it is not).
func TestKilledMidBurstSettlesAtRestart(t *testing.T) {
	s := newReplyStandIn(t)
	config := slackConfig(t, s, "")
	cfg, err := LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	between := newPassThrough(t)
	rewriteConfig(t, config, cfg.Wiki.APIURL, between.srv.URL+"/api.php", "")
	p := startProcess(t, config)
	prefix := testwait.Unique("Kill ")
	client := &http.Client{Timeout: 10 * time.Second}
	// A first command logs the bot in and warms its caches.
	if ok, err := sendSlash(context.Background(), client, p.base, s.srv.URL+"/response/warm", fmt.Sprintf(`"%s warm" create=sysop`, prefix)); !ok {
		t.Fatalf("warm-up not acknowledged: %v", err)
	}
	testwait.For(t, "the warm-up's reply", func() bool { paths, _ := s.replyCount(); return paths == 1 })
	const n, killAfter, senders = 120, 60, 3
	var (
		mu    sync.Mutex
		acked = map[int]bool{}
		wg    sync.WaitGroup
		once  sync.Once
	)
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += senders {
				ok, _ := sendSlash(context.Background(), client, p.base, s.srv.URL+"/response/"+strconv.Itoa(i),
					fmt.Sprintf(`"%s %d" create=sysop`, prefix, i))
				mu.Lock()
				if ok {
					acked[i] = true
				}
				if len(acked) == killAfter {
					once.Do(p.kill)
				}
				mu.Unlock()
				time.Sleep(10 * time.Millisecond) // a burst as people make it, not all at once
			}
		}()
	}
	wg.Wait()
	answeredBefore, _ := s.replyCount()
	answeredBefore-- // the warm-up
	// Let the wiki finish whatever the killed process had sent it.
	testwait.For(t, "the wiki to answer every request the killed process sent it", func() bool { return between.inflight.Load() == 0 })

	p2 := startProcess(t, config)
	p2.stop(t)

	db := openStorage(t, cfg.Storage.Path)
	recs := auditFor(t, db, prefix)
	for _, r := range recs {
		if r.outcome == "queued" || r.outcome == "pending" {
			t.Errorf("row %d left %s after the restart", r.id, r.outcome)
		}
	}
	applied, outcomes := checkEachOnce(t, prefix, n, acked, recs, func(title string) int {
		if pageProtected(t, title) {
			return 1
		}
		return 0
	})
	t.Logf("kill -9 mid-burst: %d sent, %d acknowledged, %d answered before the kill, %d audit rows, %d applied on the wiki; rows after restart: %v",
		n, len(acked), answeredBefore, len(recs), applied, outcomes)
	if outcomes["ok/"]+outcomes["ok/settled-from-log"] != applied {
		t.Errorf("%d pages protected, but the audit log says %d", applied, outcomes["ok/"]+outcomes["ok/settled-from-log"])
	}
}

// checkEachOnce checks the audit rows of a burst of n /protect commands on
// the pages "PREFIX i" against the wiki, where applied(title) says how many
// times the wiki protected the page: every acknowledged command has exactly
// one row and none has two; no page was protected twice, none without a
// row; and a row says ok exactly when the wiki protected its page. It
// returns how many pages were protected, and the rows' outcomes counted.
func checkEachOnce(t *testing.T, prefix string, n int, acked map[int]bool, recs []auditRow, applied func(title string) int) (protected int, outcomes map[string]int) {
	t.Helper()
	byTitle := map[string][]auditRow{}
	outcomes = map[string]int{}
	for _, r := range recs {
		byTitle[r.title] = append(byTitle[r.title], r)
		outcomes[r.outcome+"/"+r.code]++
	}
	for i := range n {
		title := fmt.Sprintf("%s %d", prefix, i)
		rows := byTitle[title]
		if acked[i] && len(rows) != 1 {
			t.Errorf("acknowledged command %d has %d audit rows", i, len(rows))
		}
		if len(rows) > 1 {
			t.Errorf("command %d has %d audit rows", i, len(rows))
		}
		times := applied(title)
		switch {
		case times > 1:
			t.Errorf("%q was protected %d times on the wiki", title, times)
		case times == 1:
			protected++
			if len(rows) == 0 {
				t.Errorf("%q is protected but has no audit row", title)
			}
		}
		for _, r := range rows {
			if (r.outcome == "ok") != (times == 1) {
				t.Errorf("%q: audit says %s/%s, the wiki protected it %d times", title, r.outcome, r.code, times)
			}
		}
	}
	return protected, outcomes
}

type auditRow struct {
	id                   int64
	title, outcome, code string
}

func openStorage(t testing.TB, path string) *storage.DB {
	t.Helper()
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// auditFor returns the audit rows of /protect commands on titles starting
// with prefix.
func auditFor(t testing.TB, db interface {
	Audit(context.Context, storage.AuditFilter) ([]commands.AuditRecord, error)
}, prefix string) []auditRow {
	t.Helper()
	recs, err := db.Audit(context.Background(), storage.AuditFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	var out []auditRow
	for _, r := range recs {
		if title := r.Args["_"]; strings.HasPrefix(title, prefix+" ") && title != prefix+" warm" {
			out = append(out, auditRow{r.ID, title, string(r.Outcome), r.Code})
		}
	}
	return out
}

// pageProtected reads from the wiki whether a page has create protection.
func pageProtected(t testing.TB, title string) bool {
	t.Helper()
	c, err := mw.New(mw.Config{APIURL: wiki.APIURL})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := c.PageProtections(context.Background(), title)
	if err != nil {
		t.Fatal(err)
	}
	return len(ps) > 0
}

// TestShutdownIsBounded: wikimod asked to stop while a command waits on a
// wiki that will not answer stops after [http] shutdown_timeout, without
// waiting for the wiki, and the command is answered "stopped" and audited.
func TestShutdownIsBounded(t *testing.T) {
	slow := newSlowWiki(t, time.Hour)
	s := newReplyStandIn(t)
	config := slackConfig(t, s, "")
	cfg, err := LoadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	rewriteConfig(t, config, cfg.Wiki.APIURL, slow.srv.URL+"/api.php", "")
	text, _ := os.ReadFile(config)
	writeFile(t, config, strings.Replace(string(text), "[http]\n", "[http]\nshutdown_timeout = \"2s\"\n", 1))
	p := startProcess(t, config)
	title := testwait.Unique("Shutdown ")
	if ok, err := sendSlash(context.Background(), http.DefaultClient, p.base, s.srv.URL+"/response/1", `"`+title+`" create=sysop`); !ok {
		t.Fatalf("not acknowledged: %v", err)
	}
	testwait.For(t, "the command to be stuck at the wiki (its login, token or read)", func() bool { return slow.inflight.Load() > 0 })
	p.stop(t)
	if slow.forwarded.Load() != 0 {
		t.Fatal("the wiki answered; the test shows nothing")
	}
	paths, posts := s.replyCount()
	if paths != 1 || posts != 1 {
		t.Fatalf("%d replies to %d commands, want 1", posts, paths)
	}
	s.mu.Lock()
	reply := s.replies["/response/1"][0]
	s.mu.Unlock()
	if !strings.Contains(reply, "stopping") {
		t.Errorf("reply = %s", reply)
	}
	recs := auditFor(t, openStorage(t, cfg.Storage.Path), "Shutdown")
	if len(recs) != 1 || recs[0].outcome == "queued" || recs[0].outcome == "pending" {
		t.Errorf("audit = %+v", recs)
	}
}
