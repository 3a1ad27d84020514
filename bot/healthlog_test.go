package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wikimod/wikimod/bot"
)

// syncBuffer is a log output the server's goroutines may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHealthLogSaysWhatHealthzSays: a soft check that fails makes /healthz
// answer "degraded", and the log says "degraded" too, not "failing"; a
// hard one makes both say "failing".
func TestHealthLogSaysWhatHealthzSays(t *testing.T) {
	var soft, hard atomic.Pointer[error]
	load := func(p *atomic.Pointer[error]) error {
		if e := p.Load(); e != nil {
			return *e
		}
		return nil
	}
	var logs syncBuffer
	s := bot.NewServer(bot.ServerConfig{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(&logs, nil)), Checks: []bot.Check{
		{Name: "wikis", Soft: true, Func: func(context.Context) error { return load(&soft) }},
		{Name: "database", Func: func(context.Context) error { return load(&hard) }},
	}})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	status := func() string {
		t.Helper()
		resp, err := http.Get("http://" + s.Addr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var rep struct{ Status string }
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatalf("healthz %s: %v", body, err)
		}
		return rep.Status
	}

	softErr := errors.New("1 of 2 wikis do not answer")
	soft.Store(&softErr)
	if got := status(); got != "degraded" {
		t.Fatalf("status with a soft check failing = %q, want degraded", got)
	}
	if log := logs.String(); !strings.Contains(log, `msg="health check degraded" check=wikis`) || strings.Contains(log, "failing") {
		t.Errorf("log with a soft check failing:\n%s", log)
	}

	hardErr := errors.New("the disk is full")
	hard.Store(&hardErr)
	if got := status(); got != "failing" {
		t.Fatalf("status with a hard check failing = %q, want failing", got)
	}
	if log := logs.String(); !strings.Contains(log, `msg="health check failing" check=database`) {
		t.Errorf("log with a hard check failing:\n%s", log)
	}
}
