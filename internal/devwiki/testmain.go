package devwiki

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// Main starts a throwaway wiki for a test binary, stores it in *w, runs the
// tests and stops the wiki. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(devwiki.Main(m, &wiki)) }
//
// Tests of several wikis at once pass more pointers: each gets a wiki of
// its own (a database, settings and mail file of its own, on its own
// port), started at the same time.
//
// The wikis run the release series VersionEnv selects (1.43 by default).
// Main prints which MediaWiki the tests run against, so that a failure's
// output says which release gave the answer.
//
// Tests that need the wiki fail when MediaWiki is not installed, saying how
// to install it; set WIKIMOD_SKIP_WIKI=1 to skip them instead.
func Main(m *testing.M, w **Wiki, more ...**Wiki) int {
	if err := Check(); err != nil {
		if os.Getenv("WIKIMOD_SKIP_WIKI") == "1" {
			fmt.Fprintln(os.Stderr, "devwiki: skipping the tests that need a real wiki:", err)
			return m.Run()
		}
		fmt.Fprintln(os.Stderr, "devwiki: these tests need a real MediaWiki:", err)
		return 1
	}
	targets := append([]**Wiki{w}, more...)
	wikis := make([]*Wiki, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i := range targets {
		dir, err := os.MkdirTemp("", "wikimod-wiki-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "devwiki:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			wikis[i], errs[i] = Start(context.Background(), Options{Dir: dir})
		}()
	}
	wg.Wait()
	for _, wiki := range wikis {
		if wiki != nil {
			defer wiki.Close()
		}
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "devwiki: start:", err)
		return 1
	}
	for i, wiki := range wikis {
		fmt.Printf("devwiki: these tests run against MediaWiki %s (PHP %s, %s=%s) at %s\n",
			wiki.Version(), wiki.phpVer, VersionEnv, wiki.rt.series, wiki.URL)
		*targets[i] = wiki
	}
	return m.Run()
}

// Need skips or fails tb when no wiki is running (see Main).
func Need(tb testing.TB, w *Wiki) *Wiki {
	tb.Helper()
	if w == nil {
		tb.Skip("no real wiki (WIKIMOD_SKIP_WIKI=1)")
	}
	return w
}
