package slack_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	wikislack "github.com/wikimod/wikimod/bot/slack"
)

// TestRequestBodiesAsTheyCome: the handler reads a signed command whatever
// its Content-Length says (or when it is not given) and however its form is
// labelled, and refuses a body over 1 MiB as oversized without running it.
func TestRequestBodiesAsTheyCome(t *testing.T) {
	at := time.Unix(1_780_000_000, 0)
	svc := &recorder{}
	var events []string
	mux := recordingMux(t, signingSecret, at, svc, wikislack.Config{
		OnSecurityEvent: func(_ context.Context, kind, _, _ string) { events = append(events, kind) }})

	serve := func(target, contentType, body string, length int64, chunked bool) int {
		t.Helper()
		var src io.Reader = strings.NewReader(body)
		if chunked {
			src = io.MultiReader(strings.NewReader(body[:len(body)/2]), strings.NewReader(body[len(body)/2:]))
		}
		req := httptest.NewRequest(http.MethodPost, target, src)
		req.ContentLength = length
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
		req.Header.Set("X-Slack-Signature", wikislack.Sign(signingSecret, at.Unix(), []byte(body)))
		rw := httptest.NewRecorder()
		mux.ServeHTTP(rw, req)
		return rw.Code
	}
	form := func(n int) string {
		return "command=%2Fhelp&text=&user_id=U-" + strconv.Itoa(n) + "&channel_id=C-1&response_url=https%3A%2F%2Fhooks.slack.test%2F" + strconv.Itoa(n)
	}
	const urlencoded = "application/x-www-form-urlencoded"
	cases := []struct {
		name, target, contentType string
		length                    func(body string) int64
		chunked                   bool
	}{
		{"as Slack sends it", "/slack/commands", urlencoded, func(b string) int64 { return int64(len(b)) }, false},
		{"no length", "/slack/commands", urlencoded, func(string) int64 { return -1 }, true},
		{"length too short", "/slack/commands", urlencoded, func(string) int64 { return 3 }, false},
		{"length too long", "/slack/commands", urlencoded, func(b string) int64 { return int64(len(b)) + 100 }, false},
		{"length past the bound", "/slack/commands", urlencoded, func(string) int64 { return 1 << 40 }, false},
		{"charset", "/slack/commands", urlencoded + "; charset=utf-8", func(b string) int64 { return int64(len(b)) }, false},
		{"query", "/slack/commands?team_id=T-1", urlencoded, func(b string) int64 { return int64(len(b)) }, false},
	}
	for i, tc := range cases {
		body := form(i)
		if code := serve(tc.target, tc.contentType, body, tc.length(body), tc.chunked); code != http.StatusOK {
			t.Errorf("%s: HTTP %d", tc.name, code)
		}
	}
	if got := svc.names(); len(got) != len(cases) {
		t.Errorf("ran %v, want %d times help", got, len(cases))
	}
	for i, a := range svc.actors {
		if want := "U-" + strconv.Itoa(i); a.UserID != want {
			t.Errorf("command %d ran as %q, want %q", i, a.UserID, want)
		}
	}

	big := form(99) + "&pad=" + strings.Repeat("x", 1<<20)
	if code := serve("/slack/commands", urlencoded, big, int64(len(big)), false); code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over 1 MiB: HTTP %d", code)
	}
	if len(events) != 1 || events[0] != wikislack.KindOversized {
		t.Errorf("security events = %v", events)
	}
	if got := svc.names(); len(got) != len(cases) {
		t.Errorf("the oversized request ran: %v", got)
	}
}

// TestSignaturesCheckedConcurrently: requests checked at the same time,
// good and forged mixed, are each judged on their own signature.
func TestSignaturesCheckedConcurrently(t *testing.T) {
	at := time.Unix(1_780_000_000, 0)
	svc := &recorder{}
	mux := recordingMux(t, signingSecret, at, svc, wikislack.Config{})

	const n = 40
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := "command=%2Fhelp&text=&user_id=U-" + strconv.Itoa(i) + "&response_url=https%3A%2F%2Fhooks.slack.test%2F" + strconv.Itoa(i)
			secret := signingSecret
			if i%2 == 1 {
				secret = "not-the-secret"
			}
			req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
			req.Header.Set("X-Slack-Signature", wikislack.Sign(secret, at.Unix(), []byte(body)))
			rw := httptest.NewRecorder()
			mux.ServeHTTP(rw, req)
			codes[i] = rw.Code
		})
	}
	wg.Wait()
	for i, code := range codes {
		want := http.StatusOK
		if i%2 == 1 {
			want = http.StatusUnauthorized
		}
		if code != want {
			t.Errorf("request %d: HTTP %d, want %d", i, code, want)
		}
	}
	if got := svc.names(); len(got) != n/2 {
		t.Errorf("ran %d commands, want %d", len(got), n/2)
	}
}
