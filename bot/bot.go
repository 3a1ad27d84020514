// Package bot is wikimod's runtime: the HTTP server that platform adapters
// mount their endpoints on, health and metrics, and the interfaces adapters
// implement. Each chat platform lives in its own subpackage (bot/console,
// bot/discord, bot/slack) and is the only place its SDK is used.
package bot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// Adapter connects wikimod to one chat platform.
type Adapter interface {
	// Name is the platform's name, as in commands.Actor.Platform.
	Name() string
	// Run serves the platform until ctx is done. Adapters that only take
	// HTTP requests return at once or wait for ctx.
	Run(ctx context.Context) error
}

// Mounter is an adapter that takes requests on the shared HTTP server.
type Mounter interface {
	// Mount registers the adapter's handlers on mux.
	Mount(mux *http.ServeMux)
}

// Notifier is an adapter that can post to the moderators' channel: protect
// announcements, expiry reminders.
type Notifier interface {
	// Notify posts a reply (with its Actions as buttons where the platform
	// has them) to the configured notice channel.
	Notify(ctx context.Context, r commands.Reply) error
}

// Check is one health check, such as "wiki" or "database".
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// ServerConfig configures a Server.
type ServerConfig struct {
	Listen  string // e.g. 127.0.0.1:8080
	Metrics *Metrics
	Checks  []Check
	Logger  *slog.Logger
}

// Server is the HTTP server adapters mount on, with /healthz and /metrics.
type Server struct {
	mux    *http.ServeMux
	srv    *http.Server
	ln     net.Listener
	checks []Check
	log    *slog.Logger
	once   sync.Once
}

// NewServer returns a server; Start listens.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{mux: http.NewServeMux(), checks: cfg.Checks, log: cfg.Logger}
	s.srv = &http.Server{
		Addr:              cfg.Listen,
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	s.mux.HandleFunc("GET /healthz", s.health)
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", cfg.Metrics)
	}
	return s
}

// Mux returns the server's router, for adapters to mount on.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Start listens and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	s.log.Info("http server listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the address the server listens on, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the server, letting requests in flight finish until ctx ends.
// It is safe to call twice.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() { err = s.srv.Shutdown(ctx) })
	return err
}

type healthReport struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	rep := healthReport{Status: "ok", Checks: map[string]string{}}
	for _, c := range s.checks {
		if err := c.Func(ctx); err != nil {
			rep.Status = "failing"
			rep.Checks[c.Name] = err.Error()
			s.log.Warn("health check failing", "check", c.Name, "err", err)
		} else {
			rep.Checks[c.Name] = "ok"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(rep)
}
