package reminders_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/reminders"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/qqx"
)

// qqxWords checks what a reader sees of r, rendered in qqx, for words no
// catalogue wrote: its title, text, rows and buttons. given are the words
// the test itself supplied (titles, names, reasons).
func qqxWords(t *testing.T, what string, r commands.Reply, given ...string) {
	t.Helper()
	l := i18n.Localizer{Lang: "qqx"}
	text := r.Plain(l)
	for _, a := range r.Actions {
		text += "\n  [" + l.Text(a.Label) + "]"
	}
	if left := qqx.English(text, given...); len(left) > 0 {
		t.Errorf("%s has words outside the catalogue %q:\n%s", what, left, text)
	}
}

// qqxRefusal checks a refusal the reminders' commands made: its code, and
// its text (the title is the command service's).
func qqxRefusal(t *testing.T, what string, r commands.Reply, code string, given ...string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("%s: %s/%s, want code %s:\n%s", what, r.Outcome, r.Code, code, r.String())
	}
	qqxWords(t, what, commands.Reply{Text: r.Text}, given...)
}

// TestEveryWordOfTheRemindersIsInTheCatalogue renders every message the
// reminders post and every reply and refusal of their commands in qqx,
// where each catalogue message shows as its key, and fails on any word left
// that a catalogue did not write: English a moderator reading another
// language would see.
func TestEveryWordOfTheRemindersIsInTheCatalogue(t *testing.T) {
	f := newFixture(t, func(c *reminders.Config) { c.DigestLines = 3 })
	ctx := context.Background()
	// Besides names (Admin: the wiki account whose protections a
	// reminder's history line names), code: commands as typed (usage
	// lines, the wiki's name in wikimod), which the English messages quote
	// as code.
	given := []string{"alice", "Admin", "Slack", "C-MODS", "qqx reason", commands.DefaultWiki, "/expiring",
		"/expiring [within=DURATION]", "/reminder do=extend|dismiss id=ID"}
	protect := func(title string, p reminders.TrackedProtection) {
		t.Helper()
		given = append(given, title)
		if _, err := f.env.DB.ReconcilePage(ctx, commands.DefaultWiki, title, []reminders.TrackedProtection{p}, []time.Duration{24 * time.Hour, time.Hour}, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	byAlice := func(expiry time.Time, length time.Duration) reminders.TrackedProtection {
		return reminders.TrackedProtection{Type: "create", Level: "sysop", Expiry: expiry, Length: length, SetBy: "alice",
			Platform: "slack", Channel: "C-MODS", SetAt: f.clock.Now(), Reason: "qqx reason", URL: "https://wiki.example/Qqx"}
	}

	// A real page, extended with its reminder's button: the other type is
	// kept and so is cascading.
	title := "Qqx Extend Page"
	given = append(given, title)
	if _, err := f.env.Bot.Post(ctx, "csrf", url.Values{"action": {"edit"}, "title": {title}, "text": {"content"}, "summary": {"test"}}, nil); err != nil {
		t.Fatal(err)
	}
	exp := f.protect(t, `/protect "Qqx Extend Page" edit=sysop move=sysop edit_expiry="3 hours" move_expiry=infinite cascade reason="qqx reason"`)
	m := wantOne(t, f.tick(t, exp.Add(-time.Hour)), "the extend page's warning")
	qqxWords(t, "a reminder", m, given...)
	r := f.press(t, discordMod, m.Actions[0])
	if !r.OK() || len(r.Fields) != 1 {
		t.Fatalf("extend: %s", r.String())
	}
	qqxWords(t, "an extension", r, given...)
	qqxRefusal(t, "a second press of extend", f.press(t, discordMod, m.Actions[0]), "reminder-stale", given...)
	m = wantOne(t, f.tick(t, exp.Add(2*time.Hour)), "the extended protection's warning")
	r = f.press(t, slackAdmin, m.Actions[1])
	if !r.OK() {
		t.Fatalf("dismiss: %s", r.String())
	}
	qqxWords(t, "a dismissal", r, given...)
	qqxWords(t, "a dismissal again", f.press(t, slackAdmin, m.Actions[1]), given...)

	// The rest needs no wiki: protections as a sync or /protect track them,
	// days ahead of the page above.
	base := f.clock.Now().Add(72 * time.Hour)
	protect("Qqx Lapsing", byAlice(base.Add(3*time.Hour), 3*time.Hour))
	m = wantOne(t, f.tick(t, base.Add(3*time.Hour)), "at expiry")
	qqxWords(t, "a reminder at expiry", m, given...)

	// Set on the wiki by someone unknown, for no known length.
	protect("Qqx Unknown", reminders.TrackedProtection{Type: "edit", Level: "autoconfirmed", Expiry: base.Add(6 * time.Hour), Platform: "wiki"})
	m = wantOne(t, f.tick(t, base.Add(5*time.Hour)), "a warning without a length")
	qqxWords(t, "a reminder without a length", m, given...)
	id := m.Actions[0].Args["id"]
	qqxRefusal(t, "extending without a length", f.env.Service.ExecuteLine(ctx, slackAdmin, "/reminder do=extend id="+id), "reminder-no-length", given...)
	m = wantOne(t, f.tick(t, base.Add(6*time.Hour)), "an expiry without a length")
	qqxWords(t, "a reminder at expiry without a length", m, given...)

	// Late, and taken over from a tick that stopped.
	protect("Qqx Late", byAlice(base.Add(9*time.Hour), time.Hour))
	if _, err := f.env.DB.ClaimDue(ctx, base.Add(9*time.Hour+10*time.Minute), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.DB.RecoverClaimed(ctx); err != nil {
		t.Fatal(err)
	}
	m = wantOne(t, f.tick(t, base.Add(9*time.Hour+10*time.Minute)), "a late expiry")
	if !strings.Contains(english(m.Text), "late") || !strings.Contains(english(m.Text), "may repeat") {
		t.Errorf("not marked late and may repeat: %s", m.String())
	}
	qqxWords(t, "a late reminder", m, given...)

	// A burst: a digest, some late and taken over.
	burst := base.Add(12 * time.Hour)
	for i := range 6 {
		protect(fmt.Sprintf("Qqx Burst %d", i), byAlice(burst.Add(time.Duration(i)*time.Minute), 2*time.Hour))
	}
	if _, err := f.env.DB.ClaimDue(ctx, burst.Add(time.Minute), 2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.DB.RecoverClaimed(ctx); err != nil {
		t.Fatal(err)
	}
	m = wantOne(t, f.tick(t, burst.Add(5*time.Minute)), "a burst")
	if len(m.Fields) != 3 || !strings.Contains(english(m.Text), "late") || !strings.Contains(english(m.Text), "may repeat") {
		t.Errorf("digest:\n%s", m.String())
	}
	qqxWords(t, "a digest", m, given...)

	// /expiring: more than it lists, with reminders to act on.
	for i := range 26 {
		protect("Qqx Many "+strconv.Itoa(i), byAlice(f.clock.Now().Add(20*24*time.Hour), 0))
	}
	r = f.env.Service.ExecuteLine(ctx, slackAdmin, "/expiring 4w")
	if !r.OK() || !strings.Contains(english(r.Text), "Showing the 25") || !strings.Contains(english(r.Text), "/reminder do=extend") {
		t.Fatalf("/expiring 4w: %s", r.String())
	}
	qqxWords(t, "/expiring", r, given...)
	qqxWords(t, "/expiring with nothing", f.env.Service.ExecuteLine(ctx, slackAdmin, "/expiring 1m"), given...)

	// Each with the words typed that the refusal quotes.
	for _, c := range []struct {
		line, code string
		typed      []string
	}{
		{"/expiring nonsense=1", "usage", []string{"nonsense", "expiring"}},
		{"/expiring 3d within=3d", "usage", nil},
		{"/expiring within=soon", "usage", []string{"soon"}},
		{"/expiring 53w", "usage", nil},
		{"/reminder do=undo id=1", "usage", []string{"undo"}},
		{"/reminder do=extend id=first", "usage", []string{"first"}},
		{"/reminder do=extend id=1 more", "usage", nil},
		{"/reminder do=extend id=999999", "reminder-gone", nil},
	} {
		qqxRefusal(t, c.line, f.env.Service.ExecuteLine(ctx, slackAdmin, c.line), c.code, append(given, c.typed...)...)
	}

	// A wiki whose reminders are off.
	off := newFixture(t, func(c *reminders.Config) { c.Wikis[0].Name = "elsewhere" })
	qqxRefusal(t, "/expiring where reminders are off", off.env.Service.ExecuteLine(ctx, slackAdmin, "/expiring"), "reminders-off", given...)
}
