package i18n

import (
	"strings"
)

// enOnly is the fallback chain of a language MediaWiki gives none.
var enOnly = []string{"en"}

// fallbackChain is Fallbacks without the copy, for the hot path.
func fallbackChain(code string) []string {
	if code == "en" {
		return nil
	}
	if chain, ok := fallbackChains[code]; ok {
		return chain
	}
	return enOnly
}

// Fallbacks returns MediaWiki's fallback chain for a language code: the
// languages whose messages stand in for code's missing ones, nearest
// first, ending with "en" (as LanguageFallback::getAll gives it, read from
// MediaWiki's languages/messages/Messages*.php). "nan" gives
// nan-latn-pehoeji, nan-latn-tailo, nan-hant, cdo, zh-hant, zh, zh-hans,
// en; "en" gives none; a code MediaWiki gives no chain gives just "en".
func Fallbacks(code string) []string {
	return append([]string(nil), fallbackChain(code)...)
}

// Known reports whether MediaWiki knows code as a language (it is in
// MediaWiki's Names.php), or code is the pseudo-language qqx. code must be
// normalized (see Normalize).
func Known(code string) bool {
	_, ok := autonyms[code]
	return ok || code == "qqx"
}

// Autonym returns the language's name in that language ("Türkçe",
// "中文（简体）"), as MediaWiki names it, for lists of languages a reader
// picks from; "" if code is not Known. qqx is named "qqx".
func Autonym(code string) string {
	if code == "qqx" {
		return "qqx"
	}
	return autonyms[code]
}

// internalCodes maps the BCP 47 forms of MediaWiki's non-standard codes
// back to them, as LanguageCode::bcp47ToInternal does.
var internalCodes = func() map[string]string {
	m := make(map[string]string, len(bcp47Codes))
	for code, tag := range bcp47Codes {
		m[strings.ToLower(tag)] = code
	}
	return m
}()

// Normalize returns the MediaWiki code for a language code written another
// way: lower case, "_" as "-", a BCP 47 tag MediaWiki writes otherwise
// ("sr-Latn" is "sr-el", "zh-Hans-CN" is "zh-cn") and a deprecated code
// replaced ("zh-min-nan" is "nan"), as MediaWiki reads ?uselang=. It does
// not check the result: see Known.
func Normalize(code string) string {
	code = strings.ToLower(strings.TrimSpace(strings.ReplaceAll(code, "_", "-")))
	if c, ok := internalCodes[code]; ok {
		code = c
	}
	if c, ok := deprecatedCodes[code]; ok {
		code = c
	}
	return code
}

// platformCodes maps the codes platforms use (normalized) whose own
// MediaWiki code would serve their readers worse, to the one that serves
// them: MediaWiki's zh-cn, zh-tw, zh-sg and zh-my are variants for
// converting page text, whose interface words are those of zh-hans and
// zh-hant; MediaWiki's "no" has no words of its own and no fallback (nb
// has them); es-419 has neither either, and Slack's "es-LA" means Latin
// American Spanish, not Spanish in Laos.
var platformCodes = map[string]string{
	"zh-cn":  "zh-hans",
	"zh-sg":  "zh-hans",
	"zh-my":  "zh-hans",
	"zh-tw":  "zh-hant",
	"no":     "nb",
	"es-419": "es",
	"es-la":  "es",
}

// fromLocale returns the MediaWiki language for a platform's BCP 47-ish
// locale, dropping trailing subtags ("sv-SE", "ja-JP") until MediaWiki
// knows it; "" if it never does.
func fromLocale(locale string) string {
	code := Normalize(locale)
	for code != "" {
		if c, ok := platformCodes[code]; ok {
			return c
		}
		if Known(code) {
			return code
		}
		i := strings.LastIndexByte(code, '-')
		if i < 0 {
			break
		}
		code = Normalize(code[:i])
	}
	return ""
}

// FromDiscord returns the MediaWiki language of a Discord locale
// ("zh-CN" is zh-hans, "pt-BR" pt-br, "en-US" en, "no" nb), or "" if it
// names no language MediaWiki knows.
func FromDiscord(locale string) string { return fromLocale(locale) }

// FromSlack returns the MediaWiki language of a Slack user's locale
// ("zh-TW" is zh-hant, "ja-JP" ja, "es-LA" es), or "" if it names no
// language MediaWiki knows.
func FromSlack(locale string) string { return fromLocale(locale) }

// FromPOSIX returns the MediaWiki language of a POSIX locale as LANG,
// LC_ALL or LC_MESSAGES hold it ("tr_TR.UTF-8" is tr, "zh_CN.UTF-8"
// zh-hans, "sr_RS@latin" sr-el), or of the first language of a LANGUAGE
// list ("tr:en") MediaWiki knows; "" for "C", "POSIX", "" and anything
// naming no language MediaWiki knows.
func FromPOSIX(env string) string {
	for _, v := range strings.Split(env, ":") {
		v, modifier, _ := strings.Cut(v, "@")
		v, _, _ = strings.Cut(v, ".")
		if v == "" || v == "C" || v == "POSIX" {
			continue
		}
		if script := posixScripts[modifier]; script != "" {
			base, _, _ := strings.Cut(v, "_")
			if code := fromLocale(base + "-" + script); code != "" && code != Normalize(base) {
				return code
			}
		}
		if code := fromLocale(v); code != "" {
			return code
		}
	}
	return ""
}

// posixScripts are the POSIX locale modifiers that name a script.
var posixScripts = map[string]string{"latin": "latn", "cyrillic": "cyrl"}

// discordLocales are the locales Discord offers
// (https://discord.com/developers/docs/reference#locales).
var discordLocales = []string{
	"id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl", "no",
	"pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
	"zh-CN", "ja", "zh-TW", "ko",
}

// DiscordLocales returns the Discord locales whose readers read code, for
// the name_localizations and description_localizations of registered
// commands: zh-hans gives zh-CN, es gives es-ES and es-419, tr gives tr.
// en gives none, since a command's own name and description are English
// and Discord shows them to everyone else.
func DiscordLocales(code string) []string {
	var out []string
	for _, loc := range discordLocales {
		if loc != "en-US" && FromDiscord(loc) == code {
			out = append(out, loc)
		}
	}
	return out
}
