package commands

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// DefaultWiki names the wiki of a configuration with one [wiki] section.
const DefaultWiki = "default"

// Wiki is one wiki the service acts on: its sessions and its own settings.
// Every command runs against one Wiki, chosen for it (see Routes); nothing
// in the service is about "the" wiki.
type Wiki struct {
	// Name is how people and the config name the wiki ("en", "de", or
	// DefaultWiki). It is also its key in the database.
	Name string
	// Client is the bot-password session. Required.
	Client *mw.Client
	// Reset runs /resetpassword: no bot-password grant carries the right it
	// needs, so it is normally an anonymous session. Nil means Client.
	Reset *mw.Client
	// Rights overrides, for this wiki, the right a command needs (over
	// Config.Rights).
	Rights map[string]string
	// Timeout bounds one command on this wiki; zero means Config.Timeout.
	Timeout time.Duration
	// MaxConcurrent bounds the commands running against this wiki at once
	// (one of them may write). Zero means 4.
	MaxConcurrent int

	accounts *accountCache // what linked accounts hold here
	// msgKeys are the wiki's messages a Localizer preloads, for the site
	// information they were worked out from (wikiMessageKeys).
	msgKeys atomic.Pointer[siteKeys]
	// words are the wiki's messages by language (wikiWords).
	words sync.Map
}

// Routes pick the wiki of a command that names none: the channel's
// default, then the server's or workspace's, then the only wiki if there is
// one. Keys are the platform's ids.
type Routes struct {
	// Channels maps "platform:channel id" to a wiki name.
	Channels map[string]string
	// Spaces maps "platform:space id" (a Discord server, a Slack
	// workspace) to a wiki name.
	Spaces map[string]string
	// Platforms maps a platform's name to its default wiki, for a
	// platform without channels or spaces (the console's -wiki NAME).
	Platforms map[string]string
}

// RouteKey is the key of a channel or a space in Routes.
func RouteKey(platform, id string) string { return platform + ":" + id }

// all lists every route, by a description of its key, for checking.
func (r Routes) all() map[string]string {
	out := map[string]string{}
	for k, v := range r.Channels {
		out["channel "+k] = v
	}
	for k, v := range r.Spaces {
		out["server/workspace "+k] = v
	}
	for k, v := range r.Platforms {
		out["platform "+k] = v
	}
	return out
}

// chooseWikiFor is chooseWiki for a command of spec: one that needs no
// wiki (Spec.NoWiki) and names none runs without one (nil, nil) where
// none can be chosen; a wiki it names must still be one.
func (s *Service) chooseWikiFor(ctx context.Context, actor Actor, spec Spec, args *Args) (*Wiki, error) {
	_, named := args.Get("wiki")
	w, err := s.chooseWiki(ctx, actor, args)
	if err != nil && spec.NoWiki && !named {
		return nil, nil
	}
	return w, err
}

// chooseWiki picks the wiki a command runs against: the one its wiki=
// argument names (which it takes out of args), else the channel's default,
// the server's or workspace's, the console's, or the only wiki. When none
// applies, the error lists the wikis the actor may act on.
func (s *Service) chooseWiki(ctx context.Context, actor Actor, args *Args) (*Wiki, error) {
	if name, given := args.Get("wiki"); given {
		*args = args.Without("wiki")
		name = strings.TrimSpace(name)
		if w, ok := s.wikis[name]; ok {
			return w, nil
		}
		if name == "" {
			return nil, usage("wikimod-wiki-empty", s.wikiList(s.wikiNames))
		}
		return nil, &Error{Outcome: OutcomeInvalid, Code: "unknown-wiki",
			Message: i18n.M("wikimod-wiki-unknown", truncate(name, 60), s.wikiList(s.wikiNames))}
	}
	if w := s.routedWiki(actor); w != nil {
		return w, nil
	}
	var mine []string
	for _, name := range s.wikiNames {
		if st, err := s.standingOf(ctx, s.wikis[name], actor); err == nil && st.groups != nil {
			mine = append(mine, name)
		}
	}
	yours := i18n.M("wikimod-wiki-yours", s.wikiList(mine))
	if len(mine) == 0 {
		yours = i18n.M("wikimod-wiki-none-yours", s.wikiList(s.wikiNames))
	}
	return nil, &Error{Outcome: OutcomeInvalid, Code: "no-wiki", Message: i18n.Sentences(i18n.M("wikimod-wiki-no-default"), yours)}
}

// routedWiki is the wiki a command that names none goes to by the routes
// alone, asking nothing: its channel's, its server's or workspace's, its
// platform's, or the only wiki; nil when none applies. (New checks that
// every route names a wiki.)
func (s *Service) routedWiki(actor Actor) *Wiki {
	for _, name := range []string{
		s.routes.Channels[RouteKey(actor.Platform, actor.Channel)],
		s.routes.Spaces[RouteKey(actor.Platform, actor.Space)],
		s.routes.Platforms[actor.Platform],
	} {
		if w, ok := s.wikis[name]; ok {
			return w
		}
	}
	if len(s.wikiNames) == 1 {
		return s.wikis[s.wikiNames[0]]
	}
	return nil
}

// wikiList lists wiki names for a reply, at most 20 of them and how many
// more there are.
func (s *Service) wikiList(names []string) i18n.Message {
	const most = 20
	items := make([]i18n.Message, 0, min(len(names), most)+1)
	for _, n := range names[:min(len(names), most)] {
		items = append(items, i18n.Raw("`"+n+"`"))
	}
	if len(names) > most {
		items = append(items, i18n.M("wikimod-list-more", len(names)-most))
	}
	return i18n.List(items...)
}
