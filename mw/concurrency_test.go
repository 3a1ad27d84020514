package mw_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wikimod/wikimod/mw"
)

// heldTransport answers every request itself, holding it until release is
// closed, and counts the requests in flight: from the moment the client
// hands one over until it closes the answer's body.
type heldTransport struct {
	inflight, most, started atomic.Int64
	release                 chan struct{}
}

func (h *heldTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h.started.Add(1)
	cur := h.inflight.Add(1)
	for m := h.most.Load(); cur > m && !h.most.CompareAndSwap(m, cur); m = h.most.Load() {
	}
	select {
	case <-h.release:
	case <-req.Context().Done():
		h.inflight.Add(-1)
		return nil, req.Context().Err()
	}
	body := &doneBody{Reader: strings.NewReader(`{"validatepassword":{"validity":"Good"}}`), done: func() { h.inflight.Add(-1) }}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       body,
		Request:    req,
	}, nil
}

type doneBody struct {
	io.Reader
	once sync.Once
	done func()
}

func (b *doneBody) Close() error { b.once.Do(b.done); return nil }

// TestMaxConcurrentBoundsRequestsInFlight fires more commands than the
// client may have in flight. In a synctest bubble, synctest.Wait returns
// once every command is either held by the transport or waiting for a slot,
// so the count is exact.
func TestMaxConcurrentBoundsRequestsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const bound, n = 3, 20
		ht := &heldTransport{release: make(chan struct{})}
		c, err := mw.New(mw.Config{
			APIURL:        "http://wiki.test/api.php",
			MaxConcurrent: bound,
			HTTPClient:    &http.Client{Transport: ht},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.ValidatePassword(ctx, mw.ValidatePasswordParams{Password: fmt.Sprint("password ", i)}); err != nil {
					t.Error(err)
				}
			}()
		}
		synctest.Wait()
		if got := ht.inflight.Load(); got != bound {
			t.Errorf("%d requests in flight with %d commands waiting, want %d", got, n, bound)
		}

		// Every slot is taken: a command whose context ends while it waits
		// for one gives up without sending anything.
		waitCtx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() {
			_, err := c.ValidatePassword(waitCtx, mw.ValidatePasswordParams{Password: "never sent"})
			done <- err
		}()
		synctest.Wait()
		cancel()
		err = <-done
		var un *mw.UnavailableError
		if !errors.As(err, &un) || !errors.Is(err, context.Canceled) || mw.MaybeApplied(err) {
			t.Errorf("command cancelled while waiting for a slot: %v (MaybeApplied %v), want an UnavailableError wrapping context.Canceled, not maybe applied", err, mw.MaybeApplied(err))
		}

		close(ht.release)
		wg.Wait()
		if got := ht.most.Load(); got != bound {
			t.Errorf("at most %d requests were in flight, want %d", got, bound)
		}
		if got := ht.started.Load(); got != n {
			t.Errorf("the transport saw %d requests, want %d (the cancelled one must not be sent)", got, n)
		}
	})
}

