package i18n_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/wikimod/wikimod/i18n"
)

// load reads a test catalogue from testdata.
func load(t testing.TB, dir string) *i18n.Catalogue {
	t.Helper()
	c, err := i18n.Load(os.DirFS("testdata/" + dir))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// textCase is a message and what it should render as.
type textCase = struct {
	m    i18n.Message
	want string
}

// check compares what l renders for each case.
func check(t *testing.T, l i18n.Localizer, cases []textCase) {
	t.Helper()
	for _, c := range cases {
		if got := l.Text(c.m); got != c.want {
			t.Errorf("Localizer{Lang: %q}.Text(%v) = %q, want %q", l.Lang, c.m, got, c.want)
		}
	}
}

func TestTextParametersAndNesting(t *testing.T) {
	cat := load(t, "render")
	en := i18n.Localizer{Lang: "en", Cat: cat}
	check(t, en, []textCase{
		{i18n.M("wikimod-test-protected", "Main Page", 1), "Protection of Main Page changed, 1 level."},
		{i18n.M("wikimod-test-protected", "Main Page", 2), "Protection of Main Page changed, 2 levels."},
		{i18n.M("wikimod-test-plain"), "Nothing to say."},
		{i18n.M("wikimod-test-plain", "ignored"), "Nothing to say."},
		// A parameter that was not given stays as written, as in MediaWiki.
		{i18n.M("wikimod-test-two", "a"), "a and $2"},
		// Parameters are never parsed: a title may hold anything.
		{i18n.M("wikimod-test-two", "{{PLURAL:$1|x|y}}", "$1 [[a|b]]"), "{{PLURAL:$1|x|y}} and $1 [[a|b]]"},
		{i18n.Raw("{{PLURAL:$1|x}} $2"), "{{PLURAL:$1|x}} $2"},
		// Nested messages render in the same language and catalogue.
		{i18n.M("wikimod-test-until", i18n.Raw("Main Page"), i18n.M("wikimod-test-days", 3)), "Main Page until 3 days"},
		{i18n.M("wikimod-test-two", i18n.M("wikimod-test-plain"), i18n.M("wikimod-test-two", "x", "y")), "Nothing to say. and x and y"},
		// Integers of every kind, written plainly.
		{i18n.M("wikimod-test-two", int8(-3), uint64(18446744073709551615)), "-3 and 18446744073709551615"},
		{i18n.M("wikimod-test-two", level(7), 1234567), "7 and 1234567"},
		{i18n.M("wikimod-unknown-key", "x"), "⧼wikimod-unknown-key⧽"},
		{i18n.M("wikimod-unknown-key").Else(i18n.Raw("fallback")), "fallback"},
		{i18n.Message{}, ""},
		{i18n.M("wikimod-test-unknown", "Wiki"), "{{GRAMMAR:genitive|Wiki}} and [[Special:Log|the log]]"},
		{i18n.M("wikimod-test-gender", "Alice"), "They asked; her request"},
	})
	tr := i18n.Localizer{Lang: "tr", Cat: cat}
	check(t, tr, []textCase{
		{i18n.M("wikimod-test-protected", "Ana Sayfa", 2), "Ana Sayfa sayfasının koruması değiştirildi, 2 düzey."},
		{i18n.M("wikimod-test-until", i18n.Raw("Ana Sayfa"), i18n.M("wikimod-test-days", 3)), "Ana Sayfa until 3 gün"},
	})
}

// level is a named integer type, as callers have.
type level int

func TestDurationParameters(t *testing.T) {
	en := i18n.Localizer{Lang: "en"}
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{7 * 24 * time.Hour, "1 week"},
		{14 * 24 * time.Hour, "2 weeks"},
		{3 * 24 * time.Hour, "3 days"},
		{10 * 24 * time.Hour, "10 days"},
		{2 * time.Hour, "2 hours"},
		{25 * time.Hour, "25 hours"},
		{90 * time.Minute, "90 minutes"},
		{time.Minute, "1 minute"},
		{time.Second, "1 second"},
		{61 * time.Second, "61 seconds"},
		{1400 * time.Millisecond, "1 second"},
		{0, "0 seconds"},
		{-3 * 24 * time.Hour, "-3 days"},
	} {
		if got := en.Text(i18n.Duration(c.d)); got != c.want {
			t.Errorf("Duration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	// A time.Duration given as a parameter is a Duration.
	if got, want := en.Text(i18n.M("wikimod-time-in", 3*24*time.Hour)), "in 3 days"; got != want {
		t.Errorf("a time.Duration parameter: %q, want %q", got, want)
	}
	if got, want := (i18n.Localizer{Lang: "qqx"}).Text(i18n.Duration(2*time.Hour)), "(wikimod-duration-hours: 2)"; got != want {
		t.Errorf("Duration in qqx: %q, want %q", got, want)
	}
}

func TestPlural(t *testing.T) {
	cat := load(t, "render")
	forms := func(lang string, n any) string {
		return i18n.Localizer{Lang: lang, Cat: cat}.T("wikimod-test-forms", n)
	}
	for _, c := range []struct {
		lang string
		n    any
		want string
	}{
		// English and Turkish: one, other.
		{"en", 1, "form1"}, {"en", 0, "form2"}, {"en", 2, "form2"}, {"en", 21, "form2"}, {"en", "1.0", "form2"},
		{"tr", 1, "form1"}, {"tr", 2, "form2"}, {"tr", -1, "form1"},
		// Russian: one, few, many, other (decimals).
		{"ru", 1, "form1"}, {"ru", 21, "form1"}, {"ru", 2, "form2"}, {"ru", 24, "form2"},
		{"ru", 5, "form3"}, {"ru", 11, "form3"}, {"ru", 12, "form3"}, {"ru", 100, "form3"},
		{"ru", "1.5", "form4"}, {"ru", 1.5, "form4"}, {"ru", uint64(18446744073709551615), "form3"},
		// Chinese: other alone.
		{"zh-hans", 1, "form1"}, {"zh-hans", 2, "form1"}, {"zh-hans", 5, "form1"},
		// x/text knows no rules for nan; those of the nearest language
		// along its chain that it knows (zh-hant) apply: other alone.
		{"nan", 1, "form1"}, {"nan", 2, "form1"}, {"nan", 100, "form1"},
		// Nor for sgs (Samogitian), which falls back to lt: one, few,
		// many (decimals), other.
		{"sgs", 1, "form1"}, {"sgs", 2, "form2"}, {"sgs", "0.5", "form3"}, {"sgs", 10, "form4"},
		// Something that is no number takes the "other" form.
		{"en", "many", "form2"}, {"ru", i18n.Raw("x"), "form4"},
		// A nested message's text is the count.
		{"ru", i18n.Raw("3"), "form2"},
	} {
		if got := forms(c.lang, c.n); got != c.want {
			t.Errorf("PLURAL in %s for %v: %q, want %q", c.lang, c.n, got, c.want)
		}
	}

	// Fewer forms than categories: the last form stands for the rest.
	ru := i18n.Localizer{Lang: "ru", Cat: cat}
	for n, want := range map[int]string{1: "1 день", 3: "3 дня", 5: "5 дней", 21: "21 день", 111: "111 дней"} {
		if got := ru.T("wikimod-test-days", n); got != want {
			t.Errorf("ru days(%d) = %q, want %q", n, got, want)
		}
	}
	en := i18n.Localizer{Lang: "en", Cat: cat}
	for n, want := range map[int]string{1: "1 sheep", 2: "2 sheep"} {
		if got := en.T("wikimod-test-sheep", n); got != want {
			t.Errorf("one form for %d: %q, want %q", n, got, want)
		}
	}
	// The rules are those of the language the text is in: a Russian reader
	// of an English fallback reads English plurals ("21 days", not the
	// "21 day" MediaWiki would write).
	if got, want := ru.T("wikimod-test-explicit", 21), "21 pages"; got != want {
		t.Errorf("ru reading an English fallback: %q, want %q", got, want)
	}

	// Explicit forms come first, wherever they stand.
	for n, want := range map[any]string{0: "No pages", 1: "1 page", 12: "A dozen pages", 13: "13 pages", "12": "A dozen pages", int64(12): "A dozen pages", -12: "-12 pages"} {
		if got := en.T("wikimod-test-explicit", n); got != want {
			t.Errorf("explicit forms for %v: %q, want %q", n, got, want)
		}
	}
	// A "|" inside a link does not split the forms.
	if got, want := en.T("wikimod-test-link-in-plural", 3), "[[Special:Log|3 entries]]"; got != want {
		t.Errorf("link in PLURAL: %q, want %q", got, want)
	}
}

func TestFallback(t *testing.T) {
	cat := load(t, "render")
	check(t, i18n.Localizer{Lang: "nan", Cat: cat}, []textCase{
		{i18n.M("wikimod-test-plain"), "Bô ōe thang kóng."},
		// nan lacks it; zh-hant comes before zh-hans in nan's chain.
		{i18n.M("wikimod-test-protected", "頭頁", 2), "頭頁的保護已變更，共2個層級。"},
		{i18n.M("wikimod-test-english-only"), "Only in English."},
		{i18n.List(i18n.Raw("甲"), i18n.Raw("乙"), i18n.Raw("丙")), "甲、乙和丙"},
	})
	// fi has no catalogue: English.
	check(t, i18n.Localizer{Lang: "fi", Cat: cat}, []textCase{
		{i18n.M("wikimod-test-plain"), "Nothing to say."},
	})
	// Codes as platforms write them still find their language.
	check(t, i18n.Localizer{Lang: "zh_Hans", Cat: cat}, []textCase{
		{i18n.M("wikimod-test-plain"), "无话可说。"},
	})
	check(t, i18n.Localizer{Cat: cat}, []textCase{
		{i18n.M("wikimod-test-plain"), "Nothing to say."},
	})
}

func TestList(t *testing.T) {
	en := i18n.Localizer{Lang: "en"}
	a, b, c := i18n.Raw("a"), i18n.Raw("b"), i18n.Raw("c")
	check(t, en, []textCase{
		{i18n.List(), ""},
		{i18n.List(a), "a"},
		{i18n.List(a, b), "a and b"},
		{i18n.List(a, b, c), "a, b and c"},
		{i18n.M("wikimod-time-in", []i18n.Message{a, b}), "in a and b"},
		{i18n.M("wikimod-time-in", []string{"x", "y", "z"}), "in x, y and z"},
		{i18n.List(i18n.Duration(time.Hour), i18n.Duration(time.Minute)), "1 hour and 1 minute"},
	})
	check(t, i18n.Localizer{Lang: "tr", Cat: load(t, "render")}, []textCase{
		// tr has its own "and"; its comma comes from en.
		{i18n.List(a, b, c), "a, b ve c"},
	})
	check(t, i18n.Localizer{Lang: "zh-hans", Cat: load(t, "render")}, []textCase{
		{i18n.List(i18n.Raw("甲"), i18n.Raw("乙"), i18n.Raw("丙")), "甲、乙和丙"},
	})
	check(t, i18n.Localizer{Lang: "qqx"}, []textCase{
		{i18n.List(a, b, c), "a(wikimod-comma-separator)b(wikimod-and)(wikimod-word-separator)c"},
	})
}

func TestQQX(t *testing.T) {
	qqx := i18n.Localizer{Lang: "qqx"}
	check(t, qqx, []textCase{
		{i18n.M("wikimod-time-now"), "(wikimod-time-now)"},
		{i18n.M("wikimod-whatever", "Main Page", 3), "(wikimod-whatever: Main Page, 3)"},
		{i18n.M("wikimod-time-in", i18n.M("wikimod-duration-days", 7)), "(wikimod-time-in: (wikimod-duration-days: 7))"},
		{i18n.Raw("Main Page"), "Main Page"},
		{i18n.Wiki("protect-level-sysop"), "(protect-level-sysop)"},
		{i18n.Wiki("protect-level-x").Else(i18n.Raw("x")), "(protect-level-x)"},
		{i18n.M("wikimod-unknown").Else(i18n.Raw("English")), "(wikimod-unknown)"},
		{i18n.M("wikimod-x", i18n.Time{T: time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)}), "(wikimod-x: 2026-12-10 12:00 UTC)"},
	})
	// The wiki answers amlang=qqx with "(key)", or "(key$*)" where $*
	// stands for the parameters.
	wiki := func(key string) (string, bool) {
		switch key {
		case "protect-level-sysop":
			return "(protect-level-sysop)", true
		case "nbytes":
			return "(nbytes$*)", true
		}
		return "", false
	}
	check(t, i18n.Localizer{Lang: "qqx", Wiki: wiki}, []textCase{
		{i18n.Wiki("protect-level-sysop"), "(protect-level-sysop)"},
		{i18n.Wiki("nbytes", 5), "(nbytes: 5)"},
		{i18n.Wiki("restriction-edit"), "(restriction-edit)"},
		{i18n.Wiki("restriction-x", "a"), "(restriction-x: a)"},
	})
	// No catalogue English escapes qqx.
	cat := i18n.Default()
	for _, key := range cat.Keys() {
		if got, want := qqx.T(key, 1, "p"), "("+key+": 1, p)"; got != want {
			t.Errorf("qqx %s = %q, want %q", key, got, want)
		}
	}
	if got, want := i18n.M("wikimod-x", 1, i18n.Raw("t")).String(), "(wikimod-x: 1, t)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestWikiMessages(t *testing.T) {
	msgs := map[string]string{
		"protect-level-sysop": "Yalnızca hizmetlilere izin verilir",
		"nbytes":              "{{PLURAL:$1|$1 bayt}}",
		"pages":               "{{PLURAL:$1|$1 page|$1 pages}}",
	}
	wiki := func(key string) (string, bool) {
		s, ok := msgs[key]
		return s, ok
	}
	// The test catalogues have no Turkish: the bot's words fall back to
	// English while the wiki's are Turkish.
	tr := i18n.Localizer{Lang: "tr", Wiki: wiki, Cat: load(t, "render")}
	check(t, tr, []textCase{
		{i18n.Wiki("protect-level-sysop"), "Yalnızca hizmetlilere izin verilir"},
		{i18n.Wiki("nbytes", 2), "2 bayt"},
		{i18n.Wiki("pages", 1), "1 page"},
		{i18n.Wiki("pages", 3), "3 pages"},
		// The wiki lacks it: MediaWiki's mark, or the fallback given.
		{i18n.Wiki("protect-level-templateeditor"), "⧼protect-level-templateeditor⧽"},
		{i18n.Wiki("protect-level-templateeditor").Else(i18n.Raw("templateeditor")), "templateeditor"},
		// A wiki message as a parameter of one of ours.
		{i18n.M("wikimod-time-in", i18n.Wiki("protect-level-sysop")), "in Yalnızca hizmetlilere izin verilir"},
	})
	check(t, i18n.Localizer{Lang: "tr", Cat: load(t, "render")}, []textCase{
		{i18n.Wiki("protect-level-sysop"), "⧼protect-level-sysop⧽"},
	})
}

func TestTime(t *testing.T) {
	cat := load(t, "render")
	at := time.Date(2026, 12, 10, 12, 0, 30, 0, time.FixedZone("CET", 3600))
	plain := i18n.Localizer{Lang: "en", Cat: cat}
	check(t, plain, []textCase{
		{i18n.M("wikimod-test-when", i18n.Time{T: at}), "Expires 2026-12-10 11:00 UTC."},
		{i18n.M("wikimod-test-when", at), "Expires 2026-12-10 11:00 UTC."},
		{i18n.M("wikimod-test-when", i18n.Time{T: at, Style: i18n.TimeDate}), "Expires 2026-12-10."},
		// No clock: a relative time is written in full.
		{i18n.M("wikimod-test-when", i18n.Time{T: at, Style: i18n.TimeRelative}), "Expires 2026-12-10 11:00 UTC."},
	})

	now := at.Add(-(7*24*time.Hour - 2*time.Second))
	clocked := i18n.Localizer{Lang: "en", Cat: cat, Now: func() time.Time { return now }}
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{at, "in 7 days"},
		{now.Add(2 * time.Hour), "in 2 hours"},
		{now.Add(90 * time.Minute), "in 2 hours"},
		{now.Add(89 * time.Minute), "in 1 hour"},
		{now.Add(59 * time.Minute), "in 59 minutes"},
		{now.Add(14 * 24 * time.Hour), "in 2 weeks"},
		{now.Add(13 * 24 * time.Hour), "in 13 days"},
		{now.Add(100 * time.Minute), "in 2 hours"},
		{now.Add(-3 * time.Hour), "3 hours ago"},
		{now.Add(-26 * time.Hour), "1 day ago"},
		{now.Add(-50 * time.Hour), "2 days ago"},
		{now.Add(500 * time.Millisecond), "just now"},
	} {
		if got := clocked.Text(i18n.Relative(c.t, now)); got != c.want {
			t.Errorf("Relative(%v, %v) = %q, want %q", c.t, now, got, c.want)
		}
		if got, want := clocked.T("wikimod-test-when", i18n.Time{T: c.t, Style: i18n.TimeRelative}), "Expires "+c.want+"."; got != want {
			t.Errorf("a relative Time %v from %v: %q, want %q", c.t, now, got, want)
		}
	}
	check(t, i18n.Localizer{Lang: "qqx", Now: func() time.Time { return now }}, []textCase{
		{i18n.M("wikimod-x", i18n.Time{T: at, Style: i18n.TimeRelative}), "(wikimod-x: (wikimod-time-in: (wikimod-duration-days: 7)))"},
	})

	// The platform's own way wins, in every language.
	discord := func(t i18n.Time) string {
		style := "f"
		if t.Style == i18n.TimeRelative {
			style = "R"
		}
		return "<t:" + strconv.FormatInt(t.T.Unix(), 10) + ":" + style + ">"
	}
	check(t, i18n.Localizer{Lang: "qqx", Time: discord, Now: func() time.Time { return now }}, []textCase{
		{i18n.M("wikimod-x", i18n.Time{T: at, Style: i18n.TimeRelative}), "(wikimod-x: <t:1796900430:R>)"},
	})
	check(t, i18n.Localizer{Lang: "en", Cat: cat, Time: discord}, []textCase{
		{i18n.M("wikimod-test-when", at), "Expires <t:1796900430:f>."},
	})
}

// TestConcurrentRendering renders from one catalogue in many goroutines at
// once, as the bot's adapters do; run with -race it shows that rendering
// shares nothing mutable but the plural rules' cache.
func TestConcurrentRendering(t *testing.T) {
	cat := load(t, "render")
	wiki := func(string) (string, bool) { return "{{PLURAL:$1|$1 sayfa}}", true }
	done := make(chan string)
	langs := []string{"en", "tr", "ru", "zh-hans", "zh-hant", "nan", "sgs", "fi", "qqx", "de", "ar", "cy"}
	for _, lang := range langs {
		go func() {
			l := i18n.Localizer{Lang: lang, Cat: cat, Wiki: wiki}
			var last string
			for n := range 50 {
				last = l.Text(i18n.M("wikimod-test-until", i18n.Wiki("pages", n), i18n.M("wikimod-test-forms", n)))
			}
			done <- last
		}()
	}
	for range langs {
		if got := <-done; got == "" {
			t.Error("a goroutine rendered nothing")
		}
	}
}
