package mw_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// loginCounter counts the requests of each action a client sends, through
// Config.Observe.
type loginCounter struct{ logins atomic.Int64 }

func (l *loginCounter) observe(ri mw.RequestInfo) {
	if ri.Action == "login" {
		l.logins.Add(1)
	}
}

// TestInvalidatedSessionAgainstRealWiki invalidates the bot's session on the
// wiki's side and then fires many commands at once. Every one must succeed,
// and exactly one login must replace the lost session: the answers to the
// requests sent under the old session delete its cookies, and they must not
// delete the new session's.
func TestInvalidatedSessionAgainstRealWiki(t *testing.T) {
	w := devwiki.Need(t, wiki)
	for _, bound := range []int{500, 0} {
		name := fmt.Sprintf("MaxConcurrent=%d", bound)
		if bound == 0 {
			name = "MaxConcurrent=default"
		}
		t.Run(name, func(t *testing.T) {
			var lc loginCounter
			c := newBot(t, nil, func(cfg *mw.Config) {
				cfg.Observe = lc.observe
				// With 500, every command is in flight at once, as a burst
				// would be with no bound: answers to requests sent under
				// the old session then keep arriving after the new login,
				// which is the race to survive. With the default, most
				// commands wait for a slot and meet the new session there.
				cfg.MaxConcurrent = bound
			})
			invalidatedBurst(t, w, c, &lc)
		})
	}
}

func invalidatedBurst(t *testing.T, w *devwiki.Wiki, c *mw.Client, lc *loginCounter) {
	ctx := context.Background()
	// Titles unique to this run, so that the test can run again on the same wiki.
	prefix := testwait.Unique("Session Race ")
	if _, err := c.Protect(ctx, mw.ProtectParams{
		Title: prefix + " warm", Protections: []mw.Protection{{Action: "create", Level: "sysop"}},
	}); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	for round := 1; round <= 3; round++ {
		for _, n := range []int{20, 100, 500} {
			before := lc.logins.Load()
			if err := w.InvalidateSessions(ctx, "Admin"); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var ok atomic.Int64
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					if n <= 100 {
						// Real writes for the smaller batches.
						_, err = c.Protect(ctx, mw.ProtectParams{
							Title:       fmt.Sprintf("%s %d-%d-%d", prefix, round, n, i),
							Protections: []mw.Protection{{Action: "create", Level: "sysop"}},
						})
					} else {
						_, err = c.ValidatePassword(ctx, mw.ValidatePasswordParams{Password: fmt.Sprintf("a long test password %d", i)})
					}
					if err != nil {
						errs <- err
						return
					}
					ok.Add(1)
				}()
			}
			wg.Wait()
			close(errs)
			logins := lc.logins.Load() - before
			t.Logf("round %d: N=%d sent=%d succeeded=%d logins=%d", round, n, n, ok.Load(), logins)
			failures := 0
			for err := range errs {
				if failures++; failures <= 3 {
					t.Errorf("round %d, N=%d: %v", round, n, err)
				}
			}
			if failures > 0 {
				t.Errorf("round %d, N=%d: %d of %d commands failed", round, n, failures, n)
			}
			if logins != 1 {
				t.Errorf("round %d, N=%d: %d logins after one invalidation, want 1", round, n, logins)
			}
		}
	}
}
