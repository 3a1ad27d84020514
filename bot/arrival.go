package bot

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// Arrival returns when the request's first bytes reached wikimod: when its
// connection was accepted, or, on a kept-alive connection, when the
// request's first bytes were read. A handler's own clock starts later, by
// however long the request waited to be accepted, read and scheduled,
// which under a burst is most of what the sender waits. It is the zero
// time for a request that did not come through a Server.
func Arrival(r *http.Request) time.Time {
	c, ok := r.Context().Value(arrivalKey{}).(*stampedConn)
	if !ok {
		return time.Time{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

type arrivalKey struct{}

// stampedListener stamps each connection it accepts.
type stampedListener struct{ net.Listener }

func (l stampedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &stampedConn{Conn: c, at: time.Now()}, nil
}

// stampedConn knows when the request it carries arrived: at accept for
// the first, at the first read after the connection went idle for the
// next ones.
type stampedConn struct {
	net.Conn
	mu   sync.Mutex
	at   time.Time
	idle bool
}

func (c *stampedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.idle {
			c.at, c.idle = time.Now(), false
		}
		c.mu.Unlock()
	}
	return n, err
}

// stamp wires the stamping into an HTTP server.
func stamp(srv *http.Server) {
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if sc, ok := c.(*stampedConn); ok {
			return context.WithValue(ctx, arrivalKey{}, sc)
		}
		return ctx
	}
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		if sc, ok := c.(*stampedConn); ok && st == http.StateIdle {
			sc.mu.Lock()
			sc.idle = true
			sc.mu.Unlock()
		}
	}
}
