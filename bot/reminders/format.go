package reminders

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wikimod/wikimod/commands"
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// clock renders a time for a chat message.
func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// length renders the length of a protection: "1 week", "3 days",
// "90 minutes".
func length(d time.Duration) string {
	switch {
	case d >= week && d%week == 0:
		return commands.Plural(int(d/week), "week")
	case d >= day && d%day == 0:
		return commands.Plural(int(d/day), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return commands.Plural(int(d/time.Hour), "hour")
	case d >= 48*time.Hour:
		return commands.Plural(int(d.Hours()/24+0.5), "day")
	case d >= time.Minute:
		return commands.Plural(int(d.Round(time.Minute)/time.Minute), "minute")
	}
	return d.String()
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