// TestMaxConcurrentAgainstRealWiki counts the requests in flight to the
// real wiki while a burst of commands, logging in first, runs through a
// client with a small bound.
func TestMaxConcurrentAgainstRealWiki(t *testing.T) {
	const bound, n = 2, 40
	ct := &countingTransport{}
	c := newBot(t, nil, func(cfg *mw.Config) {
		cfg.MaxConcurrent = bound
		cfg.HTTPClient = &http.Client{Transport: ct}
	})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.ValidatePassword(context.Background(), mw.ValidatePasswordParams{Password: fmt.Sprint("a long password ", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := ct.most.Load(); got < 1 || got > bound {
		t.Errorf("at most %d requests were in flight, want between 1 and %d", got, bound)
	}
	t.Logf("%d requests, at most %d in flight", ct.total.Load(), ct.most.Load())
}

// countingTransport sends requests through net/http's default transport and
// counts those in flight, until their answer's body is closed.
type countingTransport struct{ inflight, most, total atomic.Int64 }

func (ct *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ct.total.Add(1)
	cur := ct.inflight.Add(1)
	for m := ct.most.Load(); cur > m && !ct.most.CompareAndSwap(m, cur); m = ct.most.Load() {
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		ct.inflight.Add(-1)
		return nil, err
	}
	body := resp.Body
	resp.Body = &doneBody{Reader: body, done: func() { body.Close(); ct.inflight.Add(-1) }}
	return resp, nil
}

func TestDefaultTransportKeepsAConnectionPerSlot(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  mw.Config
		want int
	}{
		{"no HTTP client", mw.Config{MaxConcurrent: 16}, 16},
		{"default bound", mw.Config{}, 4},
		{"HTTP client without a transport", mw.Config{MaxConcurrent: 8, HTTPClient: &http.Client{Timeout: time.Second}}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.APIURL = "http://127.0.0.1:1/api.php"
			c, err := mw.New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tr, ok := c.TransportForTest().(*http.Transport)
			if !ok || tr == http.DefaultTransport {
				t.Fatalf("transport = %T, want a copy of http.DefaultTransport", c.TransportForTest())
			}
			if tr.MaxIdleConnsPerHost < tc.want {
				t.Errorf("MaxIdleConnsPerHost = %d, want at least %d", tr.MaxIdleConnsPerHost, tc.want)
			}
			if tr.Proxy == nil {
				t.Error("the copy lost http.DefaultTransport's proxy setting")
			}
		})
	}
	mine := &http.Transport{}
	c, err := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php", HTTPClient: &http.Client{Transport: mine}})
	if err != nil {
		t.Fatal(err)
	}
	if c.TransportForTest() != mine {
		t.Error("the caller's own transport was replaced")
	}
	if _, err := mw.New(mw.Config{APIURL: "http://127.0.0.1:1/api.php", MaxConcurrent: -1}); err == nil {
		t.Error("New accepted a negative MaxConcurrent")
	}
}

// TestAnswersAreReadToTheirEnd checks that the client reads an answer to
// its end where the server keeps the connection open, so that net/http can
// reuse the connection, and does not where the server closes it: MediaWiki
// does that when it runs deferred updates before ending the response, and
// waiting for them would slow every command.
func TestAnswersAreReadToTheirEnd(t *testing.T) {
	for _, tc := range []struct {
		name        string
		connClose   bool
		wantDrained bool
	}{
		{"keep-alive", false, true},
		{"Connection: close", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &endBody{data: []byte(`{"validatepassword":{"validity":"Good"}}`)}
			rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
				return &http.Response{
					StatusCode: http.StatusOK,
					Header:     http.Header{"Content-Type": {"application/json"}},
					Body:       body,
					Close:      tc.connClose,
					Request:    req,
				}, nil
			})
			c, err := mw.New(mw.Config{APIURL: "http://wiki.test/api.php", HTTPClient: &http.Client{Transport: rt}})
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.ValidatePassword(context.Background(), mw.ValidatePasswordParams{Password: "a long password"})
			if err != nil || v.Validity != "Good" {
				t.Fatalf("validatepassword = %+v, %v", v, err)
			}
			if !body.closed {
				t.Error("the answer's body was not closed")
			}
			if body.drained != tc.wantDrained {
				t.Errorf("answer read to its end = %v, want %v", body.drained, tc.wantDrained)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// endBody hands out its data in one read and reports the end only on the
// next, as a network stream does when the end arrives after the data.
type endBody struct {
	data            []byte
	off             int
	drained, closed bool
}

func (b *endBody) Read(p []byte) (int, error) {
	if b.off < len(b.data) {
		n := copy(p, b.data[b.off:])
		b.off += n
		return n, nil
	}
	b.drained = true
	return 0, io.EOF
}

func (b *endBody) Close() error { b.closed = true; return nil }
