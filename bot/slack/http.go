package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/wikimod/wikimod/bot"
)

// maxBody bounds a request body. Slash commands are a few hundred bytes;
// a modal submission carries the view, a few kilobytes.
const maxBody = 1 << 20

// Mount implements bot.Mounter: in HTTP mode it serves Slack's slash
// commands and interactions on the shared server. In socket mode it adds
// nothing.
func (a *Adapter) Mount(mux *http.ServeMux) {
	if a.cfg.Mode != ModeHTTP {
		return
	}
	mux.HandleFunc("POST "+CommandsPath, a.serveCommand)
	mux.HandleFunc("POST "+InteractionsPath, a.serveInteraction)
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	start := arrival(r)
	if !a.verified(w, r) {
		return
	}
	cmd, err := slack.SlashCommandParse(r)
	if err != nil || cmd.UserID == "" || cmd.Command == "" {
		http.Error(w, "not a slash command", http.StatusBadRequest)
		return
	}
	ack, release := a.slash(cmd)
	writeAck(w, ack)
	release()
	a.observeAck(ackCommand, start)
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	start := arrival(r)
	if !a.verified(w, r) {
		return
	}
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "not an interaction payload", http.StatusBadRequest)
		return
	}
	ack, release := a.interaction(ic)
	writeAck(w, ack)
	release()
	a.observeAck(ackInteraction, start)
}

// arrival is when the request reached wikimod (bot.Arrival), or now for
// one that came through another server.
func arrival(r *http.Request) time.Time {
	if t := bot.Arrival(r); !t.IsZero() {
		return t
	}
	return time.Now()
}

// observeAck records how long Slack waited for its answer. Slack gives up
// after three seconds; this is the figure to watch.
func (a *Adapter) observeAck(kind string, start time.Time) {
	if a.cfg.Metrics != nil {
		a.cfg.Metrics.AckSeconds.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	}
}

// verified reads the body, checks its signature and leaves it for
// slack-go's parsers: a form is parsed here, once, into r.PostForm (which
// r.ParseForm then keeps); any other body is put back. A refused request
// gets 401, is reported as a security event, and runs nothing.
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request) bool {
	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.securityEvent(r.Context(), KindOversized, r.RemoteAddr, r.Method+" "+r.URL.Path+": body over 1 MiB")
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return false
		}
		http.Error(w, "cannot read the request", http.StatusBadRequest)
		return false
	}
	now := a.cfg.Now()
	mac := a.macs.Get().(hash.Hash)
	signed, verr := checkSignature(mac, now, r.Header, body)
	mac.Reset()
	a.macs.Put(mac)
	if verr != nil {
		a.securityEvent(r.Context(), verr.Kind, r.RemoteAddr, r.Method+" "+r.URL.Path+": "+verr.Detail)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return false
	}
	// The signature covers the timestamp and the body, so it names this
	// request: the same bytes sent again inside the window are a replay.
	// The key is the signature as verified (computed here, in one
	// spelling), never the header's text: hex reads upper- and lower-case
	// digits alike, so the header can spell one signature many ways. The
	// record outlives a restart and expires with the window.
	ts, _ := strconv.ParseInt(r.Header.Get("X-Slack-Request-Timestamp"), 10, 64)
	first, err := a.cfg.Replays.FirstSeen(r.Context(), PlatformName, signed, time.Unix(ts, 0).Add(maxSkew+time.Minute))
	if err != nil {
		a.log.Error("slack: cannot check for a replay; refusing the request", "err", err)
		http.Error(w, "cannot take requests right now", http.StatusServiceUnavailable)
		return false
	}
	if !first {
		a.securityEvent(r.Context(), KindReplay, r.RemoteAddr, r.Method+" "+r.URL.Path+": a request with this signature was already taken")
		http.Error(w, "request already received", http.StatusUnauthorized)
		return false
	}
	if !parseForm(r, body) {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return true
}

// presize bounds the buffer a body is first read into, whatever its
// (unsigned) Content-Length claims; a longer body grows it as it arrives.
const presize = 16 << 10

// readBody reads the body, up to maxBody, into a buffer sized from its
// Content-Length (with a byte to spare, to see the end without growing).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	size := 512
	if n := r.ContentLength; n >= 0 && n < presize {
		size = int(n) + 1
	}
	src := http.MaxBytesReader(w, r.Body, maxBody)
	b := make([]byte, 0, size)
	for {
		n, err := src.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// parseForm sets r.PostForm and r.Form to what r.ParseForm would make of
// body, when that is plain: a URL-encoded form (as Slack sends) that parses,
// on a URL without a query. It reports whether it did; otherwise
// r.ParseForm is left to read the body itself.
func parseForm(r *http.Request, body []byte) bool {
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.URL.RawQuery != "" {
		return false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return false
	}
	// Form is PostForm and the query's values, and there is no query.
	r.PostForm, r.Form = form, form
	return true
}

// writeAck answers Slack: 200 with ack as JSON, or an empty body for nil.
func writeAck(w http.ResponseWriter, ack any) {
	if ack == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := json.Marshal(ack)
	if err != nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
