package storagetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// SecurityCounts returns db's SecurityCounts(since, limit), one line a
// count, for WantCounts.
func SecurityCounts(t *testing.T, db Store, since time.Time, limit int) []string {
	t.Helper()
	cs, err := db.SecurityCounts(context.Background(), since, limit)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %s %s %s %d %q", c.Minute.Format("15:04:05"), c.Platform, c.Kind, c.Source, c.Count, c.Detail))
	}
	return out
}

// WantCounts fails t unless the lines of SecurityCounts are want.
func WantCounts(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("security counts:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func testSecurityCountsAddUp(t *testing.T, open Opener) {
	clock := newClock(t0.Add(2*time.Minute + 10*time.Second))
	db := open(clock.Now)
	ctx := context.Background()
	add := func(cs ...commands.SecurityCount) error { return db.AddSecurityCounts(ctx, cs) }
	m0, m1 := t0, t0.Add(time.Minute)
	if err := add(); err != nil {
		t.Errorf("adding no counts: %v", err)
	}
	if err := add(
		commands.SecurityCount{Minute: m0, Platform: "slack", Kind: "bad-signature", Source: "203.0.113.7", Count: 3},
		commands.SecurityCount{Minute: m0, Platform: "slack", Kind: "bad-signature", Source: "203.0.113.8", Count: 1, Detail: "no header"},
	); err != nil {
		t.Fatal(err)
	}
	if err := add(
		// Within the same minute: added to the same count, whose first
		// non-empty detail is kept.
		commands.SecurityCount{Minute: m0.Add(30 * time.Second), Platform: "slack", Kind: "bad-signature", Source: "203.0.113.7", Count: 2, Detail: "first detail"},
		commands.SecurityCount{Minute: m1, Platform: "discord", Kind: "replayed-request", Source: "other", Count: 5, Detail: "seen"},
		commands.SecurityCount{Minute: m1, Platform: "discord", Kind: "bad-signature", Source: "other", Count: 0, Detail: "nothing"},
	); err != nil {
		t.Fatal(err)
	}
	if err := add(
		commands.SecurityCount{Minute: m0, Platform: "slack", Kind: "bad-signature", Source: "203.0.113.7", Count: 4, Detail: "second detail"},
		commands.SecurityCount{Platform: "slack", Kind: "stale-timestamp", Source: "203.0.113.9", Count: 1, Detail: strings.Repeat("é", 200)},
	); err != nil {
		t.Fatal(err)
	}
	// A bad count fails the whole batch.
	if err := add(
		commands.SecurityCount{Minute: m0, Platform: "slack", Kind: "bad-signature", Source: "203.0.113.7", Count: 100},
		commands.SecurityCount{Minute: m0, Platform: "slack", Kind: "bad-signature", Source: "203.0.113.8", Count: -1},
	); err == nil {
		t.Error("a negative count was accepted")
	}

	got, err := db.SecurityCounts(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("SecurityCounts = %+v", got)
	}
	// A zero Minute is now, and a long detail is cut at a character.
	if stale := got[0]; !stale.Minute.Equal(t0.Add(2*time.Minute)) || stale.Minute.Location() != time.UTC ||
		len(stale.Detail) > 256 || len(stale.Detail) < 250 || strings.Trim(stale.Detail, "é") != "" {
		t.Errorf("count of now = %s %d-byte detail %q", stale.Minute, len(stale.Detail), stale.Detail)
	}
	WantCounts(t, SecurityCounts(t, db, m0, 10)[1:],
		`12:01:00 discord replayed-request other 5 "seen"`,
		`12:00:00 slack bad-signature 203.0.113.7 9 "first detail"`,
		`12:00:00 slack bad-signature 203.0.113.8 1 "no header"`)
	// since selects the minute holding it and later ones; limit bounds.
	WantCounts(t, SecurityCounts(t, db, m1.Add(10*time.Second), 0)[1:],
		`12:01:00 discord replayed-request other 5 "seen"`)
	if n := len(SecurityCounts(t, db, m0, 2)); n != 2 {
		t.Errorf("limit 2 returned %d", n)
	}

	n, err := db.PruneSecurityCounts(ctx, m1)
	if err != nil || n != 2 {
		t.Errorf("PruneSecurityCounts = %d, %v; want 2", n, err)
	}
	if got := SecurityCounts(t, db, time.Time{}, 0); len(got) != 2 || !strings.Contains(got[1], "12:01:00") {
		t.Errorf("after pruning the first minute: %v", got)
	}
}

// testSecurityCountsAggregateBatches stores 28,800 refusals as a flusher
// would, in 240 batches over four minutes from five sources and two kinds,
// and checks the counts: one per minute, platform, kind and source, the
// largest first within a minute, ties in byte order; then the prune.
func testSecurityCountsAggregateBatches(t *testing.T, open Opener) {
	clock := newClock(t0)
	db := open(clock.Now)
	ctx := context.Background()

	const batches = 240
	sources := []string{"203.0.113.1", "203.0.113.2", "198.51.100.3", "2001:db8::4", "other"}
	kinds := []string{"bad-signature", "Stale-timestamp"} // a capital, to check the order is by bytes
	for range batches {
		var batch []commands.SecurityCount
		for i, src := range sources {
			for _, kind := range kinds {
				batch = append(batch, commands.SecurityCount{Minute: clock.Now(), Platform: "slack",
					Kind: kind, Source: src, Count: int64(10 + i), Detail: "signature mismatch"})
			}
		}
		if err := db.AddSecurityCounts(ctx, batch); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Second) // 240 batches in four minutes
	}

	all, err := db.SecurityCounts(ctx, t0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range all {
		total += c.Count
	}
	if want := int64(batches * len(kinds) * (10 + 11 + 12 + 13 + 14)); total != want || len(all) != 4*len(sources)*len(kinds) {
		t.Errorf("%d refusals in %d counts, want %d in %d", total, len(all), want, 4*len(sources)*len(kinds))
	}
	// The newest minute first; in it the largest counts, then by kind
	// (capitals sort first) and source.
	WantCounts(t, SecurityCounts(t, db, t0.Add(3*time.Minute), 4),
		`12:03:00 slack Stale-timestamp other 840 "signature mismatch"`,
		`12:03:00 slack bad-signature other 840 "signature mismatch"`,
		`12:03:00 slack Stale-timestamp 2001:db8::4 780 "signature mismatch"`,
		`12:03:00 slack bad-signature 2001:db8::4 780 "signature mismatch"`)

	n, err := db.PruneSecurityCounts(ctx, t0.Add(2*time.Minute))
	if want := int64(2 * len(sources) * len(kinds)); err != nil || n != want {
		t.Errorf("PruneSecurityCounts = %d, %v; want %d", n, err, want)
	}
	left, err := db.SecurityCounts(ctx, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range left {
		if c.Minute.Before(t0.Add(2 * time.Minute)) {
			t.Errorf("pruned minute %s is still there", c.Minute)
		}
	}
	if len(left) != 2*len(sources)*len(kinds) {
		t.Errorf("%d counts left, want %d", len(left), 2*len(sources)*len(kinds))
	}
}

// testSecurityCountsConcurrentFlushers adds the same counts from several
// goroutines through two handles at once, as the flushers of two replicas
// would, each batch in another order and one key twice: every count is
// added, and none fails. A detail holding a NUL and bytes that are not
// UTF-8, which a client may send, is accepted.
func testSecurityCountsConcurrentFlushers(t *testing.T, open Opener) {
	clock := newClock(t0)
	dbs := []Store{open(clock.Now), open(clock.Now)}
	ctx := context.Background()
	var keys []commands.SecurityCount
	for _, platform := range []string{"discord", "slack"} {
		for _, src := range []string{"203.0.113.1", "203.0.113.2", "other"} {
			keys = append(keys, commands.SecurityCount{Minute: t0, Platform: platform, Kind: "bad-signature", Source: src, Count: 1,
				Detail: "bad\x00\xff"})
		}
	}
	const goroutines, rounds = 8, 10
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for r := range rounds {
				batch := make([]commands.SecurityCount, 0, len(keys)+1)
				for i := range keys {
					batch = append(batch, keys[(i+g+r)%len(keys)]) // each batch in another order
				}
				batch = append(batch, batch[0]) // and one key twice
				if err := dbs[g%2].AddSecurityCounts(ctx, batch); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := dbs[0].SecurityCounts(ctx, t0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range got {
		total += c.Count
		if c.Detail == "" {
			t.Errorf("%+v: the detail was lost", c)
		}
	}
	if want := int64(goroutines * rounds * (len(keys) + 1)); len(got) != len(keys) || total != want {
		t.Errorf("%d counts adding up to %d, want %d adding up to %d", len(got), total, len(keys), want)
	}
}
