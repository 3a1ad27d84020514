package discord

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// maxPending bounds the forms and interaction ids kept in memory, so that a
// flood of interactions cannot grow them without limit.
const maxPending = 10000

// form is a command waiting for its modal to be submitted. It holds the
// options given with the command, never the secret the modal asks for.
type form struct {
	userID  string
	command string
	args    commands.Args
	secret  string // the parameter the modal asks for
	expires time.Time
}

// formStore keeps forms by a random id, which travels in the modal's
// custom_id. The options stay on the server: they would not fit in the 100
// characters a custom_id allows.
type formStore struct {
	mu    sync.Mutex
	forms map[string]form
	now   func() time.Time
}

func newFormStore(now func() time.Time) *formStore {
	return &formStore{forms: map[string]form{}, now: now}
}

// put stores f and returns its id.
func (s *formStore) put(f form) string {
	b := make([]byte, 12)
	rand.Read(b)
	id := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.forms) >= maxPending/2 {
		for k, v := range s.forms {
			if !now.Before(v.expires) {
				delete(s.forms, k)
			}
		}
	}
	if len(s.forms) >= maxPending {
		// Drop the one closest to expiring rather than refusing new forms.
		var oldest string
		for k, v := range s.forms {
			if oldest == "" || v.expires.Before(s.forms[oldest].expires) {
				oldest = k
			}
		}
		delete(s.forms, oldest)
	}
	s.forms[id] = f
	return id
}

// take removes and returns the form with id, if it has not expired. A form
// is used once.
func (s *formStore) take(id string) (form, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.forms[id]
	delete(s.forms, id)
	if !ok || !s.now().Before(f.expires) {
		return form{}, false
	}
	return f, true
}

// replayGuard remembers the ids of recent interactions, so that a signed
// request captured and sent again inside the timestamp window is refused.
type replayGuard struct {
	mu     sync.Mutex
	seen   map[string]time.Time
	window time.Duration
}

func newReplayGuard(window time.Duration) *replayGuard {
	return &replayGuard{seen: map[string]time.Time{}, window: window}
}

// first records id at now and reports whether it is new.
func (g *replayGuard) first(id string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, dup := g.seen[id]; dup {
		return false
	}
	if len(g.seen) >= maxPending {
		for k, t := range g.seen {
			if now.Sub(t) > g.window {
				delete(g.seen, k)
			}
		}
	}
	if len(g.seen) >= maxPending {
		// Still full of ids inside the window: forget them all rather than
		// grow. The timestamp check still bounds replays.
		clear(g.seen)
	}
	g.seen[id] = now
	return true
}
