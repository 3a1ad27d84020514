package discord

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// maxPending bounds the forms kept in memory, so that a flood of
// interactions cannot grow them without limit.
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

// take removes and returns the form with id, if it has not expired and
// userID opened it; a form is used once. A submission by anyone else leaves
// the form for its owner and reports owner false.
func (s *formStore) take(id, userID string) (f form, ok, owner bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok = s.forms[id]
	if !ok || !s.now().Before(f.expires) {
		delete(s.forms, id)
		return form{}, false, false
	}
	if f.userID != userID {
		return form{}, true, false
	}
	delete(s.forms, id)
	return f, true, true
}
