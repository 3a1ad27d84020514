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
	switch {
	case d >= 48*time.Hour:
		s = Plural(int(d.Hours()/24+0.5), "day")
	case d >= 2*time.Hour:
		s = Plural(int(d.Hours()+0.5), "hour")
	case d >= 90*time.Minute:
		s = "1.5 hours"
	case d >= 55*time.Minute:
		s = "1 hour"
	case d >= 2*time.Minute:
		s = Plural(int(d.Minutes()+0.5), "minute")
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
