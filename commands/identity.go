package commands

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// IdentityConfig configures linked wiki accounts.
type IdentityConfig struct {
	// Links keeps who is linked to which wiki account. Nil turns linking
	// off: rights come from the access rules alone.
	Links LinkStore
	// RequireLink refuses every command that needs a right to a chat user
	// who has not linked a wiki account, whatever the access rules say.
	RequireLink bool
	// RightsTTL is how long a linked account's groups are trusted before
	// the wiki is asked again. Zero means one minute.
	RightsTTL time.Duration
}

// standing is what an actor holds on the wiki through wikimod, and why.
type standing struct {
	// linked is set for an actor linked to a wiki account: account is
	// then what the wiki says of it, and its groups are the actor's.
	linked  bool
	account mw.UserInfo
	// unlinked is set for an actor who must link before doing anything.
	unlinked bool
	// groups are the wiki groups the actor holds, implicit ones included;
	// nil when they hold none (unmapped, unlinked, blocked, or gone).
	groups []string
}

// wikiUser names the linked wiki account, or "".
func (st standing) wikiUser() string {
	if !st.linked {
		return ""
	}
	return st.account.Name
}

// standingOf works out what the actor holds on w. A linked actor holds what
// their wiki account holds, read from the wiki at most RightsTTL ago; an
// unlinked one holds what the access rules map them to, unless links are
// required.
func (s *Service) standingOf(ctx context.Context, w *Wiki, actor Actor) (standing, error) {
	if s.links != nil {
		l, ok, err := s.links.Link(ctx, w.Name, actor.Platform, actor.UserID)
		if err != nil {
			return standing{}, fmt.Errorf("reading the chat user's link: %w", err)
		}
		if ok {
			u, err := w.accounts.get(ctx, l.WikiUser, false)
			if err != nil {
				return standing{}, err
			}
			return linkedStanding(u), nil
		}
		if s.requireLink {
			return standing{unlinked: true}, nil
		}
	}
	return standing{groups: s.policy.Groups(actor, w.Name)}, nil
}

func linkedStanding(u mw.UserInfo) standing {
	st := standing{linked: true, account: u}
	if !u.Missing && !u.Invalid && u.Block == nil {
		st.groups = u.Groups
	}
	return st
}

// check returns nil if the standing holds every right in need, and
// otherwise a denial that says why and what to do.
func (st standing) check(actor Actor, groupRights map[string][]string, need ...string) error {
	if len(need) == 0 {
		return nil
	}
	switch {
	case st.unlinked:
		return &Error{Outcome: OutcomeDenied, Code: "not-linked", Message: i18n.M("wikimod-identity-not-linked")}
	case st.linked && (st.account.Missing || st.account.Invalid):
		return &Error{Outcome: OutcomeDenied, Code: "linked-account-missing", Message: i18n.M("wikimod-identity-account-gone", st.account.Name)}
	case st.linked && st.account.Block != nil:
		return &Error{Outcome: OutcomeDenied, Code: "blocked", Message: i18n.Sentences(
			i18n.M("wikimod-identity-blocked", st.account.Name), describeBlock(st.account.Block))}
	case st.groups == nil:
		return &Error{Outcome: OutcomeDenied, Code: "unmapped", Message: i18n.M("wikimod-identity-unmapped", actor.UserID)}
	}
	var missing []string
	for _, r := range need {
		if !st.holds(r, groupRights) && !slices.Contains(missing, r) {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rights := make([]i18n.Message, len(missing))
	for i, r := range missing {
		rights[i] = i18n.Raw("`" + r + "`")
	}
	groups := groupList(visibleGroups(st.groups))
	msg := i18n.M("wikimod-identity-missing-right", len(missing), i18n.List(rights...), groups)
	if st.linked {
		msg = i18n.M("wikimod-identity-missing-right-linked", len(missing), i18n.List(rights...), groups, st.account.Name)
	}
	return &Error{Outcome: OutcomeDenied, Code: "missing-right:" + strings.Join(missing, ","), Message: msg}
}

// holds reports whether one of the standing's groups grants right.
func (st standing) holds(right string, groupRights map[string][]string) bool {
	for _, g := range st.groups {
		if slices.Contains(groupRights[g], right) {
			return true
		}
	}
	return false
}

// rights lists, sorted, every right the standing's groups grant.
func (st standing) rights(groupRights map[string][]string) []string {
	var out []string
	for _, g := range st.groups {
		out = append(out, groupRights[g]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// describeBlock says what the wiki says of a block, in sentences: whether
// it is partial, who set it, until when, and why.
func describeBlock(b *mw.Block) i18n.Message {
	var parts []i18n.Message
	if b.Partial {
		parts = append(parts, i18n.M("wikimod-block-partial"))
	}
	if b.By != "" {
		parts = append(parts, i18n.M("wikimod-block-by", b.By))
	}
	if b.Expires.IsZero() {
		parts = append(parts, i18n.M("wikimod-block-no-end"))
	} else {
		parts = append(parts, i18n.M("wikimod-block-until", when(b.Expires)))
	}
	if r := strings.TrimSpace(b.Reason); r != "" {
		parts = append(parts, i18n.M("wikimod-block-reason", truncate(r, 200)))
	}
	return i18n.Sentences(parts...)
}

// accountCache keeps what the wiki said of linked accounts, each for at
// most ttl, so that a warm command asks the wiki nothing.
type accountCache struct {
	wiki *mw.Client
	ttl  time.Duration
	now  func() time.Time

	mu sync.Mutex
	m  map[string]cachedAccount
}

type cachedAccount struct {
	info mw.UserInfo
	read time.Time
}

// maxCachedAccounts bounds the cache; past it, stale entries are dropped.
const maxCachedAccounts = 4096

// get returns what the wiki says of the account name, from the cache when
// it was read less than ttl ago, unless fresh is set.
func (c *accountCache) get(ctx context.Context, name string, fresh bool) (mw.UserInfo, error) {
	now := c.now()
	if !fresh {
		c.mu.Lock()
		e, ok := c.m[name]
		c.mu.Unlock()
		if ok && now.Sub(e.read) < c.ttl {
			return e.info, nil
		}
	}
	u, err := c.wiki.User(ctx, name)
	if err != nil {
		return mw.UserInfo{}, err
	}
	c.put(cmp.Or(u.Name, name), u, now)
	return u, nil
}

func (c *accountCache) put(name string, u mw.UserInfo, read time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedAccounts {
		for k, e := range c.m {
			if read.Sub(e.read) >= c.ttl {
				delete(c.m, k)
			}
		}
	}
	c.m[name] = cachedAccount{info: u, read: read}
}
