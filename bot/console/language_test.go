package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot/console"
	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// zoned answers every command with a reply naming a time, in the language
// of the actor, as a service on a wiki in Istanbul's time zone would; and
// records the actors.
type zoned struct {
	echo
	at, now time.Time
}

func (z *zoned) localizer(actor commands.Actor) i18n.Localizer {
	return i18n.Localizer{Lang: actor.Locale, Now: func() time.Time { return z.now }}
}

func (z *zoned) Submit(ctx context.Context, job commands.Job) (commands.Reply, bool) {
	z.echo.Submit(ctx, commands.Job{Actor: job.Actor, Line: job.Line, Deliver: func(context.Context, commands.Reply) {}})
	r := commands.Reply{
		Title:     i18n.M("wikimod-with-code", i18n.Time{T: z.at, Style: i18n.TimeFull}, i18n.Time{T: z.at, Style: i18n.TimeRelative}),
		Localizer: z.localizer(job.Actor),
	}
	go job.Deliver(ctx, r)
	return commands.Reply{}, true
}

func (z *zoned) ActorLocalizer(_ context.Context, actor commands.Actor, _ string) i18n.Localizer {
	return z.localizer(actor)
}

func (z *zoned) TimeZone(context.Context, commands.Actor, string) *time.Location {
	loc, err := time.LoadLocation("Europe/Istanbul")
	if err != nil {
		return time.FixedZone("Europe/Istanbul", 3*60*60)
	}
	return loc
}

// TestConsoleLanguageAndTimes: the person at the terminal is the actor in
// the language the console was given (-lang); times are written in the
// wiki's time zone with its offset, since a terminal cannot show each
// reader their own, and relative times from the service's clock; notices
// are in the person's language too.
func TestConsoleLanguageAndTimes(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	svc := &zoned{at: now.Add(7 * 24 * time.Hour), now: now}
	var out bytes.Buffer
	a, err := console.New(console.Config{Service: svc, User: "alice", Locale: "tr", In: strings.NewReader("/protect x\n"), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(svc.actors) != 1 || svc.actors[0].Locale != "tr" {
		t.Errorf("actors = %+v, want the console user in tr", svc.actors)
	}
	turkish := i18n.Localizer{Lang: "tr"}
	if want := turkish.Text(i18n.M("wikimod-with-code", "2026-12-10 12:00 (UTC+03:00)", i18n.Relative(svc.at, now))) + "\n\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}

	out.Reset()
	a.Notify(context.Background(), commands.Reply{Title: i18n.M("wikimod-with-code", i18n.Time{T: svc.at, Style: i18n.TimeFull}, "x")})
	if want := turkish.T("wikimod-console-notice") + " " + turkish.Text(i18n.M("wikimod-with-code", "2026-12-10 12:00 (UTC+03:00)", "x")) + "\n\n"; out.String() != want {
		t.Errorf("notice = %q, want %q", out.String(), want)
	}
}
