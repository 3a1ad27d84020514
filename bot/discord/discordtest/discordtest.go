// Package discordtest stands in for Discord in tests: an HTTP server that
// speaks the parts of Discord's REST API wikimod calls and records every
// request, and a key pair that signs interactions the way Discord does.
package discordtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request the stand-in received.
type Request struct {
	Method string
	Path   string // e.g. /api/v9/webhooks/APP/TOKEN/messages/@original
	Header http.Header
	Body   []byte
}

// JSON decodes the request body into v, failing tb if it is not JSON.
func (r Request) JSON(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("%s %s: body is not JSON: %v\n%s", r.Method, r.Path, err, r.Body)
	}
}

// Server is a stand-in for Discord's REST API. Point api_url (or the
// adapter's APIURL) at its URL.
type Server struct {
	*httptest.Server

	mu      sync.Mutex
	reqs    []Request
	changed chan struct{} // closed and replaced on every request
	nextID  int
	gateway []*gatewayConn
	// GatewayURL is what GET /gateway answers; NewServer sets it to the
	// stand-in's own gateway.
	GatewayURL string
}

// NewServer starts a stand-in and stops it when the test ends.
func NewServer(tb testing.TB) *Server {
	s := &Server{changed: make(chan struct{}), nextID: 1000}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	s.GatewayURL = "ws" + strings.TrimPrefix(s.URL, "http") + GatewayPath
	tb.Cleanup(s.Close)
	return s
}

// Close closes the gateway connections and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	conns := s.gateway
	s.gateway = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
	s.Server.Close()
}

// record keeps a request and wakes those waiting for one.
func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.TrimSuffix(r.URL.Path, "/") == GatewayPath {
		s.serveGateway(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.nextID++
	id := strconv.Itoa(s.nextID)
	gateway := s.GatewayURL
	s.mu.Unlock()
	s.record(Request{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body})

	w.Header().Set("Content-Type", "application/json")
	path := r.URL.EscapedPath()
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/api/v9/interactions/") && strings.HasSuffix(path, "/callback"):
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPatch && strings.HasPrefix(path, "/api/v9/webhooks/"):
		writeMessage(w, id, body)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/api/v9/channels/") && strings.HasSuffix(path, "/messages"):
		writeMessage(w, id, body)
	case r.Method == http.MethodPut && strings.HasPrefix(path, "/api/v9/applications/") && strings.HasSuffix(path, "/commands"):
		// Discord answers with the commands it now has, ids filled in.
		var cmds []map[string]any
		json.Unmarshal(body, &cmds)
		for i, c := range cmds {
			c["id"] = id + strconv.Itoa(i)
		}
		json.NewEncoder(w).Encode(cmds)
	case r.Method == http.MethodGet && path == "/api/v9/gateway":
		json.NewEncoder(w).Encode(map[string]string{"url": gateway})
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message": "404: Not Found", "code": 0}`)
	}
}

// writeMessage answers with a message object built from the request.
func writeMessage(w http.ResponseWriter, id string, body []byte) {
	msg := map[string]any{}
	json.Unmarshal(body, &msg)
	msg["id"] = id
	msg["channel_id"] = "1"
	json.NewEncoder(w).Encode(msg)
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// WaitTimeout bounds how long Wait waits before failing the test. It is a
// guard against a hang, not a measurement.
var WaitTimeout = 60 * time.Second

// Wait returns the first request (in order of arrival) that match accepts,
// waiting for it to arrive.
func (s *Server) Wait(tb testing.TB, what string, match func(Request) bool) Request {
	tb.Helper()
	deadline := time.NewTimer(WaitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, r := range s.reqs {
			if match(r) {
				s.mu.Unlock()
				return r
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("the Discord stand-in never received %s; it received:\n%s", what, s.summary())
		}
	}
}

// WaitEdit waits for the edit of an interaction's original response.
func (s *Server) WaitEdit(tb testing.TB, appID, token string) Request {
	tb.Helper()
	path := "/api/v9/webhooks/" + appID + "/" + token + "/messages/@original"
	return s.Wait(tb, "PATCH "+path, func(r Request) bool { return r.Method == http.MethodPatch && r.Path == path })
}

func (s *Server) summary() string {
	var b strings.Builder
	for _, r := range s.Requests() {
		b.WriteString("  " + r.Method + " " + r.Path + "\n")
	}
	if b.Len() == 0 {
		return "  nothing"
	}
	return b.String()
}

// Signer holds an Ed25519 key pair standing in for a Discord application's.
type Signer struct {
	Public  ed25519.PublicKey
	private ed25519.PrivateKey
}

// NewSigner makes a fresh key pair.
func NewSigner() *Signer {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Signer{Public: pub, private: priv}
}

// PublicKeyHex is the public key as the developer portal shows it.
func (s *Signer) PublicKeyHex() string { return hex.EncodeToString(s.Public) }

// Sign returns the hex signature Discord would send for a timestamp and body.
func (s *Signer) Sign(timestamp string, body []byte) string {
	return hex.EncodeToString(ed25519.Sign(s.private, append([]byte(timestamp), body...)))
}

// Request builds a signed POST of body to url, timestamped at t.
func (s *Signer) Request(url string, body []byte, t time.Time) *http.Request {
	ts := strconv.FormatInt(t.Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Ed25519", s.Sign(ts, body))
	req.Header.Set("X-Signature-Timestamp", ts)
	return req
}
