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
	wants := []Want{{Into: w}}
	for _, w := range more {
		wants = append(wants, Want{Into: w})
	}
	return MainWith(m, wants...)
}

// Want asks MainWith for a wiki started with Options (a content language,
// settings of its own) and stored in *Into. Options.Dir is ignored: each
// wiki gets a temporary folder of its own.
type Want struct {
	Into    **Wiki
	Options Options
}

// MainWith is Main for wikis that need options of their own, such as a
// wiki in another language:
//
//	func TestMain(m *testing.M) {
//		os.Exit(devwiki.MainWith(m, devwiki.Want{Into: &wiki},
//			devwiki.Want{Into: &zhWiki, Options: devwiki.Options{Lang: "zh-hans"}}))
//	}
func MainWith(m *testing.M, wants ...Want) int {
	if err := Check(); err != nil {
		if os.Getenv("WIKIMOD_SKIP_WIKI") == "1" {
			fmt.Fprintln(os.Stderr, "devwiki: skipping the tests that need a real wiki:", err)
			return m.Run()
		}
		fmt.Fprintln(os.Stderr, "devwiki: these tests need a real MediaWiki:", err)
		return 1
	}
	wikis := make([]*Wiki, len(wants))
	errs := make([]error, len(wants))
	var wg sync.WaitGroup
	for i := range wants {
		dir, err := os.MkdirTemp("", "wikimod-wiki-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "devwiki:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := wants[i].Options
			opts.Dir = dir
			wikis[i], errs[i] = Start(context.Background(), opts)
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
		fmt.Printf("devwiki: these tests run against MediaWiki %s (PHP %s, %s=%s, language %s) at %s\n",
			wiki.Version(), wiki.phpVer, VersionEnv, wiki.rt.series, wiki.Lang, wiki.URL)
		*wants[i].Into = wiki
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
