package i18n_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wikimod/wikimod/i18n"
)

// TestEmbeddedCatalogues keeps the catalogues built into the binary
// complete and well-formed: Default panics at start-up on a file it cannot
// read, and Check finds what a translator must fix.
func TestEmbeddedCatalogues(t *testing.T) {
	cat := i18n.Default()
	if problems := cat.Check(); len(problems) > 0 {
		t.Errorf("the embedded catalogues have problems:\n%s", strings.Join(problems, "\n"))
	}
	if !slices.Contains(cat.Languages(), "en") || slices.Contains(cat.Languages(), "qqq") {
		t.Errorf("Languages() = %v, want en among them and no qqq", cat.Languages())
	}
	for _, key := range cat.Keys() {
		if cat.Doc(key) == "" {
			t.Errorf("%s has no documentation", key)
		}
	}
	for _, key := range []string{"wikimod-comma-separator", "wikimod-and", "wikimod-word-separator", "wikimod-duration-weeks"} {
		if !slices.Contains(cat.Keys(), key) {
			t.Errorf("Keys() lacks %s", key)
		}
	}
}

func TestCheckFindsEachProblem(t *testing.T) {
	got := load(t, "check").Check()
	want := []string{
		`en.json: "not-prefixed" does not start with "wikimod-"`,
		`en.json: "wikimod-no-colon": {{PLURAL}} needs a colon and a parameter: {{PLURAL:$1|…}}`,
		`en.json: "wikimod-no-forms": {{PLURAL}} has no forms`,
		`en.json: "wikimod-no-parameter": {{PLURAL:}} names no parameter`,
		`en.json: "wikimod-unclosed": the {{ at byte 0 is never closed`,
		`en.json: "wikimod-unsupported": {{GRAMMAR}} is not supported (only PLURAL and GENDER are)`,
		`qqq.json documents "wikimod-gone", which en.json does not have`,
		`qqq.json does not document "wikimod-undocumented"`,
		`tr.json has "wikimod-extra", which en.json does not have`,
		`tr.json lacks "wikimod-unsupported"`,
		`tr.json: "wikimod-ok" uses $3, which the English message does not have`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Check() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadRefusesUnreadableCatalogues(t *testing.T) {
	en := &fstest.MapFile{Data: []byte(`{"wikimod-a": "A"}`)}
	for name, files := range map[string]fstest.MapFS{
		"no en":          {"tr.json": {Data: []byte(`{"wikimod-a": "A"}`)}},
		"bad JSON":       {"en.json": {Data: []byte(`{"wikimod-a": "A",}`)}},
		"not an object":  {"en.json": {Data: []byte(`["wikimod-a"]`)}},
		"not a string":   {"en.json": {Data: []byte(`{"wikimod-a": 1}`)}},
		"key twice":      {"en.json": {Data: []byte(`{"wikimod-a": "A", "wikimod-a": "B"}`)}},
		"trailing text":  {"en.json": {Data: []byte(`{"wikimod-a": "A"} {}`)}},
		"unknown code":   {"en.json": en, "xx-yy.json": {Data: []byte(`{}`)}},
		"platform code":  {"en.json": en, "zh_CN.json": {Data: []byte(`{}`)}},
		"qqx is no file": {"en.json": en, "qqx.json": {Data: []byte(`{}`)}},
	} {
		if _, err := i18n.Load(files); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
	c, err := i18n.Load(fstest.MapFS{
		"en.json":  {Data: []byte(`{"@metadata": {"authors": ["x"]}, "wikimod-a": "A&#32;&#x42;&#;&amp;"}`)},
		"qqq.json": {Data: []byte(`{"wikimod-a": "The letter A."}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := (i18n.Localizer{Cat: c}).T("wikimod-a"), "A B&#;&amp;"; got != want {
		t.Errorf("numeric references: %q, want %q", got, want)
	}
	if got, want := c.Doc("wikimod-a"), "The letter A."; got != want {
		t.Errorf("Doc = %q, want %q", got, want)
	}
}
