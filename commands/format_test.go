package commands_test

import (
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

func TestRelative(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "now"},
		{80 * time.Second, "in 80 seconds"},
		{51 * time.Second, "in 51 seconds"},
		{-51 * time.Second, "51 seconds ago"},
		{time.Second, "in 1 second"},
		{500 * time.Millisecond, "now"},
		{2 * time.Minute, "in 2 minutes"},
		{-10 * time.Minute, "10 minutes ago"},
		{59*time.Minute + 30*time.Second, "in 1 hour"},
		{time.Hour, "in 1 hour"},
		{90 * time.Minute, "in 1.5 hours"},
		{2*time.Hour - time.Second, "in 2 hours"},
		{3*time.Hour + 10*time.Minute, "in 3 hours"},
		{47 * time.Hour, "in 47 hours"},
		{48*time.Hour - time.Minute, "in 2 days"},
		{7*24*time.Hour - time.Second, "in 7 days"},
		{-3 * 24 * time.Hour, "3 days ago"},
	} {
		if got := commands.Relative(tc.d); got != tc.want {
			t.Errorf("Relative(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if commands.Plural(1, "day") != "1 day" || commands.Plural(2, "day") != "2 days" {
		t.Error("Plural")
	}
}
