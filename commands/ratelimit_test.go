package commands_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
)

// TestFloodFromOnePersonIsBounded: 3,000 commands from one person in a
// burst. Past their limit each is refused at once, before the permission
// layer or the wiki, with a reply that says when to try again; only the
// first refusal of the run is an audit row, the rest are counted as
// refused requests. Another person is not held back, and after the wait
// the first may give a command again.
func TestFloodFromOnePersonIsBounded(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	env := testenv.New(t, wiki, testenv.Options{Now: clock.Now, UserLimit: commands.UserLimit{Rate: 60, Burst: 5}})
	var mu sync.Mutex
	var delivered []commands.Reply
	var wg sync.WaitGroup
	submit := func(a commands.Actor, line string) (commands.Reply, bool) {
		wg.Add(1)
		r, ok := env.Service.Submit(ctxTest, commands.Job{Actor: a, Line: line, Deliver: func(_ context.Context, r commands.Reply) {
			mu.Lock()
			delivered = append(delivered, r)
			mu.Unlock()
			wg.Done()
		}})
		if !ok {
			wg.Done()
		}
		return r, ok
	}
	const n = 3000
	accepted, refused := 0, 0
	var refusal commands.Reply
	for i := 0; i < n; i++ {
		r, ok := submit(nobody, x(t, `/protect "Flood SFX" create=sysop`))
		if ok {
			accepted++
			continue
		}
		refused++
		refusal = r
	}
	wg.Wait()
	if accepted != 5 || refused != n-5 {
		t.Fatalf("accepted %d, refused %d; want 5 and %d", accepted, refused, n-5)
	}
	if refusal.Outcome != commands.OutcomeDenied || refusal.Code != commands.KindRateLimited || !strings.Contains(english(refusal.Text), "Try again in 1 second") {
		t.Errorf("refusal: %s/%s %s", refusal.Outcome, refusal.Code, refusal.String())
	}
	noEnglish(t, "the refusal", refusal)
	if got := wikiRequests(env, "protect"); got != 0 {
		t.Errorf("the wiki saw %v protect requests", got)
	}
	recs := auditRows(t, env, 100)
	limited := 0
	for _, r := range recs {
		if r.Code == commands.KindRateLimited {
			limited++
		}
	}
	if len(recs) != 6 || limited != 1 {
		t.Errorf("audit rows = %d (%d rate-limited), want 6: the 5 accepted (denied) and 1 refusal", len(recs), limited)
	}
	if v := env.Metrics.Value("wikimod_security_events_total", "platform", "console", "kind", commands.KindRateLimited); v != n-5 {
		t.Errorf("rate-limited refusals counted = %v, want %d", v, n-5)
	}

	// Someone else is not held back by it.
	if _, ok := submit(admin, `/help`); !ok {
		t.Error("another person was refused")
	}
	// A second later, one more command is taken; the next refusal after it
	// starts a new run, and is audited again.
	clock.Add(time.Second)
	if _, ok := submit(nobody, `/help`); !ok {
		t.Error("a command after the wait was refused")
	}
	if _, ok := submit(nobody, `/help`); ok {
		t.Error("the next command at once was taken")
	}
	wg.Wait()
	if recs := auditRows(t, env, 100); len(recs) != 9 {
		t.Errorf("audit rows = %d, want 9", len(recs))
	}
}
