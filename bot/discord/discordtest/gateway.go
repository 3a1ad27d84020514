package discordtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// GatewayPath is where the stand-in serves its gateway, a WebSocket that
// speaks just enough of Discord's gateway protocol for a session to open
// (Hello, Identify, Ready), stay open (heartbeats) and receive dispatches.
const GatewayPath = "/gateway-ws"

// Gateway frames are recorded as requests with this Method, and Path "op"
// followed by the opcode, such as "op2" for Identify.
const GatewayMethod = "GATEWAY"

type gatewayConn struct {
	ws  *websocket.Conn
	mu  sync.Mutex // serialises writes
	seq int
}

// serveGateway upgrades to a WebSocket and runs the gateway protocol until
// the client closes.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	gc := &gatewayConn{ws: ws}
	s.mu.Lock()
	s.gateway = append(s.gateway, gc)
	s.mu.Unlock()

	gc.send(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 45000}})
	for {
		// Pings and the closing handshake are answered by the library.
		_, payload, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var ev struct {
			Op int `json:"op"`
		}
		json.Unmarshal(payload, &ev)
		s.record(Request{Method: GatewayMethod, Path: "op" + strconv.Itoa(ev.Op), Body: payload})
		switch ev.Op {
		case 1: // heartbeat
			gc.send(map[string]any{"op": 11})
		case 2: // identify
			gc.dispatch("READY", map[string]any{"v": 9, "session_id": "stand-in-session", "resume_gateway_url": s.GatewayURL,
				"user": map[string]any{"id": "B0T", "username": "wikimod", "bot": true}, "guilds": []any{}})
		}
	}
}

// Dispatch sends an event (such as INTERACTION_CREATE) to every open
// gateway session.
func (s *Server) Dispatch(tb testing.TB, event string, data json.RawMessage) {
	tb.Helper()
	s.mu.Lock()
	conns := append([]*gatewayConn(nil), s.gateway...)
	s.mu.Unlock()
	if len(conns) == 0 {
		tb.Fatal("no gateway session is open")
	}
	for _, c := range conns {
		if err := c.dispatch(event, data); err != nil {
			tb.Fatalf("dispatch %s: %v", event, err)
		}
	}
}

func (c *gatewayConn) dispatch(event string, data any) error {
	c.mu.Lock()
	c.seq++
	seq := c.seq
	c.mu.Unlock()
	return c.send(map[string]any{"op": 0, "s": seq, "t": event, "d": data})
}

func (c *gatewayConn) send(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.WriteJSON(v)
}
