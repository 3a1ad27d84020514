package alerts_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/alerts"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/qqx"
	"github.com/wikimod/wikimod/internal/testwait"
	"github.com/wikimod/wikimod/mw"
)

// qqxWords checks what a reader sees of r, rendered in qqx, for words no
// catalogue wrote: its title, text, rows and buttons. given are the words
// the test itself supplied (titles, names).
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

// qqxRefusal checks a refusal the alert command made: its code, and its
// text (the title is the command service's).
func qqxRefusal(t *testing.T, what string, r commands.Reply, code string, given ...string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("%s: %s/%s, want code %s:\n%s", what, r.Outcome, r.Code, code, r.String())
	}
	qqxWords(t, what, commands.Reply{Text: r.Text}, given...)
}

// TestEveryWordOfTheAlertsIsInTheCatalogue renders every message the
// alerts post and every reply and refusal of their command in qqx, where
// each catalogue message shows as its key, and fails on any word left that
// a catalogue did not write: English a moderator reading another language
// would see.
func TestEveryWordOfTheAlertsIsInTheCatalogue(t *testing.T) {
	other, err := mw.New(mw.Config{APIURL: devwiki.Need(t, wiki2).APIURL})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *alerts.Config) {
		c.Wikis = append(c.Wikis, alerts.Wiki{Name: "other", Client: other})
	})
	ctx := context.Background()
	title := testwait.Unique("Qqx War ")
	who := editors(t, wiki, 3)
	war(t, wiki, title, who)
	// Besides names, code: the command as typed.
	given := append([]string{title, "Admin", "alice", "Slack", "bob", "Discord", "default", "other", "alert",
		"/alert do=protect|dismiss id=ID [level=LEVEL] [expiry=EXPIRY]", "days", "hours", "weeks", "day"}, who...)
	m := f.alertWithin(t, 2, title)[0]
	qqxWords(t, "an alert", m, given...)

	r := f.press(t, slackAdmin, button(t, m, "Protect: edit=autoconfirmed"))
	if !r.OK() {
		t.Fatalf("protect: %s", r.String())
	}
	// The wiki's log comment is the wiki's text, in its language.
	qqxWords(t, "a protection from an alert", r, append(given, r.Protect.LogComment)...)
	qqxRefusal(t, "a second press", f.press(t, discordMod, button(t, m, "Dismiss")), "alert-handled", given...)

	// Alerts raised straight in the store: dismissed, pending, on a page
	// that does not exist, on another wiki.
	raise := func(wiki, page string) string {
		t.Helper()
		a, _, err := f.env.DB.RaiseAlert(ctx, commands.Alert{Wiki: wiki, Title: page, Started: time.Now(), LastSeen: time.Now(),
			Rule: commands.AlertRuleAbuse, AbuseHits: 3, AbuseUsers: []string{"Ann"}, Filters: []string{"spam"}}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(a.ID, 10)
	}
	missing := testwait.Unique("Qqx Missing ")
	given = append(given, missing, "Ann", "spam")
	id := raise(commands.DefaultWiki, missing)
	qqxRefusal(t, "a page that does not exist", f.env.Service.ExecuteLine(ctx, slackAdmin, "/alert do=protect id="+id+" level=sysop expiry=\"1 day\""),
		"alert-page-missing", given...)
	r = f.env.Service.ExecuteLine(ctx, slackAdmin, "/alert do=dismiss id="+id)
	if !r.OK() {
		t.Fatalf("dismiss: %s", r.String())
	}
	qqxWords(t, "a dismissal", r, given...)
	qqxRefusal(t, "a press after a dismissal", f.env.Service.ExecuteLine(ctx, slackAdmin, "/alert do=dismiss id="+id), "alert-handled", given...)

	pendingTitle := testwait.Unique("Qqx Pending ")
	given = append(given, pendingTitle)
	pending := raise(commands.DefaultWiki, pendingTitle)
	n, _ := strconv.ParseInt(pending, 10, 64)
	if _, _, err := f.env.DB.ClaimAlert(ctx, n, commands.AlertAction{Action: commands.AlertProtect, Claim: 7, By: "discord:D-ADMIN (bob)", Name: "bob",
		At: f.clock.Now()}, f.clock.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	qqxRefusal(t, "a press while another runs", f.env.Service.ExecuteLine(ctx, slackAdmin, "/alert do=dismiss id="+pending), "alert-handled", given...)
	qqxRefusal(t, "an alert of another wiki", f.env.Service.ExecuteLine(ctx, slackAdmin, "/alert do=dismiss id="+raise("other", "Elsewhere")),
		"alert-wrong-wiki", append(given, "Elsewhere")...)

	// A page protected more than a button asks.
	stronger := testwait.Unique("Qqx Stronger ")
	given = append(given, stronger)
	if err := wiki.EditAs(ctx, "Admin", "A-long-admin-pass!", stronger, "text"); err != nil {
		t.Fatal(err)
	}
	if r := f.env.Service.ExecuteLine(ctx, slackAdmin, `/protect "`+stronger+`" edit=sysop`); !r.OK() {
		t.Fatal(r.String())
	}
	qqxRefusal(t, "a page protected more", f.env.Service.ExecuteLine(ctx, slackAdmin, "/alert do=protect id="+raise(commands.DefaultWiki, stronger)+
		" level=autoconfirmed expiry=\"1 day\""), "alert-already-protected", given...)

	for _, c := range []struct{ line, code, typed string }{
		{"/alert do=protect id=first", "usage", "first"},
		{"/alert do=undo id=1", "usage", "undo"},
		{"/alert do=dismiss id=1 colour=red", "usage", "colour"},
		{"/alert do=dismiss id=1 now", "usage", ""},
		{"/alert do=protect id=" + pending + " level=owner expiry=\"1 day\"", "usage", "owner"},
		{"/alert do=protect id=" + pending + " level=sysop expiry=tomorrow", "usage", "tomorrow"},
		{"/alert do=dismiss id=987654", "alert-gone", ""},
	} {
		qqxRefusal(t, c.line, f.env.Service.ExecuteLine(ctx, slackAdmin, c.line), c.code, append(given, c.typed)...)
	}

	// A wiki whose alerts are off.
	off := newFixture(t, func(c *alerts.Config) { c.Wikis[0].Name = "elsewhere" })
	qqxRefusal(t, "/alert where alerts are off", off.env.Service.ExecuteLine(ctx, slackAdmin, "/alert do=dismiss id=1"), "alerts-off", given...)
}
