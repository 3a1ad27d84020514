package commands_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
)

// BenchmarkProtectInLanguage measures a warm /protect, queued as the
// platforms queue it and rendered for its reader, in English and in other
// languages: the wiki requests a command makes and its cost should not
// depend on the reader's language (the wiki's words are read once per
// language, then kept).
//
//	go test -run '^$' -bench ProtectInLanguage -benchmem ./commands/
func BenchmarkProtectInLanguage(b *testing.B) {
	env := testenv.New(b, wiki, testenv.Options{})
	ctx := context.Background()
	for _, lang := range []string{"en", "zh-hans", "tr"} {
		b.Run(lang, func(b *testing.B) {
			actor := admin
			actor.Locale = lang
			title := "Bench Lang " + lang
			line := func(level string) string {
				return fmt.Sprintf(`/protect %q create=%s expiry="1 week" reason=bench`, title, level)
			}
			// Warm: the session, tokens, siteinfo and the wiki's words in lang.
			if r := submittedAs(ctx, env, actor, line("sysop")); !r.OK() {
				b.Fatal(r.String())
			}
			levels := []string{"autoconfirmed", "sysop"}
			before := totalRequests(env)
			n := 0
			for i := 0; b.Loop(); i++ {
				r := submittedAs(ctx, env, actor, line(levels[i%2]))
				if !r.OK() {
					b.Fatal(r.String())
				}
				if r.Localizer.Lang != lang {
					b.Fatalf("reply in %q, want %q", r.Localizer.Lang, lang)
				}
				_ = r.String()
				n++
			}
			b.ReportMetric((totalRequests(env)-before)/float64(n), "wiki-requests/command")
		})
	}
}

// submittedAs is submitted for another actor.
func submittedAs(ctx context.Context, env *testenv.Env, actor commands.Actor, line string) commands.Reply {
	got := make(chan commands.Reply, 1)
	if r, ok := env.Service.Submit(ctx, commands.Job{Actor: actor, Line: line, Deliver: func(_ context.Context, r commands.Reply) { got <- r }}); !ok {
		return r
	}
	return <-got
}
