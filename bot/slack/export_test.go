package slack

import (
	"net/http"
	"time"

	"github.com/slack-go/slack/socketmode"
)

// VerifySignature exposes the signature check to the external tests. It
// returns the kind of refusal, or "" for a good signature.
func VerifySignature(secret string, now time.Time, header http.Header, body []byte) string {
	if err := verifySignature(secret, now, header, body); err != nil {
		return err.Kind
	}
	return ""
}

// AckFunc acknowledges a Socket Mode request, as socketmode.Client.Ack does.
type AckFunc func(req socketmode.Request, payload ...any) error

// Ack implements acker.
func (f AckFunc) Ack(req socketmode.Request, payload ...any) error { return f(req, payload...) }

// HandleSocketEvent runs the Socket Mode event handler on an event built by
// a test.
func (a *Adapter) HandleSocketEvent(evt socketmode.Event, ack AckFunc) { a.handleSocketEvent(evt, ack) }
