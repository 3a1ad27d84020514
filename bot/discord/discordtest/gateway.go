package discordtest

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// GatewayPath is where the stand-in serves its gateway, a WebSocket that
// speaks just enough of Discord's gateway protocol for a session to open
// (Hello, Identify, Ready), stay open (heartbeats) and receive dispatches.
const GatewayPath = "/gateway-ws"

// Gateway frames are recorded as requests with this Method, and Path "op"
// followed by the opcode, such as "op2" for Identify.
const GatewayMethod = "GATEWAY"

type gatewayConn struct {
	conn net.Conn
	rw   *bufio.ReadWriter
	mu   sync.Mutex // serialises writes
	seq  int
}

// serveGateway upgrades to a WebSocket (RFC 6455) and runs the gateway
// protocol until the client closes.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
		http.Error(w, "not a websocket request", http.StatusBadRequest)
		return
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
	if rw.Flush() != nil {
		return
	}
	gc := &gatewayConn{conn: conn, rw: rw}
	s.mu.Lock()
	s.gateway = append(s.gateway, gc)
	s.mu.Unlock()

	gc.send(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 45000}})
	for {
		op, payload, err := readFrame(rw.Reader)
		if err != nil {
			return
		}
		switch op {
		case 8: // close
			gc.write(8, payload)
			return
		case 9: // ping
			gc.write(10, payload)
			continue
		case 1, 2:
		default:
			continue
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
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.write(1, b)
}

// write sends one unmasked, unfragmented frame, as a server does.
func (c *gatewayConn) write(opcode byte, payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	hdr := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, byte(n))
	case n <= 0xFFFF:
		hdr = append(hdr, 126, byte(n>>8), byte(n))
	default:
		hdr = binary.BigEndian.AppendUint64(append(hdr, 127), uint64(n))
	}
	c.rw.Write(hdr)
	c.rw.Write(payload)
	return c.rw.Flush()
}

// readFrame reads one frame from a client (whose frames are masked).
// Fragmented messages are not needed by the gateway's small frames.
func readFrame(r *bufio.Reader) (opcode byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	opcode = h[0] & 0x0F
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return 0, nil, errors.New("frame too large")
	}
	var mask [4]byte
	masked := h[1]&0x80 != 0
	if masked {
		if _, err := io.ReadFull(r, mask[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return opcode, payload, nil
}
