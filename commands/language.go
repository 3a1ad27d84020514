package commands

import (
	"context"
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// LanguageConfig names the languages operators set for channels and wikis.
// A person's own choice (/language) and their platform's locale come
// first; these come next; the wiki's content language last.
type LanguageConfig struct {
	// Channels maps RouteKey(platform, channel id) to a language code.
	Channels map[string]string
	// Wikis maps a wiki's name to the language its channels speak.
	Wikis map[string]string
	// Preferences keeps what each person chose with /language. Nil turns
	// /language off.
	Preferences PreferenceStore
}

// LanguageSource says where a reader's language came from, for /language
// and /whoami.
type LanguageSource string

// The sources of a language, in the order they are asked.
const (
	LanguageChosen      LanguageSource = "chosen"      // the person's /language
	LanguagePlatform    LanguageSource = "platform"    // their Discord, Slack or terminal locale
	LanguageChannel     LanguageSource = "channel"     // the channel's configured language
	LanguageWikiSetting LanguageSource = "wiki-config" // the wiki's configured language
	LanguageWiki        LanguageSource = "wiki"        // the wiki's content language
	LanguageFallback    LanguageSource = "fallback"    // none of these could be read
)

// LanguageOf returns the language to answer actor in about wiki (nil when
// no wiki applies), and where it came from.
func (s *Service) LanguageOf(ctx context.Context, actor Actor, wiki *Wiki) (string, LanguageSource) {
	if s.langs.Preferences != nil && actor.UserID != "" {
		lang, err := s.chosenLanguage(ctx, actor)
		if err != nil {
			s.log.Warn("reading a language preference", "actor", actor.String(), "err", err)
		} else if lang != "" {
			return lang, LanguageChosen
		}
	}
	if actor.Locale != "" {
		return actor.Locale, LanguagePlatform
	}
	return s.ChannelLanguage(ctx, actor.Platform, actor.Channel, wiki)
}

// ChannelLanguage returns the language of messages to a channel about
// wiki (nil when none applies): the channel's configured language, the
// wiki's, then the wiki's content language.
func (s *Service) ChannelLanguage(ctx context.Context, platform, channel string, wiki *Wiki) (string, LanguageSource) {
	if lang := s.langs.Channels[RouteKey(platform, channel)]; lang != "" {
		return lang, LanguageChannel
	}
	if wiki == nil {
		wiki = s.routedWiki(Actor{Platform: platform, Channel: channel})
	}
	if wiki == nil {
		return "en", LanguageFallback
	}
	if lang := s.langs.Wikis[wiki.Name]; lang != "" {
		return lang, LanguageWikiSetting
	}
	if lang := s.ContentLanguage(ctx, wiki); lang != "" {
		return lang, LanguageWiki
	}
	return "en", LanguageFallback
}

// ContentLanguage returns the wiki's content language, the language of
// what wikimod writes to the wiki (the signature in a log reason), or ""
// when the wiki cannot be asked.
func (s *Service) ContentLanguage(ctx context.Context, wiki *Wiki) string {
	site, err := wiki.Client.SiteInfo(ctx)
	if err != nil {
		return ""
	}
	return site.Lang
}

// Localizer returns what renders messages in lang for a reader of wiki:
// the catalogue, and the wiki's own words in lang where the wiki has them
// (read once per wiki and language, then cached by the wiki's client). A
// wiki that cannot be asked leaves the catalogue's words.
func (s *Service) Localizer(ctx context.Context, wiki *Wiki, lang string) i18n.Localizer {
	l := i18n.Localizer{Lang: lang, Now: s.now}
	if wiki == nil {
		return l
	}
	msgs, err := s.wikiWords(ctx, wiki, lang)
	if err != nil {
		s.log.Warn("reading the wiki's messages", "wiki", wiki.Name, "lang", lang, "err", err)
		return l
	}
	l.Wiki = func(key string) (string, bool) {
		v, ok := msgs[key]
		return v, ok
	}
	return l
}

// wikiMessages are the wiki's own messages wikimod shows, beside those
// named by the wiki's protection types and levels (restriction-TYPE,
// protect-level-LEVEL).
var wikiMessages = []string{
	mw.MsgProtectExpiryOptions, mw.MsgProtectDropdown, mw.MsgProtectCascade, mw.MsgProtectExpiryIndefinite, mw.MsgProtectDefault,
}

// wikiMessageKeys lists the wiki messages a localizer preloads for a wiki:
// wikiMessages and the names of the wiki's protection types and levels.
// They are worked out once for each site information the wiki's client
// reads (so again after the wiki's settings are read anew).
func wikiMessageKeys(ctx context.Context, w *Wiki) []string {
	site, err := w.Client.SiteInfo(ctx)
	if err != nil {
		return wikiMessages
	}
	if k := w.msgKeys.Load(); k != nil && k.site == site {
		return k.keys
	}
	keys := append([]string(nil), wikiMessages...)
	for _, t := range site.Restrictions.Types {
		keys = append(keys, mw.RestrictionMessage(t))
	}
	for _, l := range site.Restrictions.Levels {
		if l != "" {
			keys = append(keys, mw.LevelMessage(l))
		}
	}
	w.msgKeys.Store(&siteKeys{site: site, keys: keys})
	return keys
}

// siteKeys are the wiki messages to preload for one site information.
type siteKeys struct {
	site *mw.SiteInfo
	keys []string
}

// localizeWithin bounds the reading of a language and the wiki's words for
// one reply: a wiki that does not answer leaves the catalogue's words
// rather than holding the reply back.
const localizeWithin = 2 * time.Second

// localized sets r's Localizer for actor, unless it is set: their
// language about r's wiki (the one the actor's channel defaults to when r
// names none), with the wiki's words.
func (s *Service) localized(ctx context.Context, actor Actor, r Reply) Reply {
	if r.Localizer.Lang != "" {
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, localizeWithin)
	defer cancel()
	w := s.wikis[r.Wiki]
	if w == nil {
		w = s.routedWiki(actor)
	}
	lang, _ := s.LanguageOf(ctx, actor, w)
	r.Localizer = s.Localizer(ctx, w, lang)
	return r
}

// ChannelLocalizer renders messages to a channel of platform about the
// named wiki ("" for the channel's default): in the channel's language
// (ChannelLanguage), with the wiki's words.
func (s *Service) ChannelLocalizer(ctx context.Context, platform, channel, wiki string) i18n.Localizer {
	ctx, cancel := context.WithTimeout(ctx, localizeWithin)
	defer cancel()
	w := s.wikis[wiki]
	if w == nil {
		w = s.routedWiki(Actor{Platform: platform, Channel: channel})
	}
	lang, _ := s.ChannelLanguage(ctx, platform, channel, w)
	return s.Localizer(ctx, w, lang)
}

// chosenTTL bounds how long a person's /language choice (or its absence)
// is trusted from memory: every command reads it, often more than once, and
// a choice made through another replica reaches this one within it. A
// choice made through this one is known here at once.
const chosenTTL = 30 * time.Second

// chosenMost bounds the choices kept in memory; past it they are all
// forgotten and read again.
const chosenMost = 10000

// chosenKey is a chat user, as choices are kept.
type chosenKey struct{ platform, user string }

// chosen is a choice read from the store (lang "" for none), and when.
type chosen struct {
	lang string
	read time.Time
}

// chosenLanguage returns the language actor chose with /language ("" for
// none), from memory when it was read within chosenTTL.
func (s *Service) chosenLanguage(ctx context.Context, actor Actor) (string, error) {
	k := chosenKey{actor.Platform, actor.UserID}
	now := s.now()
	s.chosenMu.Lock()
	c, ok := s.chosen[k]
	s.chosenMu.Unlock()
	if ok && now.Sub(c.read) < chosenTTL && !now.Before(c.read) {
		return c.lang, nil
	}
	lang, err := s.langs.Preferences.Language(ctx, actor.Platform, actor.UserID)
	if err != nil {
		return "", err
	}
	s.rememberChoice(actor, lang, now)
	return lang, nil
}

// rememberChoice keeps actor's choice in memory, as read or just made.
func (s *Service) rememberChoice(actor Actor, lang string, at time.Time) {
	s.chosenMu.Lock()
	defer s.chosenMu.Unlock()
	if s.chosen == nil || len(s.chosen) >= chosenMost {
		s.chosen = map[chosenKey]chosen{}
	}
	s.chosen[chosenKey{actor.Platform, actor.UserID}] = chosen{lang: lang, read: at}
}

// wordsTTL bounds how long a wiki's words in one language are reused as
// read, before they are asked of the client again (whose own cache then
// answers, until it too expires).
const wordsTTL = time.Hour

// words are a wiki's messages in one language, as read for the keys of
// one site information.
type words struct {
	keys *siteKeys
	msgs map[string]string
	read time.Time
}

// wikiWords returns the wiki's messages a Localizer preloads, in lang: the
// same map for every reply within wordsTTL, so that a warm reply reads a
// map rather than making one.
func (s *Service) wikiWords(ctx context.Context, w *Wiki, lang string) (map[string]string, error) {
	keys := wikiMessageKeys(ctx, w)
	k := w.msgKeys.Load()
	now := s.now()
	if v, ok := w.words.Load(lang); ok {
		if ws := v.(*words); ws.keys == k && k != nil && now.Sub(ws.read) < wordsTTL && !now.Before(ws.read) {
			return ws.msgs, nil
		}
	}
	msgs, err := w.Client.Messages(ctx, lang, keys...)
	if err != nil {
		return nil, err
	}
	if k != nil {
		w.words.Store(lang, &words{keys: k, msgs: msgs, read: now})
	}
	return msgs, nil
}
