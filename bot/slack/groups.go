package slack

import (
	"context"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// groupCache knows which user groups each user is in, from usergroups.list.
type groupCache struct {
	api     webAPI
	ttl     time.Duration
	now     func() time.Time
	log     interface{ Warn(string, ...any) }
	enabled bool

	mu      sync.Mutex // held while fetching, so a burst fetches once
	byUser  map[string][]string
	expires time.Time
	retryAt time.Time // after a failure, when to ask Slack again
}

// groupRetry is how long a failed lookup is not retried.
const groupRetry = 30 * time.Second

// of returns the ids of the groups userID belongs to. When Slack cannot be
// asked, the answer is no groups: membership must be known to count.
func (c *groupCache) of(ctx context.Context, userID string) []string {
	if !c.enabled {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.byUser == nil || !now.Before(c.expires) {
		c.byUser = nil
		if now.Before(c.retryAt) {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		groups, err := c.api.GetUserGroupsContext(ctx, slack.GetUserGroupsOptionIncludeUsers(true))
		if err != nil {
			c.retryAt = now.Add(groupRetry)
			c.log.Warn("slack: cannot read user groups (usergroups.list); slack_usergroups rules match nobody until it works", "err", scrubURL(err))
			return nil
		}
		c.byUser = map[string][]string{}
		for _, g := range groups {
			for _, u := range g.Users {
				c.byUser[u] = append(c.byUser[u], g.ID)
			}
		}
		c.expires = now.Add(c.ttl)
	}
	return append([]string(nil), c.byUser[userID]...)
}
