package reminders

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wikimod/wikimod/i18n"
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// when is a point in time as the reader's platform writes it: a date and
// time each reader sees in their own time zone where the platform can.
func when(t time.Time) i18n.Time { return i18n.Time{T: t, Style: i18n.TimeFull} }

// fromNow is a point in time as how far it is from now ("in 3 hours"),
// which the reader's platform keeps current where it can.
func fromNow(t time.Time) i18n.Time { return i18n.Time{T: t, Style: i18n.TimeRelative} }

// length names the length of a protection: "1 week", "3 days", "90
// minutes". A length of two days or more that is not whole hours (one
// that a sync measured from the log's time) reads in days, rounded; a
// shorter one in minutes, rounded: wording, not the length extended by.
func length(d time.Duration) i18n.Message {
	switch {
	case d%time.Hour == 0:
	case d >= 48*time.Hour:
		d = d.Round(day)
	case d >= time.Minute:
		d = d.Round(time.Minute)
	}
	return i18n.Duration(d)
}

var durationRE = regexp.MustCompile(`^(\d+)\s*([a-z]+)$`)

var durationUnits = map[string]time.Duration{
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": day, "day": day, "days": day,
	"w": week, "week": week, "weeks": week,
}

// parseWithin reads a duration as a moderator types it: "36h", "3 days",
// "2w", "1 week".
func parseWithin(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	if m := durationRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		unit, ok := durationUnits[m[2]]
		if err == nil && ok && n > 0 && n <= 10000 {
			return time.Duration(n) * unit, nil
		}
	}
	return 0, fmt.Errorf("%q is not a duration", s)
}
