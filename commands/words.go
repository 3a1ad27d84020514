package commands

import (
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// The words replies use for the wiki's own things: each in the wiki's
// words in the reader's language (its interface messages), with the code a
// command takes beside it, so that "仅允许管理员 (sysop)" says both what the
// level means and what to type.

// levelName names a protection level: the wiki's name for it and its code
// (`protect-level-sysop` → "Allow only administrators (sysop)"). A level
// the wiki has no message for is named by its code alone; "" (no
// protection) by the wiki's protect-default.
func levelName(level string) i18n.Message {
	code := level
	if code == "" {
		code = "all"
	}
	return i18n.M("wikimod-with-code", i18n.Wiki(mw.LevelMessage(level)).Else(i18n.Raw(code)), code)
}

// typeName names a protection type: the wiki's name for it and its code
// (`restriction-edit` → "Edit (edit)").
func typeName(typ string) i18n.Message {
	return i18n.M("wikimod-with-code", i18n.Wiki(mw.RestrictionMessage(typ)).Else(i18n.Raw(typ)), typ)
}

// LevelName is levelName for the commands of other packages (the
// reminders'), so that they name a level as every reply does.
func LevelName(level string) i18n.Message { return levelName(level) }

// TypeName is typeName for the commands of other packages.
func TypeName(typ string) i18n.Message { return typeName(typ) }

// when is a point in time as the reader's platform writes it: a date and
// time each reader sees in their own time zone where the platform can.
func when(t time.Time) i18n.Time { return i18n.Time{T: t, Style: i18n.TimeFull} }

// fromNow is a point in time as how far it is from now ("in 3 days"),
// which the reader's platform keeps current where it can.
func fromNow(t time.Time) i18n.Time { return i18n.Time{T: t, Style: i18n.TimeRelative} }
