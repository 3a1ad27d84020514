package commands_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

// TestLanguageChoiceComesFirst: /language CODE is kept per chat user and
// wins over the platform's locale; /language shows it and where it comes
// from; /language default forgets it; an unknown code is refused and
// changes nothing; every attempt is audited.
func TestLanguageChoiceComesFirst(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{Preferences: true})
	ctx := context.Background()
	a := commands.Actor{Platform: "console", UserID: "lang-user", UserName: "lang-user", Channel: "test", Locale: "tr"}
	other := a
	other.UserID, other.UserName = "lang-other", "lang-other"

	r := env.Service.ExecuteLine(ctx, a, "/language")
	if !r.OK() || r.Localizer.Lang != "tr" {
		t.Fatalf("before a choice: %s in %q, want ok in tr (the platform's)", r.String(), r.Localizer.Lang)
	}
	if !strings.Contains(english(r.Text), "chat client") {
		t.Errorf("the source is not the platform: %q", english(r.Text))
	}

	r = env.Service.ExecuteLine(ctx, a, "/language zh-hans")
	if !r.OK() || r.Localizer.Lang != "zh-hans" {
		t.Fatalf("/language zh-hans: %s in %q, want ok in zh-hans (the reply is in the new language)", r.String(), r.Localizer.Lang)
	}
	r = env.Service.ExecuteLine(ctx, a, "/language")
	if r.Localizer.Lang != "zh-hans" || !strings.Contains(english(r.Text), "/language") || !strings.Contains(english(r.Title), "zh-hans") {
		t.Errorf("after the choice: %q in %q, want zh-hans, chosen", english(r.Title)+" "+english(r.Text), r.Localizer.Lang)
	}
	// Another person is not affected; the same person's next command is.
	if r := env.Service.ExecuteLine(ctx, other, "/help"); r.Localizer.Lang != "tr" {
		t.Errorf("another person's reply is in %q, want tr", r.Localizer.Lang)
	}
	if r := env.Service.ExecuteLine(ctx, a, "/help"); r.Localizer.Lang != "zh-hans" {
		t.Errorf("the chooser's next reply is in %q, want zh-hans", r.Localizer.Lang)
	}

	for _, bad := range []string{"/language klingon-xx", "/language zz", "/language tr zh"} {
		r := env.Service.ExecuteLine(ctx, a, bad)
		if r.Outcome != commands.OutcomeInvalid {
			t.Errorf("%s: %s, want refused", bad, r.String())
		}
	}
	if r := env.Service.ExecuteLine(ctx, a, "/help"); r.Localizer.Lang != "zh-hans" {
		t.Errorf("a refused code changed the language to %q", r.Localizer.Lang)
	}

	r = env.Service.ExecuteLine(ctx, a, "/language default")
	if !r.OK() || r.Localizer.Lang != "tr" {
		t.Errorf("/language default: %s in %q, want ok and back to tr", r.String(), r.Localizer.Lang)
	}

	// A language wikimod has no catalogue for is kept: the wiki's words
	// follow it.
	r = env.Service.ExecuteLine(ctx, a, "/language fi")
	if !r.OK() || r.Localizer.Lang != "fi" || !strings.Contains(english(r.Text), "no translation") {
		t.Errorf("/language fi: %s in %q", r.String(), r.Localizer.Lang)
	}

	recs, err := env.DB.Audit(ctx, commands.AuditFilter{Command: "language", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 8 {
		t.Errorf("%d audit rows for /language, want 8 (one per attempt)", len(recs))
	}
}

// TestTheWikiSpeaksTheReadersLanguage: the wiki's own words reach the
// reader in their language, as the wiki itself has them: its refusal of a
// taken account name, and its names of protection levels.
func TestTheWikiSpeaksTheReadersLanguage(t *testing.T) {
	env := testenv.New(t, wiki, testenv.Options{})
	ctx := context.Background()
	cases := []struct{ lang, taken, level string }{
		{"tr", "Girdiğiniz kullanıcı adı zaten kullanımda", "Yalnızca hizmetlilere izin verilir"},
		{"zh-hans", "输入的用户名已在使用", "仅允许管理员"},
		{"en", "Username entered already in use", "Allow only administrators"},
	}
	for _, tc := range cases {
		a := admin
		a.Locale = tc.lang
		r := env.Service.ExecuteLine(ctx, a, `/validatepassword password="Lang-check-pass-88" user=Admin`)
		if r.Code != "userexists" || !strings.Contains(r.String(), tc.taken) {
			t.Errorf("%s: /validatepassword for a taken name: code %q, %q; want userexists with the wiki's %q", tc.lang, r.Code, r.String(), tc.taken)
		}
		r = env.Service.ExecuteLine(ctx, a, `/protect "Lang Page `+tc.lang+`" create=sysop expiry="1 week"`)
		if !r.OK() || !strings.Contains(r.String(), tc.level+" (sysop)") {
			t.Errorf("%s: /protect: %q; want the wiki's %q beside the code", tc.lang, r.String(), tc.level)
		}
	}
}

// countingPrefs is a PreferenceStore another replica also writes to
// (Set), counting the reads that reach it.
type countingPrefs struct {
	mu    sync.Mutex
	langs map[string]string
	reads int
}

func (p *countingPrefs) Language(_ context.Context, platform, user string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads++
	return p.langs[platform+":"+user], nil
}

func (p *countingPrefs) SetLanguage(_ context.Context, platform, user, lang string, _ time.Time) error {
	p.Set(platform+":"+user, lang)
	return nil
}

func (p *countingPrefs) Set(key, lang string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.langs[key] = lang
}

// TestChosenLanguageIsReadOnceInAWhile: a person's choice is read from the
// store once and then kept for a while (every command renders more than
// once); their own /language takes effect at once; a choice made through
// another replica reaches this one within 30 seconds of the clock.
func TestChosenLanguageIsReadOnceInAWhile(t *testing.T) {
	clock := testwait.NewClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	prefs := &countingPrefs{langs: map[string]string{}}
	env := testenv.New(t, wiki, testenv.Options{Now: clock.Now, Languages: commands.LanguageConfig{Preferences: prefs}})
	ctx := context.Background()
	a := commands.Actor{Platform: "console", UserID: "cache-user", UserName: "cache-user", Channel: "test"}
	for range 3 {
		if r := env.Service.ExecuteLine(ctx, a, "/help"); r.Localizer.Lang != "en" {
			t.Fatalf("reply in %q, want en", r.Localizer.Lang)
		}
	}
	if prefs.reads != 1 {
		t.Errorf("%d reads of the person's choice for 3 commands, want 1", prefs.reads)
	}
	if r := env.Service.ExecuteLine(ctx, a, "/language tr"); r.Localizer.Lang != "tr" {
		t.Errorf("/language tr answered in %q, want tr at once", r.Localizer.Lang)
	}
	prefs.Set("console:cache-user", "zh-hans") // another replica's /language
	clock.Add(29 * time.Second)
	if r := env.Service.ExecuteLine(ctx, a, "/help"); r.Localizer.Lang != "tr" {
		t.Errorf("within 30 s: %q, want tr (kept)", r.Localizer.Lang)
	}
	clock.Add(2 * time.Second)
	if r := env.Service.ExecuteLine(ctx, a, "/help"); r.Localizer.Lang != "zh-hans" {
		t.Errorf("after 30 s: %q, want zh-hans (another replica's choice)", r.Localizer.Lang)
	}
}
