package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// PreferenceStore keeps what each chat user chose for themselves. A
// choice belongs to the chat identity (platform and user), not to a wiki:
// the person reads the bot in one language whichever wiki they act on.
// Both backends of Store keep it, so that a choice made through one
// replica holds on every other, and after a restart.
type PreferenceStore interface {
	// Language returns the language code platform's user chose, "" if none.
	Language(ctx context.Context, platform, user string) (string, error)
	// SetLanguage records the choice, made at now (the zero time means the
	// store's clock); lang "" forgets it. It refuses, with an error
	// matching ErrInvalidPreference, what ValidateLanguagePreference
	// refuses, and then stores nothing.
	SetLanguage(ctx context.Context, platform, user, lang string, now time.Time) error
}

// ErrInvalidPreference is what a PreferenceStore returns (wrapped, saying
// what was wrong) for a choice it refuses to keep: the caller's mistake,
// not the database's.
var ErrInvalidPreference = errors.New("storage: invalid preference")

// maxPreferenceKey bounds, in bytes, the platform and user a choice is kept
// under. Discord's and Slack's ids are a couple of dozen bytes at most; the
// bound keeps a caller's bug from filling the database through a key.
const maxPreferenceKey = 255

// Language codes are MediaWiki's: lower-case letters, digits and hyphens,
// such as "tr", "nan", "zh-hans", "be-tarask" or the pseudo-language
// "qqx". MediaWiki's longest are well under the bound, which BCP 47 tags
// reach only with private-use subtags.
const (
	minLanguageCode = 2
	maxLanguageCode = 35
)

// ValidLanguageCode reports whether code is a well-formed language code:
// 2 to 35 lower-case ASCII letters, digits and hyphens, starting with a
// letter, with hyphens only between other characters and never two
// together ("zh-hans", "nan", "be-tarask", "qqx"; not "zh_Hans", "-tr",
// "tr-" or "zh--hans"). It says nothing of whether any catalogue or wiki
// knows the language: that is the language chain's to decide.
func ValidLanguageCode(code string) bool {
	if len(code) < minLanguageCode || len(code) > maxLanguageCode {
		return false
	}
	if code[0] < 'a' || code[0] > 'z' || code[len(code)-1] == '-' || strings.Contains(code, "--") {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// ValidateLanguagePreference refuses a choice that could not be kept the
// same in every backend, or read back for the person who made it: a
// platform or user that is empty, longer than maxPreferenceKey bytes, not
// UTF-8 or holding a NUL (PostgreSQL's text refuses those, SQLite would
// keep them), and a lang that is neither "" (forget the choice) nor a
// well-formed language code (ValidLanguageCode). The error matches
// ErrInvalidPreference; it is the rule every store applies in
// SetLanguage.
func ValidateLanguagePreference(platform, user, lang string) error {
	for _, f := range []struct{ name, value string }{{"platform", platform}, {"user", user}} {
		switch {
		case f.value == "":
			return fmt.Errorf("%w: the %s is empty", ErrInvalidPreference, f.name)
		case len(f.value) > maxPreferenceKey:
			return fmt.Errorf("%w: the %s is %d bytes long, more than %d", ErrInvalidPreference, f.name, len(f.value), maxPreferenceKey)
		case !utf8.ValidString(f.value) || strings.IndexByte(f.value, 0) >= 0:
			return fmt.Errorf("%w: the %s %q is not UTF-8 text without NULs", ErrInvalidPreference, f.name, f.value)
		}
	}
	if lang != "" && !ValidLanguageCode(lang) {
		return fmt.Errorf("%w: %q is not a language code (2 to %d lower-case letters, digits and hyphens, such as zh-hans)",
			ErrInvalidPreference, lang, maxLanguageCode)
	}
	return nil
}
