package poll_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/poll"
)

// TestCursors: a cursor is written and read back, and orders entries by
// time, then id.
func TestCursors(t *testing.T) {
	c := poll.Cursor{At: t0, ID: 42}
	back, err := poll.ParseCursor(c.String())
	if err != nil || back != c {
		t.Fatalf("%q read back as %+v, %v", c.String(), back, err)
	}
	if empty, err := poll.ParseCursor(""); err != nil || !empty.At.IsZero() || (poll.Cursor{}).String() != "" {
		t.Errorf("the empty cursor: %+v, %v", empty, err)
	}
	for _, bad := range []string{"x", "2026-03-01T12:00:00Z", "2026-03-01T12:00:00Z|x", "yesterday|4"} {
		if _, err := poll.ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) succeeded", bad)
		}
	}
	if !c.Before(t0, 43) || c.Before(t0, 42) || !c.Before(t0.Add(time.Second), 1) || c.Before(t0.Add(-time.Second), 99) {
		t.Error("cursor order")
	}
}

// TestStreamResumesFromTheStore: a stream never read resumes from the zero
// cursor; what it advances to is kept in the store, and a new process (a
// new Stream on the same store) resumes there; a cursor that does not move
// past what the store has is not written again.
func TestStreamResumesFromTheStore(t *testing.T) {
	db := tempStore(t)
	ctx := context.Background()
	saves := 0
	stream := func() *poll.Stream {
		return &poll.Stream{
			Load: func(ctx context.Context) (string, error) { return db.AlertCursor(ctx, "en", "changes") },
			Save: func(ctx context.Context, c string) error {
				saves++
				return db.SetAlertCursor(ctx, "en", "changes", c)
			},
		}
	}
	s := stream()
	if c, err := s.Resume(ctx); err != nil || c != (poll.Cursor{}) {
		t.Fatalf("a stream never read resumes from %+v, %v", c, err)
	}
	at := poll.Cursor{At: t0, ID: 7}
	if err := s.Advance(ctx, at); err != nil {
		t.Fatal(err)
	}
	// A new process: the same store, nothing in memory.
	s = stream()
	if c, err := s.Resume(ctx); err != nil || c != at {
		t.Fatalf("resumed from %+v, %v; want %+v", c, err, at)
	}
	for _, c := range []poll.Cursor{at, {At: t0, ID: 6}, {At: t0.Add(-time.Minute), ID: 99}} {
		if err := s.Advance(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if saves != 1 {
		t.Errorf("%d saves, want one: only a cursor past the store's is written", saves)
	}
	next := poll.Cursor{At: t0, ID: 8}
	if err := s.Advance(ctx, next); err != nil || saves != 2 {
		t.Fatalf("advancing past the store's: %v, %d saves", err, saves)
	}
	if c, err := stream().Resume(ctx); err != nil || c != next {
		t.Errorf("resumed from %+v, %v; want %+v", c, err, next)
	}
	if err := db.SetAlertCursor(ctx, "en", "changes", "garbage"); err != nil {
		t.Fatal(err)
	}
	if _, err := stream().Resume(ctx); err == nil || !strings.Contains(err.Error(), `bad cursor "garbage"`) {
		t.Errorf("a bad cursor in the store: %v", err)
	}
}
