package commands

import (
	"context"
	"time"

	"github.com/wikimod/wikimod/i18n"
)

// ActorLocalizer renders what a platform says to actor itself, outside a
// Reply (a form's title and fields, a button, an acknowledgement, the
// adapter's own refusals), about the named wiki ("" for the one the
// actor's channel defaults to): in the actor's language (LanguageOf), with
// the wiki's words in it, as the service renders the actor's replies. A
// wiki that does not answer within localizeWithin leaves the catalogue's
// words.
func (s *Service) ActorLocalizer(ctx context.Context, actor Actor, wiki string) i18n.Localizer {
	ctx, cancel := context.WithTimeout(ctx, localizeWithin)
	defer cancel()
	w := s.actorWiki(actor, wiki)
	lang, _ := s.LanguageOf(ctx, actor, w)
	return s.Localizer(ctx, w, lang)
}

// TimeZone returns the time zone of the named wiki ("" for the one the
// actor's channel defaults to), as the wiki's siteinfo names it, for a
// platform that writes times itself rather than in each reader's own zone
// (the console). It is UTC when no wiki applies or the wiki cannot be
// asked within localizeWithin.
func (s *Service) TimeZone(ctx context.Context, actor Actor, wiki string) *time.Location {
	w := s.actorWiki(actor, wiki)
	if w == nil {
		return time.UTC
	}
	ctx, cancel := context.WithTimeout(ctx, localizeWithin)
	defer cancel()
	site, err := w.Client.SiteInfo(ctx)
	if err != nil {
		return time.UTC
	}
	return site.Location()
}

// actorWiki is the named wiki, or the one actor's channel defaults to when
// the name is empty or unknown; nil when neither applies.
func (s *Service) actorWiki(actor Actor, wiki string) *Wiki {
	if w := s.wikis[wiki]; w != nil {
		return w
	}
	return s.routedWiki(actor)
}

// secretLabels name the secret parameters platforms ask for in a form, by
// the parameter's name: the label of the form's one field.
var secretLabels = map[string]string{
	"password": "wikimod-form-label-password",
	"code":     "wikimod-form-label-code",
}

// SecretLabel is the label of the form field that asks for the secret
// parameter named param ("Password"), in words, where the parameter's
// name is a code typed in commands. A parameter without words of its own
// is labelled with its name.
func SecretLabel(param string) i18n.Message {
	if key, ok := secretLabels[param]; ok {
		return i18n.M(key)
	}
	return i18n.Raw(param)
}
