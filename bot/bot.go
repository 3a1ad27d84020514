// Package bot is wikimod's runtime: the HTTP server that platform adapters
// mount their endpoints on, health and metrics, and the interfaces adapters
// implement. Each chat platform lives in its own subpackage (bot/console,
// bot/discord, bot/slack) and is the only place its SDK is used.
package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
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
	// Soft marks a check whose failure degrades the service without
	// stopping it (one wiki of several is down): /healthz then reports
	// "degraded" and still answers 200.
	Soft bool
}

// CachedCheck returns a health check that runs probe at most once every
// interval, under timeout, and otherwise answers with the last result:
// however often /healthz is asked, the thing checked sees a bounded number
// of requests. Concurrent callers share one probe.
func CachedCheck(name string, every, timeout time.Duration, now func() time.Time, probe func(ctx context.Context) error) Check {
	if now == nil {
		now = time.Now
	}
	var (
		mu   sync.Mutex
		last time.Time
		err  error
	)
	return Check{Name: name, Func: func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if !last.IsZero() && now().Sub(last) < every {
			return err
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		err = probe(pctx)
		last = now()
		return err
	}}
}

// ServerConfig configures a Server.
type ServerConfig struct {
	Listen string // e.g. 127.0.0.1:8080
	// AdminListen, when set, serves /healthz and /metrics on a separate
	// address (a loopback one, say) instead of Listen, which Slack and
	// Discord reach.
	AdminListen string
	// Profiling serves Go's profiles (/debug/pprof/) on AdminListen; it
	// needs AdminListen, so they are never on the address the platforms
	// reach.
	Profiling bool
	Metrics   *Metrics
	Checks    []Check
	// Info is reported by /healthz as it is: what serves (the storage
	// backend, say), never a secret.
	Info   map[string]string
	Logger *slog.Logger
}

// Server is the HTTP server adapters mount on, with /healthz and /metrics
// on it or on a separate admin address.
type Server struct {
	mux     *http.ServeMux
	srv     *http.Server
	ln      net.Listener
	admin   *http.Server // nil without AdminListen
	adminLn net.Listener
	checks  []Check
	info    map[string]string
	log     *slog.Logger
	once    sync.Once
}

// NewServer returns a server; Start listens.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{mux: http.NewServeMux(), checks: cfg.Checks, info: cfg.Info, log: cfg.Logger}
	s.srv = newHTTPServer(cfg.Listen, s.mux)
	stamp(s.srv)
	adminMux := s.mux
	if cfg.AdminListen != "" {
		adminMux = http.NewServeMux()
		s.admin = newHTTPServer(cfg.AdminListen, adminMux)
		if cfg.Profiling {
			adminMux.HandleFunc("GET /debug/pprof/", pprof.Index)
			adminMux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
			adminMux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
			adminMux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
			adminMux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		}
	}
	adminMux.HandleFunc("GET /healthz", s.health)
	if cfg.Metrics != nil {
		adminMux.Handle("GET /metrics", cfg.Metrics)
	}
	return s
}

func newHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

// Mux returns the server's router, for adapters to mount on.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Start listens and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return err
	}
	s.ln = stampedListener{ln}
	s.serve(s.srv, s.ln, "http server listening")
	if s.admin != nil {
		if s.adminLn, err = net.Listen("tcp", s.admin.Addr); err != nil {
			ln.Close()
			return fmt.Errorf("admin listener: %w", err)
		}
		s.serve(s.admin, s.adminLn, "admin server (healthz, metrics) listening")
	}
	return nil
}

func (s *Server) serve(srv *http.Server, ln net.Listener, msg string) {
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "addr", srv.Addr, "err", err)
		}
	}()
	s.log.Info(msg, "addr", ln.Addr().String())
}

// Addr returns the address the server listens on, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// AdminAddr returns the address /healthz and /metrics are served on, once
// started: the admin address if one is set, else Addr.
func (s *Server) AdminAddr() string {
	if s.adminLn == nil {
		return s.Addr()
	}
	return s.adminLn.Addr().String()
}

// Close stops the server, letting requests in flight finish until ctx ends.
// It is safe to call twice.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		err = s.srv.Shutdown(ctx)
		if s.admin != nil {
			err = errors.Join(err, s.admin.Shutdown(ctx))
		}
	})
	return err
}

type healthReport struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
	Info   map[string]string `json:"info,omitempty"`
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	rep := healthReport{Status: "ok", Checks: map[string]string{}, Info: s.info}
	failing := false
	for _, c := range s.checks {
		if err := c.Func(ctx); err != nil {
			// The log says what /healthz says of the check: a soft one
			// degrades the service, any other fails it.
			msg := "health check failing"
			if c.Soft {
				rep.Status = "degraded"
				msg = "health check degraded"
			} else {
				failing = true
			}
			rep.Checks[c.Name] = err.Error()
			s.log.Warn(msg, "check", c.Name, "err", err)
		} else {
			rep.Checks[c.Name] = "ok"
		}
	}
	if failing {
		rep.Status = "failing"
	}
	w.Header().Set("Content-Type", "application/json")
	if failing {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(rep)
}
