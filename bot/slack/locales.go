package slack

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/wikimod/wikimod/i18n"
)

// localeCache knows the language each Slack user's client is set to, from
// users.info with include_locale (Slack sends no locale with a slash
// command). Each user costs one call per TTL; a failed call counts as an
// answer of no language until localeRetry has passed, so that a Slack
// that is down is not asked again for every command. It holds at most max
// users, forgetting the one least recently asked about first.
type localeCache struct {
	api     usersAPI
	ttl     time.Duration
	max     int
	timeout time.Duration // bounds one users.info call
	now     func() time.Time
	log     interface{ Warn(string, ...any) }

	mu       sync.Mutex
	byUser   map[string]*list.Element // of *localeEntry, in lru
	lru      *list.List               // most recently asked about first
	fetching map[string]*localeFetch  // users.info calls under way, by user
}

// usersAPI is the Web API method the locale cache calls; webAPI has it.
type usersAPI interface {
	GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error)
}

// localeEntry is one user's language (a MediaWiki code, "" for none) and
// when it must be asked for again.
type localeEntry struct {
	user    string
	lang    string
	expires time.Time
}

// localeFetch is a users.info call others may wait for.
type localeFetch struct {
	done chan struct{}
	lang string
}

// Defaults of the locale cache.
const (
	localeTTL     = time.Hour
	maxLocales    = 10000
	localeTimeout = 2 * time.Second
	// localeRetry is how long a failed users.info call stands as the
	// answer.
	localeRetry = time.Minute
)

func newLocaleCache(api usersAPI, ttl time.Duration, now func() time.Time, log interface{ Warn(string, ...any) }) *localeCache {
	return &localeCache{api: api, ttl: ttl, max: maxLocales, timeout: localeTimeout, now: now, log: log,
		byUser: map[string]*list.Element{}, lru: list.New(), fetching: map[string]*localeFetch{}}
}

// cached returns userID's language if it is known and fresh, without
// asking Slack: for the acknowledgement, which never waits for Slack.
func (c *localeCache) cached(userID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.fresh(userID); ok {
		return e.lang
	}
	return ""
}

// of returns userID's language ("" when Slack names none MediaWiki knows,
// or cannot be asked), asking Slack when it is not known or has expired.
// Several commands of one user at once ask once.
func (c *localeCache) of(ctx context.Context, userID string) string {
	if userID == "" {
		return ""
	}
	c.mu.Lock()
	if e, ok := c.fresh(userID); ok {
		c.mu.Unlock()
		return e.lang
	}
	if f, ok := c.fetching[userID]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.lang
		case <-ctx.Done():
			return ""
		}
	}
	f := &localeFetch{done: make(chan struct{})}
	c.fetching[userID] = f
	c.mu.Unlock()

	lang, ttl := c.fetch(ctx, userID)
	c.mu.Lock()
	delete(c.fetching, userID)
	c.put(userID, lang, c.now().Add(ttl))
	c.mu.Unlock()
	f.lang = lang
	close(f.done)
	return lang
}

// fetch asks Slack for userID's locale, and says how long the answer
// stands.
func (c *localeCache) fetch(ctx context.Context, userID string) (string, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u, err := c.api.GetUserInfoContext(ctx, userID, slack.GetUserInfoOptionIncludeLocale(true))
	if err != nil {
		c.log.Warn("slack: cannot read a user's locale (users.info); answering them in their channel's language", "user", userID, "err", scrubURL(err))
		return "", min(localeRetry, c.ttl)
	}
	return i18n.FromSlack(u.Locale), c.ttl
}

// fresh returns userID's entry if it has not expired, marking it used.
// c.mu is held.
func (c *localeCache) fresh(userID string) (*localeEntry, bool) {
	el, ok := c.byUser[userID]
	if !ok {
		return nil, false
	}
	e := el.Value.(*localeEntry)
	if !c.now().Before(e.expires) {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e, true
}

// put records userID's language until expires, forgetting the least
// recently used users past max. c.mu is held.
func (c *localeCache) put(userID, lang string, expires time.Time) {
	if el, ok := c.byUser[userID]; ok {
		e := el.Value.(*localeEntry)
		e.lang, e.expires = lang, expires
		c.lru.MoveToFront(el)
		return
	}
	c.byUser[userID] = c.lru.PushFront(&localeEntry{user: userID, lang: lang, expires: expires})
	for c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.byUser, last.Value.(*localeEntry).user)
	}
}
