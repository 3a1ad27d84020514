package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/wikimod/wikimod/internal/devwiki"
)

// TestGeneratedFileIsCurrent regenerates fallbacks_gen.go from the
// MediaWiki 1.43 the tests run against and compares it with the committed
// file, so that a change to the generator or to MediaWiki's language data
// cannot go unnoticed.
func TestGeneratedFileIsCurrent(t *testing.T) {
	dir := filepath.Join(devwiki.RootDir143, devwiki.MediaWikiDir)
	if _, err := os.Stat(filepath.Join(dir, "languages/messages/MessagesEn.php")); err != nil {
		t.Skipf("MediaWiki 1.43 is not installed (scripts/install-deps.sh 1.43): %v", err)
	}
	got, err := Generate(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../fallbacks_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("i18n/fallbacks_gen.go is out of date: run go generate ./i18n")
	}
}

func TestReadMediaWiki(t *testing.T) {
	dir := filepath.Join(devwiki.RootDir143, devwiki.MediaWikiDir)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("MediaWiki 1.43 is not installed: %v", err)
	}
	d, err := Read(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Fallbacks["nan-hant"]; len(got) == 0 || got[0] != "nan" {
		t.Errorf("nan-hant falls back to %q, want nan first", got)
	}
	if d.Names["gn"] != "Avañe'ẽ" {
		t.Errorf("the autonym of gn is %q: PHP's \\' is not unescaped", d.Names["gn"])
	}
	if d.Deprecated["zh-min-nan"] != "nan" || d.NonStandard["sr-el"] != "sr-Latn" {
		t.Errorf("code mappings: %v, %v", d.Deprecated, d.NonStandard)
	}
}
