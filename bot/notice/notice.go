// Package notice posts what the bot's background work has to say (the
// reminders of an expiry, the alerts of a page in trouble) to a wiki's
// notice channels, audits each post, and reads the presses of the buttons
// such a notice carries. The reminders and the alerts keep their own rows
// and words; what posting and pressing do is written here once.
package notice

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wikimod/wikimod/commands"
	"github.com/wikimod/wikimod/i18n"
)

// Channel is one place notices are posted: a platform's notice channel.
type Channel struct {
	Name   string // stable across restarts, such as the platform's name
	Notify func(ctx context.Context, r commands.Reply) error
}

// Sent is what one post of a message to a wiki's notice channels did.
type Sent struct {
	// Reached are the channels that have the message, in the order of the
	// channels: those that had it already, and those posted to now.
	Reached []string
	// Posted are the channels posted to now.
	Posted []string
	// Failed are the channels that refused the message, or "none" where
	// there is no channel; Problems says, for each, what went wrong.
	Failed   []string
	Problems []string
}

// Problem is every failure of the post in one line, for the log and the
// database.
func (s Sent) Problem() string { return strings.Join(s.Problems, "; ") }

// Post posts msg to each of chans that has not got it yet (has says which
// have), each post bounded by timeout, and reports which it reached.
func Post(ctx context.Context, chans []Channel, msg commands.Reply, timeout time.Duration, has func(channel string) bool) Sent {
	var s Sent
	for _, c := range chans {
		if has(c.Name) {
			s.Reached = append(s.Reached, c.Name)
			continue
		}
		sendCtx, cancel := context.WithTimeout(ctx, timeout)
		err := c.Notify(sendCtx, msg)
		cancel()
		if err != nil {
			s.Failed = append(s.Failed, c.Name)
			s.Problems = append(s.Problems, c.Name+": "+sendError(err))
			continue
		}
		s.Reached = append(s.Reached, c.Name)
		s.Posted = append(s.Posted, c.Name)
	}
	if len(chans) == 0 {
		s.Failed, s.Problems = []string{"none"}, []string{"no notice channel is configured"}
	}
	return s
}

// sendError shortens a send error for the log and the database. Adapters'
// errors name the platform's error code, never a token.
func sendError(err error) string {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "timed out: " + msg
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

// Record is the audit record of a post by the bot itself (Platform
// "system"): who is the poster ("alerts", named "wikimod alerts"), command
// what it did ("alert-send"), reached the channels the message reached.
func Record(now time.Time, wiki, who, command string, reached []string, args map[string]string) *commands.AuditRecord {
	return &commands.AuditRecord{
		Time: now, Wiki: wiki, Platform: "system", UserID: who, UserName: "wikimod " + who, Channel: strings.Join(reached, ","),
		Command: command, Args: args,
	}
}

// Audit writes rec to the audit log as it begins, lets settle record the
// post's outcome (and do what must follow it) in rec, and writes rec as it
// finished. A write that fails is logged: the post happened all the same.
func Audit(ctx context.Context, a commands.Auditor, log *slog.Logger, rec *commands.AuditRecord, settle func()) {
	if err := a.Begin(ctx, rec); err != nil {
		log.Error("audit log write failed", "command", rec.Command, "err", err)
	}
	settle()
	if rec.ID != 0 {
		if err := a.Finish(ctx, rec); err != nil {
			log.Error("audit log write failed", "command", rec.Command, "err", err)
		}
	}
}

// RequestWiki returns the wiki of byName a button's request is for: the
// one the command service chose, or the only one for a request that names
// none. Where that wiki is not in byName, ok is false and name says which
// it was.
func RequestWiki[W any](req *commands.Request, byName map[string]W) (w W, name string, ok bool) {
	switch {
	case req.Wiki != nil:
		name = req.Wiki.Name
	case len(byName) == 1:
		for only := range byName {
			name = only
		}
	}
	w, ok = byName[name]
	return w, name, ok
}

// PressWords are the refusals of a button's command typed wrong, in the
// words of the notices' own catalogue: each says what was wrong and how to
// write it right.
type PressWords struct {
	Positional i18n.Message                   // a value without a name
	BadID      func(text string) i18n.Message // id= not a number
	BadDo      func(do string) i18n.Message   // do= not one of dos
}

// ReadPress reads the do= and id= of a button's command (or one typed out),
// which takes named values only and acts on the row numbered id: do must
// be one of dos.
func ReadPress(req *commands.Request, dos []string, words PressWords) (do string, id int64, err error) {
	if len(req.Args.Positional) > 0 {
		return "", 0, Usage(words.Positional)
	}
	do, _ = req.Args.Get("do")
	idText, _ := req.Args.Get("id")
	id, err = strconv.ParseInt(strings.TrimSpace(idText), 10, 64)
	if err != nil || id <= 0 {
		return "", 0, Usage(words.BadID(idText))
	}
	if !slices.Contains(dos, do) {
		return "", 0, Usage(words.BadDo(do))
	}
	return do, id, nil
}

// Usage is a refusal of how a command was written: m says what was wrong
// and how to write it right.
func Usage(m i18n.Message) error {
	return &commands.Error{Outcome: commands.OutcomeInvalid, Code: "usage", Message: m}
}
