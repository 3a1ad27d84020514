package storagetest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// language reads the language platform's user chose and fails the test if
// that fails.
func language(t *testing.T, db Store, platform, user string) string {
	t.Helper()
	lang, err := db.Language(context.Background(), platform, user)
	if err != nil {
		t.Fatalf("Language(%s, %s): %v", platform, user, err)
	}
	return lang
}

// setLanguage records a choice and fails the test if that fails.
func setLanguage(t *testing.T, db Store, platform, user, lang string, now time.Time) {
	t.Helper()
	if err := db.SetLanguage(context.Background(), platform, user, lang, now); err != nil {
		t.Fatalf("SetLanguage(%s, %s, %q): %v", platform, user, lang, err)
	}
}

// dumpLanguages returns the language rows db's Dump hands over, and fails
// the test if Dump hands over any other row: the tests that use it store
// nothing else.
func dumpLanguages(t *testing.T, db Store) []commands.LanguageRow {
	t.Helper()
	var rows []commands.LanguageRow
	err := db.Dump(context.Background(), func(b commands.DumpBatch) error {
		rows = append(rows, b.Languages...)
		b.Languages = nil
		if !reflect.ValueOf(b).IsZero() {
			t.Errorf("Dump handed over rows besides the languages: %+v", b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	return rows
}

// testLanguageSetReadOverwriteForget: a chat user has no language until
// they choose one; a second choice replaces the first, and its time; ""
// forgets it, twice as well as once. The same id on another platform, and
// another id on the same one, are other people. A choice outlives a
// restart; its time is kept to the millisecond, in UTC, and a zero time
// means the store's clock.
func testLanguageSetReadOverwriteForget(t *testing.T, open Opener) {
	clock := newClock(t0)
	db := open(clock.Now)
	if got := language(t, db, "slack", "U1"); got != "" {
		t.Fatalf("a language before any was chosen: %q", got)
	}
	paris := time.FixedZone("Paris", 3600)
	setLanguage(t, db, "slack", "U1", "tr", t0.In(paris).Add(time.Minute+1500*time.Microsecond))
	setLanguage(t, db, "discord", "U1", "zh-hans", time.Time{})
	setLanguage(t, db, "slack", "U2", "be-tarask", t0.Add(2*time.Minute))
	for _, c := range []struct{ platform, user, want string }{
		{"slack", "U1", "tr"}, {"discord", "U1", "zh-hans"}, {"slack", "U2", "be-tarask"}, {"discord", "U2", ""}, {"console", "U1", ""},
	} {
		if got := language(t, db, c.platform, c.user); got != c.want {
			t.Errorf("Language(%s, %s) = %q, want %q", c.platform, c.user, got, c.want)
		}
	}
	want := []commands.LanguageRow{
		{Platform: "discord", UserID: "U1", Lang: "zh-hans", Updated: t0},
		{Platform: "slack", UserID: "U1", Lang: "tr", Updated: t0.Add(time.Minute + time.Millisecond)},
		{Platform: "slack", UserID: "U2", Lang: "be-tarask", Updated: t0.Add(2 * time.Minute)},
	}
	if got := dumpLanguages(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("the rows kept:\n got %+v\nwant %+v", got, want)
	}

	// Another choice replaces the first, and when it was made.
	setLanguage(t, db, "slack", "U1", "nan", t0.Add(time.Hour))
	if got := language(t, db, "slack", "U1"); got != "nan" {
		t.Errorf("after choosing again: %q, want nan", got)
	}
	want[1] = commands.LanguageRow{Platform: "slack", UserID: "U1", Lang: "nan", Updated: t0.Add(time.Hour)}
	if got := dumpLanguages(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("the rows after choosing again:\n got %+v\nwant %+v", got, want)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(clock.Now)
	if got := language(t, db, "slack", "U1"); got != "nan" {
		t.Errorf("after a restart: %q, want nan", got)
	}

	// "" forgets, the row with it; forgetting what is not kept is no error.
	for range 2 {
		setLanguage(t, db, "slack", "U1", "", t0.Add(2*time.Hour))
		if got := language(t, db, "slack", "U1"); got != "" {
			t.Errorf("after forgetting: %q", got)
		}
	}
	setLanguage(t, db, "console", "nobody", "", t0)
	if got := dumpLanguages(t, db); !reflect.DeepEqual(got, []commands.LanguageRow{want[0], want[2]}) {
		t.Errorf("the rows after forgetting:\n got %+v\nwant %+v", got, []commands.LanguageRow{want[0], want[2]})
	}
	if got := language(t, db, "discord", "U1"); got != "zh-hans" {
		t.Errorf("forgetting slack's U1 forgot discord's: %q", got)
	}
}

// testLanguageRefusesInvalid: a choice without a platform or a user, with
// one longer than a store keeps or that is not text, or with a lang that is
// not a language code is refused with ErrInvalidPreference, and nothing
// changes: a choice made before stays. Codes as MediaWiki spells them are
// kept, the longest there may be as well.
func testLanguageRefusesInvalid(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	setLanguage(t, db, "slack", "U1", "tr", t0)
	long := strings.Repeat("x", 255)
	for _, c := range []struct{ platform, user, lang string }{
		{"", "U1", "de"},
		{"slack", "", "de"},
		{"", "", ""},
		{long + "y", "U1", "de"},
		{"slack", long + "y", "de"},
		{"slack", "U1\x00", "de"},
		{"slack", "U1\xff", "de"},
		{"sl\xc3", "U1", "de"},
		{"slack", "U1", "Tr"},
		{"slack", "U1", "zh_hans"},
		{"slack", "U1", "zh-Hans"},
		{"slack", "U1", "t"},
		{"slack", "U1", strings.Repeat("a", 36)},
		{"slack", "U1", "-tr"},
		{"slack", "U1", "tr-"},
		{"slack", "U1", "zh--hans"},
		{"slack", "U1", "1tr"},
		{"slack", "U1", " tr"},
		{"slack", "U1", "tr "},
		{"slack", "U1", "tr\x00"},
		{"slack", "U1", "türk"},
		{"slack", "U1", "de\n"},
	} {
		err := db.SetLanguage(ctx, c.platform, c.user, c.lang, t0.Add(time.Hour))
		if !errors.Is(err, commands.ErrInvalidPreference) {
			t.Errorf("SetLanguage(%q, %q, %q) = %v, want ErrInvalidPreference", c.platform, c.user, c.lang, err)
		}
	}
	if got := language(t, db, "slack", "U1"); got != "tr" {
		t.Errorf("after the refusals: %q, want the tr chosen before", got)
	}
	want := []commands.LanguageRow{{Platform: "slack", UserID: "U1", Lang: "tr", Updated: t0}}
	if got := dumpLanguages(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("the refusals stored:\n got %+v\nwant %+v", got, want)
	}

	// What MediaWiki calls a language, and the longest keys kept.
	for _, lang := range []string{"de", "zh-hans", "nan", "be-tarask", "qqx", "zh-min-nan", "en-x-piglatin", strings.Repeat("a", 35)} {
		setLanguage(t, db, "slack", "U1", lang, t0)
		if got := language(t, db, "slack", "U1"); got != lang {
			t.Errorf("Language after choosing %q = %q", lang, got)
		}
	}
	setLanguage(t, db, long, long, "fi", t0)
	if got := language(t, db, long, long); got != "fi" {
		t.Errorf("Language of the longest platform and user = %q, want fi", got)
	}
	setLanguage(t, db, "console", "Zoë ☃", "fi", t0)
	if got := language(t, db, "console", "Zoë ☃"); got != "fi" {
		t.Errorf("Language of a user named in Unicode = %q, want fi", got)
	}
}

// testLanguageSharedByHandles: a choice made through one handle (a
// replica) is read through another at once, whichever made it, and so is
// its being forgotten.
func testLanguageSharedByHandles(t *testing.T, open Opener) {
	a, b := open(fixed(t0)), open(fixed(t0))
	setLanguage(t, a, "discord", "D1", "tr", t0)
	if got := language(t, b, "discord", "D1"); got != "tr" {
		t.Errorf("b reads %q after a chose tr", got)
	}
	setLanguage(t, b, "discord", "D1", "zh-hant", t0.Add(time.Minute))
	if got := language(t, a, "discord", "D1"); got != "zh-hant" {
		t.Errorf("a reads %q after b chose zh-hant", got)
	}
	setLanguage(t, b, "discord", "D1", "", t0.Add(2*time.Minute))
	if got := language(t, a, "discord", "D1"); got != "" {
		t.Errorf("a reads %q after b forgot the choice", got)
	}
}

// testLanguageDumpRestore: the choices are dumped, every column, and
// restored as they were into an empty database; a database holding a
// choice is not empty, and Restore refuses it naming the table.
func testLanguageDumpRestore(t *testing.T, open Opener) {
	db := open(fixed(t0))
	ctx := context.Background()
	setLanguage(t, db, "slack", "U1", "zh-hans", t0.Add(time.Second+7*time.Millisecond))
	setLanguage(t, db, "discord", "D1", "tr", t0.Add(time.Hour))
	setLanguage(t, db, "console", "admin", "qqx", t0.Add(-time.Hour))
	dumped := dumpLanguages(t, db)
	want := []commands.LanguageRow{
		{Platform: "console", UserID: "admin", Lang: "qqx", Updated: t0.Add(-time.Hour)},
		{Platform: "discord", UserID: "D1", Lang: "tr", Updated: t0.Add(time.Hour)},
		{Platform: "slack", UserID: "U1", Lang: "zh-hans", Updated: t0.Add(time.Second + 7*time.Millisecond)},
	}
	if !reflect.DeepEqual(dumped, want) {
		t.Fatalf("Dump:\n got %+v\nwant %+v", dumped, want)
	}
	source := func(ctx context.Context, yield func(commands.DumpBatch) error) error {
		return yield(commands.DumpBatch{Languages: dumped})
	}

	err := db.Restore(ctx, source)
	if !errors.Is(err, commands.ErrNotEmpty) || !strings.Contains(err.Error(), "languages (3)") {
		t.Errorf("Restore into a database holding choices = %v, want ErrNotEmpty naming languages (3)", err)
	}

	// Emptied, the database takes the dump back as it was.
	for _, r := range want {
		setLanguage(t, db, r.Platform, r.UserID, "", t0)
	}
	if err := db.Restore(ctx, source); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := dumpLanguages(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("Dump of the restored database:\n got %+v\nwant %+v", got, want)
	}
	other := open(fixed(t0))
	for _, r := range want {
		if got := language(t, other, r.Platform, r.UserID); got != r.Lang {
			t.Errorf("restored Language(%s, %s) = %q, want %q", r.Platform, r.UserID, got, r.Lang)
		}
	}
}
