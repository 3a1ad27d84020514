package discord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// PendingForm is a command waiting for its modal to be submitted: the
// domain's row (commands.PendingForm), which the storage backends keep.
type PendingForm = commands.PendingForm

// FormStore keeps pending forms by a random id, which travels in the
// modal's custom_id; see commands.FormStore. Every commands.Store is one.
type FormStore = commands.FormStore

// newFormID returns a random form id.
func newFormID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// maxPending bounds the forms kept in memory, so that a flood of
// interactions cannot grow them without limit.
const maxPending = 10000

// memoryForms is the FormStore of a single process that has no database
// to share (tests, tools): the forms live in its memory.
type memoryForms struct {
	mu    sync.Mutex
	forms map[string]memoryForm
}

type memoryForm struct {
	PendingForm
	expires time.Time
}

func newMemoryForms() *memoryForms { return &memoryForms{forms: map[string]memoryForm{}} }

func (s *memoryForms) PutForm(_ context.Context, id string, f PendingForm, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	s.forms[id] = memoryForm{f, expires}
	return nil
}

func (s *memoryForms) TakeForm(_ context.Context, id, userID string, now time.Time) (PendingForm, bool, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.forms {
		if !now.Before(v.expires) {
			delete(s.forms, k)
		}
	}
	f, ok := s.forms[id]
	if !ok {
		return PendingForm{}, false, false, nil
	}
	if f.UserID != userID {
		return PendingForm{}, true, false, nil
	}
	delete(s.forms, id)
	return f.PendingForm, true, true, nil
}
