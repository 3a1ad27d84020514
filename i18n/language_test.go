package i18n_test

import (
	"slices"
	"testing"

	"github.com/wikimod/wikimod/i18n"
)

func TestFallbacks(t *testing.T) {
	for code, want := range map[string][]string{
		// MediaWiki 1.43's chain; 1.39's was cdo, zh-hant, zh, zh-hans.
		"nan":     {"nan-latn-pehoeji", "nan-latn-tailo", "nan-hant", "cdo", "zh-hant", "zh", "zh-hans", "en"},
		"zh-hant": {"zh-tw", "zh-hk", "zh", "zh-hans", "en"},
		"zh-hans": {"zh-cn", "zh", "zh-hant", "en"},
		"pt-br":   {"pt", "en"},
		"fi":      {"en"},
		"tr":      {"en"},
		"xx":      {"en"},
		"en":      nil,
	} {
		if got := i18n.Fallbacks(code); !slices.Equal(got, want) {
			t.Errorf("Fallbacks(%q) = %q, want %q", code, got, want)
		}
	}
	// The result is the caller's to change.
	i18n.Fallbacks("nan")[0] = "changed"
	if i18n.Fallbacks("nan")[0] != "nan-latn-pehoeji" {
		t.Error("Fallbacks shares its table with its callers")
	}
}

func TestLanguageCodes(t *testing.T) {
	for _, code := range []string{"en", "zh-hans", "zh-hant", "tr", "nan", "fi", "qqx", "zh-cn", "es-419", "nb"} {
		if !i18n.Known(code) {
			t.Errorf("Known(%q) = false", code)
		}
	}
	for _, code := range []string{"", "xx", "qqq", "zh_CN", "ZH-HANS", "english"} {
		if i18n.Known(code) {
			t.Errorf("Known(%q) = true", code)
		}
	}
	for code, want := range map[string]string{"tr": "Türkçe", "zh-hans": "中文（简体）", "nan": "閩南語 / Bân-lâm-gú", "gn": "Avañe'ẽ", "qqx": "qqx", "xx": ""} {
		if got := i18n.Autonym(code); got != want {
			t.Errorf("Autonym(%q) = %q, want %q", code, got, want)
		}
	}
	for code, want := range map[string]string{
		"zh_Hans": "zh-hans", " TR ": "tr", "zh-min-nan": "nan", "sr-Latn": "sr-el",
		"zh-Hans-CN": "zh-cn", "de-x-formal": "de-formal", "xx_YY": "xx-yy", "zh-CN": "zh-cn",
	} {
		if got := i18n.Normalize(code); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestPlatformLocales(t *testing.T) {
	discord := map[string]string{
		"id": "id", "da": "da", "de": "de", "en-GB": "en-gb", "en-US": "en", "es-ES": "es", "es-419": "es",
		"fr": "fr", "hr": "hr", "it": "it", "lt": "lt", "hu": "hu", "nl": "nl", "no": "nb", "pl": "pl",
		"pt-BR": "pt-br", "ro": "ro", "fi": "fi", "sv-SE": "sv", "vi": "vi", "tr": "tr", "cs": "cs",
		"el": "el", "bg": "bg", "ru": "ru", "uk": "uk", "hi": "hi", "th": "th", "zh-CN": "zh-hans",
		"ja": "ja", "zh-TW": "zh-hant", "ko": "ko", "": "", "xx": "", "tlh-KL": "",
	}
	for locale, want := range discord {
		if got := i18n.FromDiscord(locale); got != want {
			t.Errorf("FromDiscord(%q) = %q, want %q", locale, got, want)
		}
	}
	slack := map[string]string{
		"en-US": "en", "en-GB": "en-gb", "zh-CN": "zh-hans", "zh-TW": "zh-hant", "ja-JP": "ja", "pt-BR": "pt-br",
		"es-ES": "es", "es-LA": "es", "fr-FR": "fr", "de-DE": "de", "it-IT": "it", "ko-KR": "ko", "ru-RU": "ru", "": "",
	}
	for locale, want := range slack {
		if got := i18n.FromSlack(locale); got != want {
			t.Errorf("FromSlack(%q) = %q, want %q", locale, got, want)
		}
	}
	posix := map[string]string{
		"tr_TR.UTF-8": "tr", "zh_CN.UTF-8": "zh-hans", "zh_TW": "zh-hant", "zh_HK.UTF-8": "zh-hk", "fi_FI": "fi",
		"en_US.UTF-8": "en", "pt_BR.utf8": "pt-br", "nb_NO.UTF-8": "nb", "no_NO": "nb", "sr_RS@latin": "sr-el",
		"sr_RS": "sr", "de_DE@euro": "de", "C": "", "POSIX": "", "C.UTF-8": "", "": "", "tr:en": "tr", "xx_XX:fi": "fi",
	}
	for env, want := range posix {
		if got := i18n.FromPOSIX(env); got != want {
			t.Errorf("FromPOSIX(%q) = %q, want %q", env, got, want)
		}
	}
	for code, want := range map[string][]string{
		"zh-hans": {"zh-CN"}, "zh-hant": {"zh-TW"}, "tr": {"tr"}, "en": nil, "es": {"es-ES", "es-419"},
		"nb": {"no"}, "pt-br": {"pt-BR"}, "nan": nil,
	} {
		if got := i18n.DiscordLocales(code); !slices.Equal(got, want) {
			t.Errorf("DiscordLocales(%q) = %q, want %q", code, got, want)
		}
	}
}
