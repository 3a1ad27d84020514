// Package testwait holds two helpers for tests: For, which waits until
// something has happened rather than for a while, and Unique, which names
// what a test makes on a wiki so that the test can run again (go test
// -count=2) on a wiki that keeps what earlier runs made. It imports nothing
// of ours, so that the tests of every package, internal ones included, can
// use it.
package testwait

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Limit is how long For waits before it gives up. It only catches a hang:
// no test asserts anything about time through it, so it is generous, for a
// slow wiki on a busy machine.
const Limit = 2 * time.Minute

// For waits until cond holds, asking again and again, a little less often
// the longer it takes (from every millisecond to every tenth of a second).
// Wait for what shows the thing the test needs (a reply posted, a row
// written, a line logged), never for time to pass; to show that something
// did not happen, wait for what shows that it had its chance. If cond does
// not hold within Limit, For fails the test with "gave up waiting for "
// followed by what. Call it from the test's goroutine, as t.Fatal requires;
// cond may call t.Fatal too.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Limit)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, Limit)
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

var (
	// run tells this process's names from those of earlier processes on
	// the same wiki: six base-36 digits of the time it started.
	run = zeroPad(strconv.FormatInt(time.Now().UnixNano()%1e9, 36), 6)
	// made tells apart the names made in this process.
	made atomic.Int64
)

// Unique returns prefix followed by a suffix no other call, in this
// process or an earlier one, has returned. The suffix is lower-case
// letters and digits, so that the result can be part of a page title, a
// user name or an email address. End prefix with a space to make the
// suffix a word of its own: Unique("Frozen ") gives "Frozen 0k3x9a1".
func Unique(prefix string) string {
	return prefix + run + strconv.FormatInt(made.Add(1), 36)
}

func zeroPad(s string, width int) string {
	return strings.Repeat("0", max(width-len(s), 0)) + s
}
