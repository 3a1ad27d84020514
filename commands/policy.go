package commands

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// AccessRule maps chat identities to wiki groups. An actor matching any of a
// rule's identities holds the rights of all its WikiGroups.
type AccessRule struct {
	// Wikis limits the rule to these wikis (Wiki.Name); empty means every
	// wiki.
	Wikis      []string
	WikiGroups []string
	Identities []Identities
}

// Identities are the chat identities of one platform a rule names: users by
// id, and the platform's groups (Discord roles, Slack user groups: an
// Actor's Roles) whose members they are.
type Identities struct {
	Platform string
	Users    []string
	Groups   []string
}

// Users names users of a platform, for a rule's Identities.
func Users(platform string, ids ...string) Identities {
	return Identities{Platform: platform, Users: ids}
}

// Groups names groups of a platform, for a rule's Identities.
func Groups(platform string, ids ...string) Identities {
	return Identities{Platform: platform, Groups: ids}
}

// ImplicitGroups are the groups every registered wiki account is in. A mapped
// actor stands for such an account, so it holds their rights too; an
// unmapped actor holds no rights at all.
var ImplicitGroups = []string{"*", "user"}

// Policy decides what an actor may do, from the access rules and the rights
// the wiki gives each group. Deny by default: an actor no rule names, or a
// right no group of theirs grants, is refused.
type Policy struct {
	rules []AccessRule
}

// NewPolicy checks the rules and returns a policy.
func NewPolicy(rules []AccessRule) (*Policy, error) {
	for i, r := range rules {
		if len(r.WikiGroups) == 0 {
			return nil, fmt.Errorf("access rule %d: wiki_groups is empty", i+1)
		}
		named := 0
		for _, id := range r.Identities {
			named += len(id.Users) + len(id.Groups)
		}
		if named == 0 {
			return nil, fmt.Errorf("access rule %d (wiki groups %s): names no chat identity", i+1, strings.Join(r.WikiGroups, ", "))
		}
	}
	return &Policy{rules: rules}, nil
}

// Groups returns the groups an actor is mapped to on the named wiki,
// including the implicit ones, or nil when the actor is not mapped there.
func (p *Policy) Groups(a Actor, wiki string) []string {
	var groups []string
	for _, r := range p.rules {
		if (len(r.Wikis) == 0 || slices.Contains(r.Wikis, wiki)) && r.matches(a) {
			groups = append(groups, r.WikiGroups...)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	groups = append(groups, ImplicitGroups...)
	sort.Strings(groups)
	return slices.Compact(groups)
}

func (r AccessRule) matches(a Actor) bool {
	if a.UserID == "" {
		return false
	}
	for _, id := range r.Identities {
		if id.Platform == a.Platform && (slices.Contains(id.Users, a.UserID) || intersects(id.Groups, a.Roles)) {
			return true
		}
	}
	return false
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if x != "" && slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// Check returns nil if the actor, by the access rules alone, holds every
// right in need on the named wiki, and otherwise a denial that names what
// is missing.
func (p *Policy) Check(a Actor, wiki string, groupRights map[string][]string, need ...string) error {
	return standing{groups: p.Groups(a, wiki)}.check(a, groupRights, need...)
}

// groupList names wiki groups by their codes, as a list in the reader's
// language, or says there are none besides the implicit ones.
func groupList(groups []string) i18n.Message {
	if len(groups) == 0 {
		return i18n.M("wikimod-groups-none")
	}
	return i18n.List(rawAll(groups)...)
}

// rawAll wraps texts that are not language (codes, names) as messages.
func rawAll(texts []string) []i18n.Message {
	out := make([]i18n.Message, len(texts))
	for i, t := range texts {
		out[i] = i18n.Raw(t)
	}
	return out
}

// LevelRight returns the right needed to set a protection level. MediaWiki
// names levels after rights, except the two historical aliases.
func LevelRight(level string) string {
	switch level {
	case mw.LevelSysop:
		return mw.RightEditProtected
	case mw.LevelAutoconfirmed:
		return mw.RightEditSemiProtected
	}
	return level
}
