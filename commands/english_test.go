package commands_test

import "github.com/wikimod/wikimod/i18n"

// en renders m in English, as a person with no other language would read
// it, without the wiki's own words.
func english(m i18n.Message) string { return i18n.Localizer{Lang: "en"}.Text(m) }
