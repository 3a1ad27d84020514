package bot_test

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/bot"
	"github.com/wikimod/wikimod/internal/testwait"
)

// TestArrivalIsWhenTheRequestCame: a request's arrival is stamped before
// its handler starts, and a second request on the same kept-alive
// connection gets its own stamp, not the connection's first.
func TestArrivalIsWhenTheRequestCame(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := bot.NewServer(bot.ServerConfig{Listen: addr})
	var (
		mu       sync.Mutex
		arrivals []time.Time
		starts   []time.Time
	)
	s.Mux().HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, bot.Arrival(r))
		starts = append(starts, time.Now())
		mu.Unlock()
		io.WriteString(w, "ok")
	})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	for i := range 2 {
		resp, err := client.Get("http://" + addr + "/x")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if i == 0 {
			// The second request comes later: once the clock has moved on
			// from the first's start, the two stamps cannot be the same.
			testwait.For(t, "the clock to pass the first request's start", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return time.Now().After(starts[0])
			})
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != 2 || arrivals[0].IsZero() || arrivals[0].After(starts[0]) || arrivals[1].After(starts[1]) {
		t.Fatalf("arrivals %v, handler starts %v", arrivals, starts)
	}
	if !arrivals[1].After(starts[0]) {
		t.Errorf("the second request on the connection kept the first's arrival: %v, first handled at %v", arrivals[1], starts[0])
	}
	if r, _ := http.NewRequest(http.MethodGet, "/", nil); !bot.Arrival(r).IsZero() {
		t.Error("a request from elsewhere has an arrival")
	}
}
