package discord_test

import (
	"context"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// en renders m in English, as a person with no other language would read
// it, without the wiki's own words.
func english(m i18n.Message) string { return i18n.Localizer{Lang: "en"}.Text(m) }

func (stubService) ChannelLocalizer(context.Context, string, string, string) i18n.Localizer {
	return i18n.Localizer{Lang: "en"}
}

func (noService) ChannelLocalizer(context.Context, string, string, string) i18n.Localizer {
	return i18n.Localizer{Lang: "en"}
}

func (stubService) ActorLocalizer(context.Context, commands.Actor, string) i18n.Localizer {
	return i18n.Localizer{Lang: "en"}
}

func (noService) ActorLocalizer(context.Context, commands.Actor, string) i18n.Localizer {
	return i18n.Localizer{Lang: "en"}
}
