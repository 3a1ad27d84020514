package commands_test

import (
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// TestCheckMailLimits: a mail counts against a limit while it is within
// the limit's Per before now; a full limit frees a mail when its Max-th
// newest mail leaves the window; of several full limits the one full
// longest answers; each scope counts its own mails.
func TestCheckMailLimits(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d ...time.Duration) []time.Time {
		var out []time.Time
		for _, x := range d {
			out = append(out, now.Add(-x))
		}
		return out
	}
	limits := []commands.MailLimit{
		{Name: "a5", Scope: commands.MailsToAccount, Max: 1, Per: 5 * time.Minute},
		{Name: "aday", Scope: commands.MailsToAccount, Max: 3, Per: 24 * time.Hour},
		{Name: "c5", Scope: commands.MailsForChatUser, Max: 1, Per: 5 * time.Minute},
	}
	for _, tc := range []struct {
		name          string
		account, chat []time.Time
		want          string
		until         time.Duration // from now
	}{
		{name: "none sent"},
		{name: "interval over, to the instant", account: ago(5 * time.Minute)},
		{name: "within the interval", account: ago(5*time.Minute - time.Millisecond), want: "a5", until: time.Millisecond},
		{name: "the chat user's own", chat: ago(time.Minute), want: "c5", until: 4 * time.Minute},
		{name: "two a day is fine", account: ago(time.Hour, 2*time.Hour)},
		{name: "three a day", account: ago(3*time.Hour, time.Hour, 2*time.Hour), want: "aday", until: 21 * time.Hour},
		{name: "older than a day", account: ago(25*time.Hour, time.Hour, 2*time.Hour)},
		{name: "the limit full longest answers", account: ago(time.Minute, time.Hour, 2*time.Hour), chat: ago(2 * time.Minute),
			want: "aday", until: 22 * time.Hour},
		{name: "the chat limit full longer", account: ago(4 * time.Minute), chat: ago(time.Minute), want: "c5", until: 4 * time.Minute},
	} {
		hit, refused := commands.CheckMailLimits(limits, now, tc.account, tc.chat)
		switch {
		case tc.want == "" && refused:
			t.Errorf("%s: refused by %+v", tc.name, hit)
		case tc.want != "" && (!refused || hit.Limit.Name != tc.want || !hit.Until.Equal(now.Add(tc.until))):
			t.Errorf("%s: %+v, %v; want %s until now+%v", tc.name, hit, refused, tc.want, tc.until)
		}
	}
	if w := commands.MailWindow(limits); w != 24*time.Hour {
		t.Errorf("MailWindow = %v", w)
	}
}
