package testwait_test

import (
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/wikimod/wikimod/internal/testwait"
)

// TestForReturnsOnceTheConditionHolds: For asks until cond holds, and no
// longer.
func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	var asked atomic.Int64
	testwait.For(t, "the fifth question", func() bool { return asked.Add(1) == 5 })
	if n := asked.Load(); n != 5 {
		t.Errorf("cond asked %d times, want 5", n)
	}
	asked.Store(0)
	testwait.For(t, "nothing", func() bool { asked.Add(1); return true })
	if n := asked.Load(); n != 1 {
		t.Errorf("a cond that holds at once asked %d times, want 1", n)
	}
}

// TestUniqueNamesDiffer: every name is new, keeps its prefix, and has a
// suffix that fits in a title, a user name and an email address.
func TestUniqueNamesDiffer(t *testing.T) {
	suffix := regexp.MustCompile(`^Page [0-9a-z]{7,}$`)
	seen := map[string]bool{}
	for range 1000 {
		name := testwait.Unique("Page ")
		if seen[name] {
			t.Fatalf("%q made twice", name)
		}
		seen[name] = true
		if !suffix.MatchString(name) {
			t.Fatalf("%q does not read as the prefix and a suffix of lower-case letters and digits", name)
		}
	}
}
