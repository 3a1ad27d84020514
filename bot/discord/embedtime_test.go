package discord

import (
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// TestEmbedTitlesWriteTimesOut: Discord shows <t:…> markup in an embed's
// description and fields but not in its title, so a time in a title is
// written out relative to now, while the body keeps the markup each
// reader's client renders in their own zone.
func TestEmbedTitlesWriteTimesOut(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := now.Add(time.Hour)
	r := commands.Reply{
		Title:     i18n.M("wikimod-time-in", i18n.Duration(time.Hour)),
		Text:      i18n.Raw("x"),
		Fields:    []commands.Field{{Label: i18n.Raw("when"), Value: i18n.M("wikimod-with-code", i18n.Time{T: at, Style: i18n.TimeRelative}, "x")}},
		Localizer: i18n.Localizer{Lang: "en", Now: func() time.Time { return now }},
	}
	r.Title = i18n.M("wikimod-about-page", "Page", i18n.Time{T: at, Style: i18n.TimeRelative})
	e := Embed(r)
	if strings.Contains(e.Title, "<t:") || !strings.Contains(e.Title, "in 1 hour") {
		t.Errorf("title %q: want the time written out (in 1 hour), no markup", e.Title)
	}
	if want := "<t:" + "1796302800" + ":R>"; !strings.Contains(e.Fields[0].Value, want) {
		t.Errorf("field %q: want Discord's markup %s", e.Fields[0].Value, want)
	}
}
