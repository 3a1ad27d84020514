package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wikimod/wikimod/i18n"
	"github.com/wikimod/wikimod/mw"
)

// A command that a kill or crash cut short is settled at the next start
// (Settle), against the wiki's logs; its requester never had an answer.
// TellSettled gives them one, once: the settled record is marked as due to
// be told, a pass claims it (so that of several replicas one alone tells),
// a platform's Teller says privately what became of the command, and the
// record is marked told. A failed send is tried again later, a few times.

// NoticeState is how far telling a settled command's requester has got.
type NoticeState string

// The states of a settled command's notice.
const (
	// NoticeDue: the requester is to be told (again, from the time given
	// with it).
	NoticeDue NoticeState = "due"
	// NoticeSent: the requester was told.
	NoticeSent NoticeState = "sent"
	// NoticeUndeliverable: there is no way to reach the requester: no
	// adapter of their platform is configured (the console), or the
	// platform refused for good (the channel is gone).
	NoticeUndeliverable NoticeState = "undeliverable"
	// NoticeFailed: every try failed; no more are made.
	NoticeFailed NoticeState = "failed"
)

// Notice is a settled command whose requester is to be told how it ended.
type Notice struct {
	Record AuditRecord
	// Attempt counts the claims of this notice, this one included: 1 on
	// the first try.
	Attempt int
}

// NoticeStore keeps which settled commands' requesters are still to be
// told; storage.DB is one. The records UnsettledLister.Settle marks are
// due at once.
type NoticeStore interface {
	// ClaimNotices takes, for holder, up to limit notices that are due by
	// now, oldest first, and keeps them from every other claim until the
	// given time; each claim counts as an attempt. Two claims at once,
	// from two processes, never take the same notice.
	ClaimNotices(ctx context.Context, holder string, now, until time.Time, limit int) ([]Notice, error)
	// EndNotice records how telling went: NoticeSent, NoticeUndeliverable
	// or NoticeFailed for good (at is when), or NoticeDue to be tried again
	// from at. It changes nothing unless holder holds the claim.
	EndNotice(ctx context.Context, id int64, holder string, state NoticeState, at time.Time) error
}

// Teller is a platform adapter that can tell one person, privately where
// the platform allows it, about a command of theirs. Adapters that have it
// are found by type assertion.
type Teller interface {
	// TellRequester sends r to the person to names (to.UserID) in the
	// channel their command came from (to.Channel). It returns an error
	// matching ErrUndeliverable when trying again cannot help.
	TellRequester(ctx context.Context, to Actor, r Reply) error
}

// ErrUndeliverable is what a Teller's error matches when the person cannot
// be reached at all: the channel is gone, or the bot may not post there.
var ErrUndeliverable = errors.New("commands: the requester cannot be reached there")

// TellReport counts what a pass of TellSettled did.
type TellReport struct {
	Sent          int // requesters told
	Undeliverable int // requesters who cannot be reached
	Retrying      int // sends that failed, to be tried again later
	GaveUp        int // sends that failed for the last time
}

// Bounds of telling the requesters of settled commands.
const (
	noticeBatch = 10
	// noticeClaim is how long a claim keeps other replicas off a notice:
	// longer than sending a batch takes (noticeBatch sends of at most
	// noticeSendTimeout each).
	noticeClaim       = 5 * time.Minute
	noticeSendTimeout = 15 * time.Second
	// noticeTries is how many times a notice is tried; the waits between
	// tries grow from noticeRetry.
	noticeTries = 5
	noticeRetry = 30 * time.Second
)

