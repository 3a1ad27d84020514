package commands_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/storage"
)

// TestAuditLockedEveryCommandEndsAsAnswered takes the SQLite database's
// write lock from another connection, as a backup or an operator's
// sqlite3 shell may, in the middle of a run of queued /protect commands,
// and holds it until the audit log has failed to take the end of one.
// Once the lock is let go, every acknowledged command's record ends, with
// no wait but for that, with the outcome its reply gave: none stays queued
// or pending while the process lives.
func TestAuditLockedEveryCommandEndsAsAnswered(t *testing.T) {
	logs := &testenv.LogBuffer{}
	env := testenv.New(t, wiki, testenv.Options{Logger: logs.Logger(), Queue: commands.QueueConfig{AuditRetry: 100 * time.Millisecond}})
	prefix := testwait.Unique("Locked audit ")
	const n = 10
	got := newReplies(n)
	for i := range n {
		if reply, ok := env.Service.Submit(ctxTest, commands.Job{Actor: admin, Line: fmt.Sprintf(`/protect "%s %d" create=sysop`, prefix, i),
			Deliver: got.deliver(i)}); !ok {
			t.Fatalf("command %d refused: %+v", i, reply)
		}
	}
	answered := func() int {
		got.mu.Lock()
		defer got.mu.Unlock()
		return len(got.got)
	}
	testwait.For(t, "the first two replies", func() bool { return answered() >= 2 })

	lock, err := sql.Open("sqlite3", "file:"+env.DBPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	conn, err := lock.Conn(ctxTest)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctxTest, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "a command's end the audit log did not take", func() bool {
		return strings.Contains(logs.String(), "it is tried again until the audit log takes it")
	})
	if _, err := conn.ExecContext(ctxTest, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	got.wait(t)

	byTitle := func() map[string]commands.AuditRecord {
		recs, err := env.DB.Audit(ctxTest, storage.AuditFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]commands.AuditRecord{}
		for _, r := range recs {
			out[r.Args["_"]] = r
		}
		return out
	}
	matches := func(i int, r commands.AuditRecord) bool {
		reply := got.got[i][0]
		return r.Outcome == reply.Outcome && r.Code == reply.Code
	}
	testwait.For(t, "every record to end as its command was answered", func() bool {
		recs := byTitle()
		got.mu.Lock()
		defer got.mu.Unlock()
		for i := range n {
			if !matches(i, recs[fmt.Sprintf("%s %d", prefix, i)]) {
				return false
			}
		}
		return true
	})
	outcomes := map[string]int{}
	for i := range n {
		got.mu.Lock()
		if len(got.got[i]) != 1 {
			t.Errorf("command %d answered %d times", i, len(got.got[i]))
		}
		outcomes[string(got.got[i][0].Outcome)+"/"+got.got[i][0].Code]++
		got.mu.Unlock()
	}
	t.Logf("replies, each now its record's outcome: %v", outcomes)
}

// TestUnwrittenEndsBoundTheQueue: while the ends of as many commands as
// the queue holds wait for the audit log, new commands are refused at
// once, as when the audit log fails; once they are written, commands are
// taken again.
func TestUnwrittenEndsBoundTheQueue(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	policy, err := commands.NewPolicy(testenv.DefaultRules)
	if err != nil {
		t.Fatal(err)
	}
	audit := &flakyAudit{Auditor: env.DB}
	svc, err := commands.New(commands.Config{Wiki: env.Bot, Policy: policy, Audit: audit, Instance: "me",
		Queue: commands.QueueConfig{Capacity: 2, AuditRetry: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(ctxTest) })
	audit.set(true)
	submit := func(i int, deliver func(context.Context, commands.Reply)) (commands.Reply, bool) {
		return svc.Submit(ctxTest, commands.Job{Actor: admin, Line: fmt.Sprintf(`/validatepassword password="A-long-enough-pass-%d"`, i), Deliver: deliver})
	}
	got := newReplies(2)
	for i := range 2 {
		if _, ok := submit(i, got.deliver(i)); !ok {
			t.Fatalf("command %d refused", i)
		}
	}
	got.wait(t)
	before := len(auditRows(t, env, 100))
	if reply, ok := submit(3, nil); ok || reply.Code != "audit-unavailable" {
		t.Errorf("with 2 ends unwritten and room for 2 in the queue: %+v, %v; want refused", reply, ok)
	} else {
		noEnglish(t, "audit unavailable", reply)
	}
	if after := len(auditRows(t, env, 100)); after != before {
		t.Errorf("the refused command was begun in the audit log: %d records, then %d", before, after)
	}
	audit.set(false)
	if left := svc.FlushAudit(ctxTest); left != 0 {
		t.Fatalf("%d ends unwritten", left)
	}
	done := newReplies(1)
	if reply, ok := submit(4, done.deliver(0)); !ok {
		t.Errorf("after the ends were written: refused with %+v", reply)
	}
	done.wait(t)
	for _, r := range auditRows(t, env, 100) {
		if r.Outcome == commands.OutcomeQueued || r.Outcome == commands.OutcomePending {
			t.Errorf("record %d left %s", r.ID, r.Outcome)
		}
	}
}
