// Package i18n says the bot's words in the reader's language.
//
// Code never holds a sentence: it builds a Message (a catalogue key and its
// parameters, or a message the wiki has, or raw text such as a page title)
// and hands it on; the adapter that knows the reader renders it late with a
// Localizer, which knows their language, the wiki's words in it and how the
// platform writes a time.
//
// The catalogue is MediaWiki's i18n JSON, one file per language (en.json,
// zh-hans.json…), with qqq.json documenting every key for translators, so
// the project can be translated the way MediaWiki is. Messages follow the
// rules of MediaWiki's Message::text(): $1…$N parameters,
// {{PLURAL:$1|…}} with CLDR plural rules (golang.org/x/text), explicit
// "N=" forms, {{GENDER:…}} (always the neutral form: the bot does not know
// genders), and MediaWiki's fallback chains between languages. Numeric
// character references such as "&#32;" (translatewiki.net's way to keep a
// leading space) are decoded when a catalogue is loaded.
//
// The pseudo-language "qqx" writes every catalogue message as its key and
// parameters, "(key: p1, p2)", as uselang=qqx does on a wiki: a test that
// renders a reply in qqx and finds English has found a sentence that
// escaped the catalogue.
//
// To add a language, copy en.json to CODE.json (CODE is MediaWiki's code,
// see Known), translate every message and run the package's tests: Check
// reports keys that are missing or unknown, and parameters the English
// message does not have.
package i18n