// TellSettled tells the requester of each settled command what became of
// it, through the Teller of the record's platform, and marks each notice
// in store; holder names this process in the claims. A record from a
// platform without a Teller (the console) is marked undeliverable. Call it
// once the platforms' adapters are up, after Settle, and from time to time
// for the sends to be tried again and for what other replicas settle.
func (s *Service) TellSettled(ctx context.Context, store NoticeStore, holder string, tellers map[string]Teller) (TellReport, error) {
	var rep TellReport
	for ctx.Err() == nil {
		now := s.now()
		batch, err := store.ClaimNotices(ctx, holder, now, now.Add(noticeClaim), noticeBatch)
		if err != nil {
			return rep, fmt.Errorf("claim the notices of settled commands: %w", err)
		}
		for _, n := range batch {
			state, at := NoticeDue, s.now() // left to the next pass when ctx ends
			if ctx.Err() == nil {
				state, at = s.tell(ctx, n, tellers)
			}
			switch state {
			case NoticeSent:
				rep.Sent++
			case NoticeUndeliverable:
				rep.Undeliverable++
			case NoticeFailed:
				rep.GaveUp++
			default:
				rep.Retrying++
			}
			if err := store.EndNotice(context.WithoutCancel(ctx), n.Record.ID, holder, state, at); err != nil {
				return rep, fmt.Errorf("record the notice of audit record %d: %w", n.Record.ID, err)
			}
		}
		if len(batch) < noticeBatch {
			break
		}
	}
	return rep, nil
}

// tell sends one notice and returns the state to record, with its time.
func (s *Service) tell(ctx context.Context, n Notice, tellers map[string]Teller) (NoticeState, time.Time) {
	rec := n.Record
	teller := tellers[rec.Platform]
	if teller == nil || rec.UserID == "" {
		s.log.Info("the requester of a settled command cannot be told: wikimod has no adapter for their platform",
			"id", rec.ID, "platform", rec.Platform)
		return NoticeUndeliverable, s.now()
	}
	if n.Attempt > noticeTries {
		// Claims that ended with no word (a process that died while
		// sending) count as tries too.
		return NoticeFailed, s.now()
	}
	to := Actor{Platform: rec.Platform, UserID: rec.UserID, UserName: rec.UserName, Channel: rec.Channel}
	// In the requester's language, as the answer they never had would
	// have been.
	reply := s.localized(ctx, to, s.settledNotice(ctx, rec))
	sctx, cancel := context.WithTimeout(ctx, noticeSendTimeout)
	err := teller.TellRequester(sctx, to, reply)
	cancel()
	now := s.now()
	switch {
	case err == nil:
		s.log.Info("told the requester what became of a settled command", "id", rec.ID, "platform", rec.Platform,
			"user", rec.UserID, "command", rec.Command, "outcome", rec.Outcome, "code", rec.Code)
		return NoticeSent, now
	case errors.Is(err, ErrUndeliverable):
		s.log.Warn("the requester of a settled command cannot be told", "id", rec.ID, "platform", rec.Platform, "err", err)
		return NoticeUndeliverable, now
	case n.Attempt >= noticeTries:
		s.log.Error("could not tell the requester of a settled command; giving up", "id", rec.ID, "platform", rec.Platform,
			"tries", n.Attempt, "err", err)
		return NoticeFailed, now
	}
	wait := noticeRetry << (n.Attempt - 1)
	s.log.Warn("could not tell the requester of a settled command; will try again", "id", rec.ID, "platform", rec.Platform,
		"in", wait, "err", err)
	return NoticeDue, now.Add(wait)
}

