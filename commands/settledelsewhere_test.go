package commands_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

// heldAnswer stands for a process frozen while the wiki answers one write
// of an action: the request reaches the wiki, which carries it out, and
// its answer reaches the process only once release is closed. held is
// closed when the answer has come.
type heldAnswer struct {
	action  string
	on      atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func (h *heldAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	form, _ := url.ParseQuery(string(body))
	if r.Method != http.MethodPost || form.Get("action") != h.action || !h.on.CompareAndSwap(true, false) {
		return http.DefaultTransport.RoundTrip(r)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(strings.NewReader(string(answer)))
	close(h.held)
	<-h.release
	return resp, nil
}

// auditRecord returns the audit record id.
func auditRecord(t *testing.T, env *testenv.Env, id int64) commands.AuditRecord {
	t.Helper()
	for _, r := range auditRows(t, env, 100) {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no audit record %d", id)
	return commands.AuditRecord{}
}

// TestTakenForDeadAnswersNoMore: a process whose lease lapsed while its
// command waited for the wiki's answer (frozen, stalled) is taken for dead
// by another, which settles the command's audit record from the wiki's
// log and tells the requester. When the process wakes and its command
// ends, it neither gives its own reply nor rewrites the record: the
// requester is answered once, by the notice, and the record stays as the
// settle wrote it.
func TestTakenForDeadAnswersNoMore(t *testing.T) {
	hold := &heldAnswer{action: "protect", held: make(chan struct{}), release: make(chan struct{})}
	logs := &testenv.LogBuffer{}
	env := testenv.New(t, wiki, testenv.Options{Transport: hold, Logger: logs.Logger()})
	released := false
	t.Cleanup(func() {
		if !released {
			close(hold.release)
		}
	})
	policy, err := commands.NewPolicy(testenv.DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	survivor, err := commands.New(commands.Config{Wiki: env.Bot, Policy: policy, Audit: env.DB, Instance: "survivor"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { survivor.Close(ctxTest) })

	title := testwait.Unique("Taken for dead ")
	requester := commands.Actor{Platform: "slack", UserID: "U-ADMIN", UserName: "admin", Channel: "C-MODS"}
	got := newReplies(1)
	hold.on.Store(true)
	if r, ok := env.Service.Submit(ctxTest, commands.Job{Actor: requester, Line: fmt.Sprintf(`/protect %q create=sysop`, title),
		Deliver: got.deliver(0)}); !ok {
		t.Fatalf("not taken: %s", r.String())
	}
	select {
	case <-hold.held:
	case <-time.After(3 * time.Minute): // only catches a hang
		t.Fatal("the wiki's answer to /protect never came")
	}

	// The process's lease has lapsed: the survivor takes it for dead.
	rep, err := survivor.Settle(ctxTest, env.DB, func(owner string) bool { return owner != "survivor" })
	if err != nil || rep != (commands.SettleReport{Applied: 1}) {
		t.Fatalf("Settle = %+v, %v; want the command applied, from the protect log", rep, err)
	}
	settled := env.LastAudit(t)
	if settled.Command != "protect" || settled.Outcome != commands.OutcomeOK {
		t.Fatalf("settled record = %+v", settled)
	}

	// The process wakes, and its command ends.
	close(hold.release)
	released = true
	closeCtx, cancel := context.WithTimeout(ctxTest, time.Minute)
	defer cancel()
	if err := env.Service.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	got.mu.Lock()
	own := len(got.got[0])
	got.mu.Unlock()
	if own != 0 {
		t.Errorf("the process taken for dead gave its own reply %d times, want none: the settle tells the requester", own)
	}
	if after := auditRecord(t, env, settled.ID); !reflect.DeepEqual(after, settled) {
		t.Errorf("the process taken for dead rewrote the settled record:\n%+v\nwas\n%+v", after, settled)
	}
	if !strings.Contains(logs.String(), "settled by another process") || !strings.Contains(logs.String(), fmt.Sprintf("id=%d", settled.ID)) {
		t.Errorf("the late end is not logged with its id:\n%s", logs.String())
	}

	slack := &told{}
	if rep, err := survivor.TellSettled(ctxTest, env.DB, "survivor", map[string]commands.Teller{"slack": slack}); err != nil || rep.Sent != 1 {
		t.Errorf("TellSettled = %+v, %v; want one sent", rep, err)
	}
	if msgs := slack.to("U-ADMIN"); len(msgs) != 1 || english(msgs[0].Reply.Title) != "Your command was carried out." {
		t.Errorf("the requester was told %+v, want once that it was carried out", msgs)
	}
}

// TestUnwrittenEndSettledByAnotherIsDropped: an end the audit log could
// not take waits to be written; when another process settled the record
// meanwhile (it took this one for dead), the retry drops the end instead
// of trying it forever, and the settle's end stands.
func TestUnwrittenEndSettledByAnotherIsDropped(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	policy, err := commands.NewPolicy(testenv.DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	audit := &flakyAudit{Auditor: env.DB}
	logs := &testenv.LogBuffer{}
	svc, err := commands.New(commands.Config{Wiki: env.Bot, Policy: policy, Audit: audit, Instance: "stalled", Logger: logs.Logger(),
		Queue: commands.QueueConfig{AuditRetry: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(ctxTest) })
	survivor, err := commands.New(commands.Config{Wiki: env.Bot, Policy: policy, Audit: env.DB, Instance: "survivor"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { survivor.Close(ctxTest) })

	audit.set(true)
	svc.ExecuteLine(ctxTest, admin, `/validatepassword password="A-long-enough-pass-4471" user="Stalled Test Newcomer"`)
	waiting := env.LastAudit(t)
	if waiting.Outcome != commands.OutcomePending || waiting.Owner != "stalled" {
		t.Fatalf("the command's record = %+v, want it pending, its end unwritten", waiting)
	}
	if rep, err := survivor.Settle(ctxTest, env.DB, func(owner string) bool { return owner == "stalled" }); err != nil || rep != (commands.SettleReport{Interrupted: 1}) {
		t.Fatalf("Settle = %+v, %v", rep, err)
	}
	settled := auditRecord(t, env, waiting.ID)

	audit.set(false)
	if left := svc.FlushAudit(ctxTest); left != 0 {
		t.Errorf("%d ends still unwritten, want the settled one dropped", left)
	}
	if after := auditRecord(t, env, waiting.ID); !reflect.DeepEqual(after, settled) {
		t.Errorf("the late end rewrote the settled record:\n%+v\nwas\n%+v", after, settled)
	}
	if !strings.Contains(logs.String(), "settled by another process") {
		t.Errorf("the dropped end is not logged:\n%s", logs.String())
	}
}
