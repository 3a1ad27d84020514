package slack

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// acker acknowledges Socket Mode requests; *socketmode.Client is one.
type acker interface {
	Ack(req socketmode.Request, payload ...any) error
}

// runSocket holds the Socket Mode connection until ctx is done. Slack sends
// the same slash commands and interactions as over HTTP, authenticated by
// the app-level token instead of a signature, and each is acknowledged over
// the socket with the same answer the HTTP handler would give.
func (a *Adapter) runSocket(ctx context.Context) error {
	sm := socketmode.New(a.client, socketmode.OptionLog(slogOutput{a.log}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-sm.Events:
				a.handleSocketEvent(evt, sm)
			}
		}
	}()
	err := sm.RunContext(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("slack: socket mode: %w", err)
}

// handleSocketEvent handles one event from the Socket Mode client.
func (a *Adapter) handleSocketEvent(evt socketmode.Event, sm acker) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.log.Info("slack: connecting to Socket Mode")
	case socketmode.EventTypeConnected:
		a.log.Info("slack: connected to Socket Mode")
	case socketmode.EventTypeConnectionError:
		a.log.Warn("slack: Socket Mode connection failed; retrying", "err", evt.Data)
	case socketmode.EventTypeInvalidAuth:
		a.log.Error("slack: Slack refused the app-level token (slack.app_token); it needs the connections:write scope")
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		ack, release := a.slash(cmd)
		a.ack(sm, *evt.Request, ack)
		release()
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		req := *evt.Request
		// A modal submission may wait for the wiki; the other events must
		// not wait behind it.
		a.track(func() {
			ack, release := a.interaction(ic)
			a.ack(sm, req, ack)
			release()
		})
	case socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			a.ack(sm, *evt.Request, nil)
		}
	}
}

func (a *Adapter) ack(sm acker, req socketmode.Request, payload any) {
	var err error
	if payload == nil {
		err = sm.Ack(req)
	} else {
		err = sm.Ack(req, payload)
	}
	if err != nil {
		a.log.Error("slack: could not acknowledge a Socket Mode request", "type", req.Type, "err", err)
	}
}

// track runs f in a goroutine that Close waits for, outside the bound on
// commands in flight (f may wait for a command that needs a place there).
func (a *Adapter) track(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// slogOutput passes slack-go's log lines to the adapter's logger at debug
// level.
type slogOutput struct{ log *slog.Logger }

func (o slogOutput) Output(_ int, s string) error {
	if o.log.Enabled(context.Background(), slog.LevelDebug) {
		o.log.Debug("slack-go: " + strings.TrimSpace(s))
	}
	return nil
}
