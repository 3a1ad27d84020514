package mw_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/mw"
)

func TestPingAgainstRealWiki(t *testing.T) {
	w := devwiki.Need(t, wiki)
	var requests, logins atomic.Int64
	c := newBot(t, nil, func(cfg *mw.Config) {
		cfg.Observe = func(ri mw.RequestInfo) {
			requests.Add(1)
			if ri.Action == "login" {
				logins.Add(1)
			}
		}
	})
	ctx := context.Background()

	t.Run("running", func(t *testing.T) {
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("ping a running wiki: %v", err)
		}
		if n := requests.Load(); n != 1 {
			t.Errorf("ping sent %d requests, want 1", n)
		}
		if logins.Load() != 0 || c.LoggedIn() {
			t.Error("ping logged in")
		}
	})

	t.Run("session untouched", func(t *testing.T) {
		// A warm session stays as it was: the next write costs one request.
		if _, err := c.Token(ctx, "csrf"); err != nil {
			t.Fatal(err)
		}
		before := logins.Load()
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		n := requests.Load()
		if _, err := c.ValidatePassword(ctx, mw.ValidatePasswordParams{Password: "a long password for ping"}); err != nil {
			t.Fatal(err)
		}
		if got := requests.Load() - n; got != 1 || logins.Load() != before {
			t.Errorf("the write after a ping sent %d requests and %d logins, want 1 and 0", got, logins.Load()-before)
		}
	})

	t.Run("frozen", func(t *testing.T) {
		before := logins.Load()
		freeze(t, w)
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		err := c.Ping(pctx)
		var un *mw.UnavailableError
		if !errors.As(err, &un) || !errors.Is(err, context.DeadlineExceeded) || mw.MaybeApplied(err) {
			t.Errorf("ping a frozen wiki: %v, want an UnavailableError wrapping context.DeadlineExceeded", err)
		}
		if logins.Load() != before {
			t.Error("ping logged in")
		}
	})

	t.Run("closed port", func(t *testing.T) {
		var closedLogins atomic.Int64
		cc, err := mw.New(mw.Config{APIURL: closedPortURL(t), User: w.BotUser, Password: w.BotPassword,
			Observe: func(ri mw.RequestInfo) {
				if ri.Action == "login" {
					closedLogins.Add(1)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		err = cc.Ping(ctx)
		var un *mw.UnavailableError
		if !errors.As(err, &un) || mw.MaybeApplied(err) {
			t.Errorf("ping a closed port: %v, want an UnavailableError", err)
		}
		if closedLogins.Load() != 0 {
			t.Error("ping tried to log in")
		}
	})
}