// settledNotice is what the requester of a settled command is told: which
// command, given when, whether the wiki shows it took effect (and where),
// and what to do now. Every sentence of it is here.
func (s *Service) settledNotice(ctx context.Context, rec AuditRecord) Reply {
	if r, ok := batchNotice(rec); ok {
		return s.named(s.wikis[rec.Wiki], r)
	}
	command := describeCommand(rec)
	cut := i18n.M("wikimod-notice-cut", command, when(rec.Time))
	var entry struct {
		LogID     int64     `json:"logid"`
		Type      string    `json:"type"` // the log the settle pass looked in
		Action    string    `json:"action"`
		Timestamp time.Time `json:"timestamp"`
	}
	json.Unmarshal(rec.Result, &entry)
	logName := i18n.M("wikimod-notice-log-other")
	if key, ok := noticeLogNames[entry.Type]; ok {
		logName = i18n.M(key)
	}
	r := Reply{Command: rec.Command, Outcome: rec.Outcome, Code: rec.Code}
	switch {
	case rec.Outcome == OutcomeOK && rec.Code == "settled-from-log":
		r.Title = i18n.M("wikimod-notice-carried-out-title")
		r.Text = i18n.Sentences(cut, i18n.M("wikimod-notice-carried-out-text", logName, entry.LogID, entry.Action, when(entry.Timestamp)))
		if w, ok := s.wikis[rec.Wiki]; ok && entry.LogID > 0 {
			if site, err := w.Client.SiteInfo(ctx); err == nil {
				r.URL = site.PageURL(fmt.Sprintf("Special:Redirect/logid/%d", entry.LogID))
			}
		}
	case rec.Code == "not-run":
		r.Title = i18n.M("wikimod-notice-not-run-title")
		r.Text = i18n.M("wikimod-notice-not-run-text", command, when(rec.Time))
	case rec.Code == "not-in-log":
		r.Title = i18n.M("wikimod-notice-not-in-log-title")
		r.Text = i18n.Sentences(cut, i18n.M("wikimod-notice-not-in-log-text", logName))
	case rec.Code == "may-have-run":
		r.Title = i18n.M("wikimod-notice-unknown-title")
		r.Text = i18n.Sentences(cut, i18n.M("wikimod-notice-may-have-run-text"))
	case rec.Code == "wiki-unreachable":
		r.Title = i18n.M("wikimod-notice-unknown-title")
		r.Text = i18n.Sentences(cut, i18n.M("wikimod-notice-wiki-unreachable-text", logName))
	case rec.Code == "wiki-not-configured":
		r.Title = i18n.M("wikimod-notice-unknown-title")
		r.Text = i18n.Sentences(cut, i18n.M("wikimod-notice-wiki-not-configured-text"))
	case rec.Code == "no-change":
		r.Title = i18n.M("wikimod-notice-cut-title")
		r.Text = i18n.Sentences(cut, i18n.M("wikimod-notice-no-change-text"))
	default:
		r.Title = i18n.M("wikimod-notice-cut-title")
		r.Text = i18n.Sentences(cut, i18n.M("wikimod-notice-other-text", string(rec.Outcome), rec.Code))
	}
	return s.named(s.wikis[rec.Wiki], r)
}

// noticeLogNames name, for settledNotice, the wiki logs a settle pass
// looks in; another log is "the wiki's logs".
var noticeLogNames = map[string]string{
	mw.LogProtect:  "wikimod-notice-log-protect",
	mw.LogNewUsers: "wikimod-notice-log-newusers",
}

// describeCommand writes a settled command as it was typed, from its audit
// record: the name, the bare words, then the named arguments in order.
// What the record keeps only as a placeholder (a redacted secret, words
// that were not kept) is left out, and so are an email address and a real
// name, which the notice does not need to name the command and which a
// platform may show in a channel.
func describeCommand(rec AuditRecord) string {
	parts := []string{"/" + rec.Command}
	if v := rec.Args["_"]; v != "" && !placeholder(v) {
		parts = append(parts, QuoteArg(v))
	}
	keys := make([]string, 0, len(rec.Args))
	for k, v := range rec.Args {
		if k != "_" && k != "email" && k != "realname" && !placeholder(v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+QuoteArg(rec.Args[k]))
	}
	return strings.Join(parts, " ")
}

// placeholder reports whether an audited value stands for something not
// kept: "[redacted]", "[2 word(s) redacted]", "[unparsed]".
func placeholder(v string) bool {
	return strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") && (strings.Contains(v, "redacted") || v == "[unparsed]")
}
