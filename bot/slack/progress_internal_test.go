package slack

import (
	"testing"
	"time"
)

// TestProgressLeavesAPostForTheReply: Slack takes five posts to one
// response URL. However often a long batch reports progress, a press
// shows at most three of them, spaced ever wider (15 s, then 30 s), so
// that the final reply always has a post left and the progress covers
// more than the batch's first seconds.
func TestProgressLeavesAPostForTheReply(t *testing.T) {
	var b progressBudget
	t0 := time.Unix(1_780_000_000, 0)
	var shown []time.Duration
	// The service reports every 10 pages or 5 seconds: here every 5
	// seconds for a 10-minute batch.
	for at := time.Duration(0); at <= 10*time.Minute; at += 5 * time.Second {
		if b.take(t0.Add(at)) {
			shown = append(shown, at)
		}
	}
	want := []time.Duration{0, 15 * time.Second, 45 * time.Second}
	if len(shown) != len(want) {
		t.Fatalf("progress shown at %v, want %v", shown, want)
	}
	for i := range want {
		if shown[i] != want[i] {
			t.Errorf("progress shown at %v, want %v", shown, want)
			break
		}
	}
	if shown := len(shown); shown+1 > 5 {
		t.Errorf("%d progress posts and the reply exceed Slack's five", shown)
	}
}
