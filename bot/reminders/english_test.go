package reminders_test

import (
	"testing"
	"time"

	"github.com/wikimod/wikimod/i18n"
)

// testNow is the clock of the test running, which relative times ("in 1
// hour") are measured from, as a reader's platform measures them from its
// own. The fixtures set it to their fake clock; this package's tests run one
// at a time.
var testNow = time.Now

// english renders m in English, as a person with no other language would
// read it, without the wiki's own words, at the test's time.
func english(m i18n.Message) string {
	return i18n.Localizer{Lang: "en", Now: func() time.Time { return testNow() }}.Text(m)
}

// useClock makes english measure relative times from now until the test
// ends.
func useClock(t *testing.T, now func() time.Time) {
	old := testNow
	testNow = now
	t.Cleanup(func() { testNow = old })
}
