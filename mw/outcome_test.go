package mw_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// freeze stops the wiki until the test ends or thaw is called.
func freeze(t *testing.T, w *devwiki.Wiki) (thaw func()) {
	t.Helper()
	if err := w.Freeze(); err != nil {
		t.Fatal(err)
	}
	var once atomic.Bool
	thaw = func() {
		if once.CompareAndSwap(false, true) {
			if err := w.Thaw(); err != nil {
				t.Errorf("thaw: %v", err)
			}
		}
	}
	t.Cleanup(thaw)
	return thaw
}

// closedPortURL returns an api.php address on a loopback port nothing
// listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/api.php"
}

// waitProtected reads the page's protections until the wiki reports one of
// the given type.
func waitProtected(t *testing.T, c *mw.Client, title, typ string) []mw.PageProtection {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Limit)
	defer cancel()
	var got []mw.PageProtection
	testwait.For(t, fmt.Sprintf("%q to get %s protection", title, typ), func() bool {
		var err error
		got, err = c.PageProtections(ctx, title)
		if err != nil {
			t.Fatalf("read back %q: %v", title, err)
		}
		return slices.ContainsFunc(got, func(p mw.PageProtection) bool { return p.Type == typ })
	})
	return got
}

// TestLostAnswerMaybeAppliedAgainstRealWiki loses the answer to a write
// that the wiki carries out later: a frozen wiki takes the request (its
// kernel accepts the connection) but answers only once thawed, long after
// the client gave up. The error must say the write may have been done,
// because it was.
func TestLostAnswerMaybeAppliedAgainstRealWiki(t *testing.T) {
	w := devwiki.Need(t, wiki)
	suffix := testwait.Unique("")
	cases := []struct {
		name    string
		timeout func(*mw.Config) // how the client gives up
		ctx     func() (context.Context, context.CancelFunc)
	}{
		{
			name:    "HTTP client timeout",
			timeout: func(cfg *mw.Config) { cfg.HTTPClient = &http.Client{Timeout: time.Second} },
			ctx:     func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
		},
		{
			name:    "context deadline",
			timeout: func(*mw.Config) {},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), time.Second)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newBot(t, nil, tc.timeout)
			// Warm the session so that the write is the only request sent
			// while the wiki is frozen.
			if _, err := c.Token(context.Background(), "csrf"); err != nil {
				t.Fatal(err)
			}
			title := "Lost Answer " + suffix + " " + tc.name
			thaw := freeze(t, w)
			ctx, cancel := tc.ctx()
			_, err := c.Protect(ctx, mw.ProtectParams{Title: title, Protections: []mw.Protection{{Action: "create", Level: "sysop"}}})
			cancel()
			var un *mw.UnavailableError
			if !errors.As(err, &un) || !mw.MaybeApplied(err) || !un.MaybeApplied {
				t.Fatalf("protect on a frozen wiki: %v (MaybeApplied %v), want an UnavailableError that may have been applied", err, mw.MaybeApplied(err))
			}
			t.Logf("protect on a frozen wiki: %v", err)
			// Both ways of giving up are deadlines, and callers test for that.
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
			}
			// A read on the frozen wiki fails too, but reads change nothing.
			rctx, rcancel := tc.ctx()
			_, rerr := c.PageProtections(rctx, title)
			rcancel()
			if rerr == nil || mw.MaybeApplied(rerr) {
				t.Errorf("read on a frozen wiki: %v (MaybeApplied %v), want an error that was not applied", rerr, mw.MaybeApplied(rerr))
			}
			thaw()
			// "Nothing was done" would have been wrong: the wiki did it.
			got := waitProtected(t, c, title, "create")
			t.Logf("after the thaw the wiki reports %+v", got)
		})
	}
}

// TestUnsentWriteIsNotMaybeApplied covers the writes that certainly never
// reached the wiki.
func TestUnsentWriteIsNotMaybeApplied(t *testing.T) {
	ctx := context.Background()
	write := url.Values{"action": {"protect"}, "title": {"Never Sent"}, "protections": {"create=sysop"}}

	t.Run("closed port", func(t *testing.T) {
		c, err := mw.New(mw.Config{APIURL: closedPortURL(t)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Post(ctx, "", write, nil)
		var un *mw.UnavailableError
		if !errors.As(err, &un) || mw.MaybeApplied(err) {
			t.Errorf("write to a closed port: %v (MaybeApplied %v), want an UnavailableError that was not applied", err, mw.MaybeApplied(err))
		}
	})

	t.Run("context ended before sending", func(t *testing.T) {
		var sent atomic.Int64
		c := newBot(t, nil, func(cfg *mw.Config) {
			cfg.Observe = func(ri mw.RequestInfo) {
				if ri.Action == "protect" {
					sent.Add(1)
				}
			}
		})
		if _, err := c.Token(ctx, "csrf"); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := c.Protect(cctx, mw.ProtectParams{Title: "Never Sent", Protections: []mw.Protection{{Action: "create", Level: "sysop"}}})
		var un *mw.UnavailableError
		if !errors.As(err, &un) || !errors.Is(err, context.Canceled) || mw.MaybeApplied(err) {
			t.Errorf("write with an ended context: %v (MaybeApplied %v), want an UnavailableError wrapping context.Canceled, not applied", err, mw.MaybeApplied(err))
		}
		if n := sent.Load(); n != 0 {
			t.Errorf("%d protect requests were sent", n)
		}
	})
}

// TestLostAnswerFromLocalServer covers the answers a test wiki does not
// give: server errors, pages that are not API JSON, and connections that
// drop after the request was sent.
func TestLostAnswerFromLocalServer(t *testing.T) {
	drop := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	}
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
	}
	html := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>Database error</body></html>")
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		write   bool
		want    bool
	}{
		{"502 to a write", status(http.StatusBadGateway), true, true},
		{"500 to a write", status(http.StatusInternalServerError), true, true},
		{"502 to a read", status(http.StatusBadGateway), false, false},
		{"403 to a write", status(http.StatusForbidden), true, false},
		{"HTML to a write", html, true, true},
		{"HTML to a read", html, false, false},
		{"connection dropped after a write was sent", drop, true, true},
		{"connection dropped after a read was sent", drop, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c, err := mw.New(mw.Config{APIURL: srv.URL + "/api.php"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.write {
				_, err = c.Post(context.Background(), "", url.Values{"action": {"protect"}}, nil)
			} else {
				_, err = c.Get(context.Background(), url.Values{"action": {"query"}}, nil)
			}
			var un *mw.UnavailableError
			if !errors.As(err, &un) {
				t.Fatalf("err = %v, want an UnavailableError", err)
			}
			if got := mw.MaybeApplied(err); got != tc.want {
				t.Errorf("MaybeApplied(%v) = %v, want %v", err, got, tc.want)
			}
		})
	}
}
