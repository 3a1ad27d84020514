package i18n_test

import (
	"testing"

	"github.com/wikimod/wikimod/i18n"
)

// BenchmarkText measures rendering a typical reply line: a catalogue
// message with a title and a count that drives PLURAL, in a language that
// has it and in one that finds it along its fallback chain.
func BenchmarkText(b *testing.B) {
	cat := load(b, "render")
	for _, lang := range []string{"en", "zh-hans", "nan", "qqx"} {
		b.Run(lang, func(b *testing.B) {
			l := i18n.Localizer{Lang: lang, Cat: cat}
			b.ReportAllocs()
			for b.Loop() {
				_ = l.Text(i18n.M("wikimod-test-protected", "Main Page", 2))
			}
		})
	}
}
