package commands

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/wikimod/wikimod/i18n"
)

// UserLimit bounds the commands one chat user may give on one wiki: a
// bucket of Burst commands, refilled at Rate a minute. A person past it is
// refused before anything else is done for them (no permission check, no
// wiki request). The first refusal of a run is audited like any denial; the
// ones after it, until a command is allowed again, are only counted, as
// refused requests are (Config.OnRefusal), so that a flood costs neither
// the wiki nor the audit log anything that grows with it.
type UserLimit struct {
	// Rate is how many commands a minute a person may give, on average.
	// Zero means 30; negative turns the limit off.
	Rate int
	// Burst is how many a person may give at once. Zero means 10.
	Burst int
}

// KindRateLimited is the kind of refusal counted for a person past their
// UserLimit (Config.OnRefusal).
const KindRateLimited = "rate-limited"

// maxLimitKeys bounds the people a limiter remembers; past it, those whose
// buckets are full again (who have not given a command for a while) are
// forgotten, which loses nothing.
const maxLimitKeys = 10000

type limitKey struct{ wiki, platform, user string }

type bucket struct {
	tokens float64
	last   time.Time
	// refusing is set once a refusal was audited, until a command is
	// allowed again.
	refusing bool
}

// userLimiter is the token buckets of every person, per wiki.
type userLimiter struct {
	rate  float64 // tokens a second
	burst float64
	mu    sync.Mutex
	m     map[limitKey]*bucket
}

func newUserLimiter(l UserLimit) *userLimiter {
	if l.Rate < 0 {
		return nil
	}
	rate, burst := l.Rate, l.Burst
	if rate == 0 {
		rate = 30
	}
	if burst <= 0 {
		burst = 10
	}
	return &userLimiter{rate: float64(rate) / 60, burst: float64(burst), m: map[limitKey]*bucket{}}
}

// take spends one of key's tokens at now. When none is left it reports
// false, how long until one is, and whether this is the first refusal since
// the last allowed command.
func (l *userLimiter) take(key limitKey, now time.Time) (ok bool, wait time.Duration, first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= maxLimitKeys {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.m[key] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		b.refusing = false
		return true, 0, false
	}
	// Rounded up to a whole second: "in 1 second" must not be too soon.
	wait = time.Duration(math.Ceil((1-b.tokens)/l.rate)) * time.Second
	first = !b.refusing
	b.refusing = true
	return false, wait, first
}

// forgetFull drops the buckets that are full at now.
func (l *userLimiter) forgetFull(now time.Time) {
	for k, b := range l.m {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.m, k)
		}
	}
}

// limitWiki names the wiki a command from actor with args is for, as far as
// it can be told without asking anything: the one named, else the one its
// routes give (routedWiki); "" otherwise.
func (s *Service) limitWiki(actor Actor, args Args) string {
	if name, given := args.Get("wiki"); given {
		return name
	}
	if w := s.routedWiki(actor); w != nil {
		return w.Name
	}
	return ""
}

// overLimit reports whether actor is past their UserLimit for a command
// named name with args, and returns the reply for them if so. The first
// refusal of a run is audited; every refusal is counted as a refused
// request.
func (s *Service) overLimit(ctx context.Context, actor Actor, name string, args Args) (Reply, bool) {
	if s.limiter == nil {
		return Reply{}, false
	}
	wiki := s.limitWiki(actor, args)
	ok, wait, first := s.limiter.take(limitKey{wiki, actor.Platform, actor.UserID}, s.now())
	if ok {
		return Reply{}, false
	}
	if s.onRefusal != nil {
		s.onRefusal(actor.Platform, KindRateLimited, "user:"+actor.UserID, fmt.Sprintf("/%s on wiki %q: past %d commands a minute", name, wiki, int(s.limiter.rate*60+0.5)))
	}
	reply := Reply{Command: name, Outcome: OutcomeDenied, Code: KindRateLimited, Title: i18n.M("wikimod-rate-limited-title"),
		Text: i18n.M("wikimod-rate-limited-text", int(s.limiter.rate*60+0.5), int(s.limiter.burst), waitFor(wait))}
	if first {
		s.refused(ctx, actor, name, s.wikis[wiki], "", nil, reply)
	} else {
		s.observeDone(s.wikis[wiki], name, reply.Outcome, s.now())
	}
	return reply, true
}
