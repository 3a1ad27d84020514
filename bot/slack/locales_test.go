package slack

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/wikimod/wikimod/internal/testwait"
)

// usersInfo stands in for users.info: each user's locale, the calls made,
// and a gate that holds calls until it is closed.
type usersInfo struct {
	mu      sync.Mutex
	locales map[string]string
	calls   map[string]int
	fail    bool
	gate    chan struct{}
}

func (u *usersInfo) GetUserInfoContext(ctx context.Context, user string, _ ...slack.GetUserInfoOption) (*slack.User, error) {
	u.mu.Lock()
	u.calls[user]++
	gate, fail := u.gate, u.fail
	u.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if fail {
		return nil, errors.New("slack: missing_scope")
	}
	return &slack.User{ID: user, Locale: u.locales[user]}, nil
}

func (u *usersInfo) count(user string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[user]
}

func newTestLocales(api *usersInfo, clock *testwait.Clock) *localeCache {
	c := newLocaleCache(api, time.Hour, clock.Now, nopLog{})
	c.max = 2
	return c
}

type nopLog struct{}

func (nopLog) Warn(string, ...any) {}

// TestLocaleCache: one users.info call per user per TTL, Slack's locale as
// MediaWiki's code, at most max users kept (the least recently asked
// about forgotten first), and a failure standing as "no language" for a
// minute.
func TestLocaleCache(t *testing.T) {
	ctx := context.Background()
	clock := testwait.NewClock(time.Unix(1_780_000_000, 0))
	api := &usersInfo{locales: map[string]string{"U1": "zh-CN", "U2": "zh-TW", "U3": "tr-TR"}, calls: map[string]int{}}
	c := newTestLocales(api, clock)

	if got := c.cached("U1"); got != "" {
		t.Errorf("cached before any call = %q", got)
	}
	for range 3 {
		if got := c.of(ctx, "U1"); got != "zh-hans" {
			t.Errorf("U1 = %q, want zh-hans", got)
		}
	}
	if got := c.cached("U1"); got != "zh-hans" || api.count("U1") != 1 {
		t.Errorf("cached U1 = %q after %d calls, want zh-hans after 1", got, api.count("U1"))
	}
	if got := c.of(ctx, "U2"); got != "zh-hant" {
		t.Errorf("U2 = %q, want zh-hant", got)
	}
	c.of(ctx, "U1") // U2 is now the least recently asked about
	if got := c.of(ctx, "U3"); got != "tr" {
		t.Errorf("U3 = %q, want tr", got)
	}
	if c.cached("U2") != "" || c.cached("U1") != "zh-hans" || len(c.byUser) != 2 {
		t.Errorf("past the bound: U2 %q, U1 %q, %d kept; want U2 forgotten, U1 kept, 2 kept", c.cached("U2"), c.cached("U1"), len(c.byUser))
	}

	clock.Add(time.Hour)
	if c.cached("U1") != "" {
		t.Error("an hour-old locale is still served from the cache")
	}
	api.mu.Lock()
	api.locales["U1"] = "tr"
	api.mu.Unlock()
	if got := c.of(ctx, "U1"); got != "tr" || api.count("U1") != 2 {
		t.Errorf("U1 an hour on = %q after %d calls, want tr after 2", got, api.count("U1"))
	}

	api.mu.Lock()
	api.fail = true
	api.mu.Unlock()
	if got := c.of(ctx, "U9"); got != "" {
		t.Errorf("a failed lookup = %q, want none", got)
	}
	c.of(ctx, "U9")
	clock.Add(59 * time.Second)
	c.of(ctx, "U9")
	if n := api.count("U9"); n != 1 {
		t.Errorf("a failing users.info called %d times within a minute, want 1", n)
	}
	clock.Add(time.Second)
	c.of(ctx, "U9")
	if n := api.count("U9"); n != 2 {
		t.Errorf("a failing users.info called %d times after a minute, want 2", n)
	}
}

// TestLocaleCacheAsksOnceForABurst: commands of one person at once wait
// for one users.info call.
func TestLocaleCacheAsksOnceForABurst(t *testing.T) {
	clock := testwait.NewClock(time.Unix(1_780_000_000, 0))
	gate := make(chan struct{})
	api := &usersInfo{locales: map[string]string{"U1": "zh-CN"}, calls: map[string]int{}, gate: gate}
	c := newTestLocales(api, clock)
	var wg sync.WaitGroup
	got := make([]string, 5)
	for i := range got {
		wg.Go(func() { got[i] = c.of(context.Background(), "U1") })
	}
	testwait.For(t, "the first call", func() bool { return api.count("U1") == 1 })
	close(gate)
	wg.Wait()
	for i, lang := range got {
		if lang != "zh-hans" {
			t.Errorf("caller %d got %q", i, lang)
		}
	}
	if n := api.count("U1"); n != 1 {
		t.Errorf("users.info called %d times for a burst, want 1", n)
	}
}
