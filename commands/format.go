package commands

import (
	"strconv"
	"time"
)

// Relative renders how far off a time is, for chat messages: "in 3 hours",
// "2 days ago", "now".
func Relative(d time.Duration) string {
	past := d < 0
	if past {
		d = -d
	}
	var s string
	// Each unit is rounded to the nearest: an expiry 1h59m away is "in 2
	// hours", not "in 1 hour".
	switch {
	case d >= 47*time.Hour+30*time.Minute:
		s = Plural(int(d.Hours()/24+0.5), "day")
	case d >= 105*time.Minute:
		s = Plural(int(d.Hours()+0.5), "hour")
	case d >= 75*time.Minute:
		s = "1.5 hours"
	case d >= 55*time.Minute:
		s = "1 hour"
	case d >= 90*time.Second:
		s = Plural(int(d.Minutes()+0.5), "minute")
	case d >= time.Second:
		// A minute ahead is not "now": a reminder 51 seconds before an
		// expiry says so.
		s = Plural(int(d.Seconds()+0.5), "second")
	default:
		return "now"
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

// Plural renders a count of a unit: "1 day", "3 days".
func Plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
