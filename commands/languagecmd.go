package commands

import (
	"context"
	"slices"

	"github.com/wikimod/wikimod/i18n"
)

// cmdLanguage is /language: the language wikimod answers a person in.
const cmdLanguage = "language"

// forgetLanguage is the word /language takes to forget a choice.
const forgetLanguage = "default"

func (s *Service) languageCommand() Command {
	return Command{
		Spec: Spec{
			Name:       cmdLanguage,
			Summary:    i18n.M("wikimod-command-language-summary"),
			Usage:      "/language [CODE|default]",
			Help:       i18n.M("wikimod-command-language-help"),
			Positional: "code",
			Params:     []Param{{Name: "code", Description: i18n.M("wikimod-param-language-code")}},
			NoWiki:     true,
		},
		Run: s.runLanguage,
	}
}

// runLanguage shows the person's language and where it comes from, or
// keeps the one they choose (any language MediaWiki knows; the wiki's own
// words follow it even where wikimod ships no catalogue), or forgets it.
func (s *Service) runLanguage(ctx context.Context, req *Request) (Reply, error) {
	if err := checkKeys(req.Spec, req.Args, true); err != nil {
		return Reply{}, err
	}
	code, _ := req.Args.Get("code")
	if code == "" && len(req.Args.Positional) > 0 {
		code = req.Args.Positional[0]
	}
	if len(req.Args.Positional) > 1 {
		return Reply{}, usage("wikimod-language-usage", req.Spec.Usage)
	}
	code = i18n.Normalize(code)
	a := req.Actor
	switch {
	case code == "":
		lang, source := s.LanguageOf(ctx, a, req.Wiki)
		return Reply{Title: i18n.M("wikimod-language-current-title", languageName(lang)),
			Text:   i18n.Lines(languageSource(source), i18n.M("wikimod-language-how")),
			Fields: []Field{{Label: i18n.M("wikimod-language-shipped-label"), Value: shippedLanguages()}}}, nil
	case code == forgetLanguage:
		if err := s.langs.Preferences.SetLanguage(ctx, a.Platform, a.UserID, "", s.now()); err != nil {
			return Reply{}, err
		}
		s.rememberChoice(a, "", s.now())
		lang, source := s.LanguageOf(ctx, a, req.Wiki)
		return Reply{Title: i18n.M("wikimod-language-forgotten-title"),
			Text: i18n.Lines(i18n.M("wikimod-language-now", languageName(lang)), languageSource(source))}, nil
	case !i18n.Known(code) || !ValidLanguageCode(code):
		return Reply{}, &Error{Outcome: OutcomeInvalid, Code: "unknown-language",
			Message: i18n.M("wikimod-language-unknown", truncate(code, 40), shippedLanguages())}
	}
	if err := s.langs.Preferences.SetLanguage(ctx, a.Platform, a.UserID, code, s.now()); err != nil {
		return Reply{}, err
	}
	s.rememberChoice(a, code, s.now())
	// The reply is in the language just chosen: the service reads the
	// choice back when it renders it.
	text := i18n.M("wikimod-language-set-text")
	if !slices.Contains(i18n.Default().Languages(), code) && code != "qqx" {
		text = i18n.M("wikimod-language-set-wiki-only", languageName(code))
	}
	return Reply{Title: i18n.M("wikimod-language-set-title", languageName(code)), Text: text}, nil
}

// languageName names a language in itself, with its code: "Türkçe (tr)".
func languageName(code string) i18n.Message {
	name := i18n.Autonym(code)
	if name == "" {
		name = code
	}
	return i18n.M("wikimod-with-code", i18n.Raw(name), code)
}

// languageSource says where a person's language comes from.
func languageSource(source LanguageSource) i18n.Message {
	switch source {
	case LanguageChosen:
		return i18n.M("wikimod-language-source-chosen")
	case LanguagePlatform:
		return i18n.M("wikimod-language-source-platform")
	case LanguageChannel:
		return i18n.M("wikimod-language-source-channel")
	case LanguageWikiSetting:
		return i18n.M("wikimod-language-source-wiki-config")
	case LanguageWiki:
		return i18n.M("wikimod-language-source-wiki")
	}
	return i18n.M("wikimod-language-source-fallback")
}

// shippedLanguages lists the languages wikimod has a catalogue for.
func shippedLanguages() i18n.Message {
	var names []i18n.Message
	for _, code := range i18n.Default().Languages() {
		names = append(names, languageName(code))
	}
	return i18n.List(names...)
}
