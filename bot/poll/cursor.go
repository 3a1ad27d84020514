package poll

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cursor is a position in a stream of a wiki (its recent changes, its
// abuse log, its protect log): the wiki's time and id of the last entry
// read. Entries are ordered by time, then id.
type Cursor struct {
	At time.Time
	ID int64
}

// String writes c as the store keeps it: "TIME|ID", or "" for the zero
// Cursor (nothing read).
func (c Cursor) String() string {
	if c.At.IsZero() {
		return ""
	}
	return c.At.UTC().Format(time.RFC3339) + "|" + strconv.FormatInt(c.ID, 10)
}

// Before reports whether the entry of the given time and id comes after c:
// whether it is still to read.
func (c Cursor) Before(at time.Time, id int64) bool {
	return at.After(c.At) || (at.Equal(c.At) && id > c.ID)
}

// ParseCursor reads a Cursor as String wrote it; "" is the zero Cursor.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	at, id, ok := strings.Cut(s, "|")
	t, err := time.Parse(time.RFC3339, at)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || err2 != nil {
		return Cursor{}, fmt.Errorf("bad cursor %q", s)
	}
	return Cursor{At: t, ID: n}, nil
}

// Stream is where a wiki's stream was read to as the store keeps it, so
// that a restart or another replica goes on from there. It is saved only
// when it moves past what the store has: a cursor read back after a
// takeover is not written again until the stream is read further. One
// poll of the wiki uses it at a time.
type Stream struct {
	// Load reads the stream's cursor from the store ("" where there is
	// none); Save writes it.
	Load  func(ctx context.Context) (string, error)
	Save  func(ctx context.Context, cursor string) error
	saved Cursor
}

// Resume returns where the store says the stream was read to: the zero
// Cursor where it never was.
func (s *Stream) Resume(ctx context.Context) (Cursor, error) {
	text, err := s.Load(ctx)
	if err != nil {
		return Cursor{}, err
	}
	c, err := ParseCursor(text)
	if err != nil {
		return Cursor{}, err
	}
	s.saved = c
	return c, nil
}

// Advance saves c as where the stream was read to, if it is past what the
// store has.
func (s *Stream) Advance(ctx context.Context, c Cursor) error {
	if !s.saved.Before(c.At, c.ID) {
		return nil
	}
	if err := s.Save(ctx, c.String()); err != nil {
		return err
	}
	s.saved = c
	return nil
}
