package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	wikislack "github.com/wikimod/wikimod/bot/slack"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

const appToken = "xapp-test"

func socketHarness(t *testing.T) *harness {
	return newHarness(t, testenv.Options{}, func(c *wikislack.Config) {
		c.Mode = wikislack.ModeSocket
		c.AppToken = appToken
		c.SigningSecret = ""
	})
}

// socketAck is one acknowledgement sent over the socket.
type socketAck struct {
	EnvelopeID string
	Payload    string // JSON; empty for none
}

func collectAcks() (wikislack.AckFunc, chan socketAck) {
	acks := make(chan socketAck, 10)
	return func(req socketmode.Request, payload ...any) error {
		a := socketAck{EnvelopeID: req.EnvelopeID}
		if len(payload) > 0 && payload[0] != nil {
			b, _ := json.Marshal(payload[0])
			a.Payload = string(b)
		}
		acks <- a
		return nil
	}, acks
}

func nextAck(t *testing.T, acks chan socketAck) socketAck {
	t.Helper()
	select {
	case a := <-acks:
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("no acknowledgement")
	}
	return socketAck{}
}

// socketEvent builds the event socketmode.Client emits for a request, by
// decoding the payload as it does.
func socketEvent(t *testing.T, typ, envelope string, payload any) socketmode.Event {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	req := &socketmode.Request{Type: typ, EnvelopeID: envelope, Payload: raw, AcceptsResponsePayload: true}
	switch typ {
	case socketmode.RequestTypeSlashCommands:
		var cmd slackapi.SlashCommand
		if err := json.Unmarshal(raw, &cmd); err != nil {
			t.Fatal(err)
		}
		return socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd, Request: req}
	case socketmode.RequestTypeInteractive:
		var ic slackapi.InteractionCallback
		if err := json.Unmarshal(raw, &ic); err != nil {
			t.Fatal(err)
		}
		return socketmode.Event{Type: socketmode.EventTypeInteractive, Data: ic, Request: req}
	}
	t.Fatalf("type %s", typ)
	return socketmode.Event{}
}

// slashPayload is a slash command as Socket Mode carries it: the HTTP
// form's fields as a JSON object.
func slashPayload(form map[string][]string) map[string]string {
	out := map[string]string{}
	for k, v := range form {
		out[k] = v[0]
	}
	return out
}

// TestSocketModeEventHandling drives the Socket Mode event handler with the
// events slack-go emits: a slash command is acknowledged over the socket and
// its result arrives at the response URL; a modal flow acknowledges the
// submission with the modal's errors.
func TestSocketModeEventHandling(t *testing.T) {
	h := socketHarness(t)
	ack, acks := collectAcks()

	form := h.slashForm("U-ADMIN", "/protect", `"Socket Page" create=sysop expiry="1 day"`)
	h.ad.HandleSocketEvent(socketEvent(t, "slash_commands", "env-1", slashPayload(form)), ack)
	if a := nextAck(t, acks); a.EnvelopeID != "env-1" || a.Payload != `{"response_type":"ephemeral","text":"Working on /protect…"}` {
		t.Errorf("ack = %+v", a)
	}
	res := h.slack.waitWebhook(t, form.Get("response_url"))
	if !strings.Contains(res.text(), "Protection of Socket Page changed.") {
		t.Errorf("result = %q", res.text())
	}
	if p := h.env.Protections(t, "Socket Page")["create"]; p.Level != "sysop" {
		t.Errorf("protection = %+v", p)
	}

	person := testwait.Unique("Socket Person ")
	form = h.slashForm("U-ADMIN", "/createaccount", `"`+person+`"`)
	h.ad.HandleSocketEvent(socketEvent(t, "slash_commands", "env-2", slashPayload(form)), ack)
	if a := nextAck(t, acks); a.EnvelopeID != "env-2" || a.Payload != "" {
		t.Errorf("ack before the modal = %+v", a)
	}
	open := h.slack.waitCall(t, "views.open", 1)
	view := open.JSON["view"].(map[string]any)
	submission := func(envelope, password string) socketmode.Event {
		return socketEvent(t, "interactive", envelope, map[string]any{
			"type": "view_submission",
			"user": map[string]any{"id": "U-ADMIN", "name": "admin"},
			"view": map[string]any{"callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
				"state": map[string]any{"values": map[string]any{"secret": map[string]any{"value": map[string]any{"type": "plain_text_input", "value": password}}}}},
		})
	}
	h.ad.HandleSocketEvent(submission("env-3", "password123"), ack)
	if a := nextAck(t, acks); a.EnvelopeID != "env-3" || !strings.Contains(a.Payload, `"response_action":"errors"`) || !strings.Contains(a.Payload, `"secret"`) {
		t.Errorf("ack of a rejected password = %+v", a)
	}
	h.ad.HandleSocketEvent(submission("env-4", "Socket-person-pass-5151"), ack)
	if a := nextAck(t, acks); a.EnvelopeID != "env-4" || a.Payload != "" {
		t.Errorf("ack of a good password = %+v", a)
	}
	res = h.slack.waitWebhook(t, form.Get("response_url"))
	if !strings.Contains(res.text(), "Account "+person+" created.") {
		t.Errorf("result = %q", res.text())
	}
}

// TestSocketModeOverWebSocket runs the adapter's Socket Mode loop against a
// local stand-in for Slack's Socket Mode: apps.connections.open with the
// app-level token, a WebSocket that says hello and delivers a slash command,
// and the acknowledgement that comes back on it.
func TestSocketModeOverWebSocket(t *testing.T) {
	h := socketHarness(t)
	ws := &wsStandIn{acks: make(chan map[string]any, 10)}
	form := h.slashForm("U-ADMIN", "/help", "protect")
	ws.send = []any{
		map[string]any{"type": "hello", "num_connections": 1},
		map[string]any{"type": "slash_commands", "envelope_id": "env-ws-1", "accepts_response_payload": true, "payload": slashPayload(form)},
	}
	h.slack.srv.Config.Handler.(*http.ServeMux).HandleFunc("POST /api/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+appToken {
			io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
			return
		}
		fmt.Fprintf(w, `{"ok":true,"url":"ws://%s/ws"}`, h.slack.srv.Listener.Addr())
	})
	h.slack.srv.Config.Handler.(*http.ServeMux).HandleFunc("GET /ws", ws.serve)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.ad.Run(ctx) }()

	var ack map[string]any
	select {
	case ack = <-ws.acks:
	case <-time.After(30 * time.Second):
		t.Fatal("no acknowledgement over the WebSocket")
	}
	if ack["envelope_id"] != "env-ws-1" || !strings.Contains(fmt.Sprint(ack["payload"]), "Working on /help") {
		t.Errorf("ack = %v", ack)
	}
	res := h.slack.waitWebhook(t, form.Get("response_url"))
	if !strings.Contains(res.text(), "/protect TITLE") {
		t.Errorf("result = %q", res.text())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
}

// wsStandIn stands in for Slack's Socket Mode endpoint: it sends its
// messages once the client connects and passes on what the client sends.
type wsStandIn struct {
	send []any
	acks chan map[string]any
	once sync.Once
}

func (s *wsStandIn) serve(w http.ResponseWriter, r *http.Request) {
	// slack-go dials with Origin https://api.slack.com, as a client of
	// Slack's own endpoint would; this stand-in is that endpoint.
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	s.once.Do(func() {
		for _, m := range s.send {
			if ws.WriteJSON(m) != nil {
				return
			}
		}
	})
	for {
		// Pings and the closing handshake are answered by the library.
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			return
		}
		s.acks <- m
	}
}
