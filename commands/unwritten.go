package commands

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"
)

// ErrNoAuditRecord is what an Auditor's Finish error matches when the
// record does not exist: trying again cannot help.
var ErrNoAuditRecord = errors.New("commands: no such audit record")

// ErrAuditSettled is what an Auditor's Finish error matches when the
// record exists but has ended already: another process took this one for
// dead (its lease lapsed while it was frozen or stalled) and settled the
// record from the wiki's logs (Settle), marking its requester to be told
// (TellSettled). That end stands: writing this process's cannot help, and
// its reply is not given, for the requester hears from the settle.
var ErrAuditSettled = errors.New("commands: audit record settled by another process")

// auditWriteTimeout bounds one write of an audit record's end, and the
// last try at the writes still waiting when the service closes.
const auditWriteTimeout = 5 * time.Second

// The waits between tries at the audit writes that failed, from the first
// to the longest (QueueConfig.AuditRetry may lower it).
const (
	auditRetryFirst = 200 * time.Millisecond
	auditRetryMax   = 5 * time.Second
)

// unwritten holds the ends of commands that the audit log could not take
// (the database was down, locked or unreachable) until a retry writes
// them, so that every command that was answered ends in the audit log with
// the outcome its reply gave, once the database is back, instead of staying
// queued or pending for as long as this process lives. It holds at most
// what the queue took: Submit takes no new command while it holds
// QueueConfig.Capacity records.
type unwritten struct {
	mu   sync.Mutex
	recs map[int64]*AuditRecord
	wake chan struct{} // has a value when a record was added
}

func newUnwritten() *unwritten {
	return &unwritten{recs: map[int64]*AuditRecord{}, wake: make(chan struct{}, 1)}
}

// add keeps a copy of rec, in place of any older one of its ID.
func (u *unwritten) add(rec *AuditRecord) {
	c := *rec
	u.mu.Lock()
	u.recs[rec.ID] = &c
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// written forgets the record of id once a write of it succeeded; rec is
// the copy written, or nil for a newer write, which supersedes any kept.
func (u *unwritten) written(id int64, rec *AuditRecord) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if kept, ok := u.recs[id]; ok && (rec == nil || kept == rec) {
		delete(u.recs, id)
	}
}

func (u *unwritten) len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.recs)
}

func (u *unwritten) holds(id int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.recs[id]
	return ok
}

// oldestFirst returns the records kept, by ID.
func (u *unwritten) oldestFirst() []*AuditRecord {
	u.mu.Lock()
	out := make([]*AuditRecord, 0, len(u.recs))
	for _, r := range u.recs {
		out = append(out, r)
	}
	u.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// FlushAudit writes, oldest first, the ends of commands that the audit
// log could not take when they ended, and returns how many are still
// unwritten. It stops at the first write that fails: the database is
// still away. The service calls it by itself, waiting longer between tries
// while they fail (up to QueueConfig.AuditRetry), and once more when it
// closes; a test may call it directly.
func (s *Service) FlushAudit(ctx context.Context) int {
	u := s.queue.unwritten
	for _, rec := range u.oldestFirst() {
		err := s.audit.Finish(ctx, rec)
		if err != nil && !errors.Is(err, ErrNoAuditRecord) && !errors.Is(err, ErrAuditSettled) {
			s.log.Warn("audit log still unavailable", "unwritten", u.len(), "err", err)
			break
		}
		switch {
		case errors.Is(err, ErrAuditSettled):
			s.log.Warn("audit record settled by another process before its end could be written; the settle's end stands",
				"id", rec.ID, "command", rec.Command, "outcome", rec.Outcome, "err", err)
		case err != nil:
			s.log.Error("audit record gone before its end could be written", "id", rec.ID, "command", rec.Command, "err", err)
		default:
			s.log.Info("audit record written after the audit log came back", "id", rec.ID, "command", rec.Command, "outcome", rec.Outcome)
		}
		u.written(rec.ID, rec)
	}
	return u.len()
}

// retryAudit tries the unwritten audit writes again until the queue stops:
// at once when the first arrives, then after waits that double while the
// tries fail.
func (s *Service) retryAudit() {
	q := s.queue
	defer q.wg.Done()
	longest := q.cfg.AuditRetry
	first := min(auditRetryFirst, longest)
	wait := first
	var retry <-chan time.Time // set while waiting to try again
	for {
		wake := q.unwritten.wake
		if retry != nil {
			wake = nil // a new record waits for the next try
		}
		select {
		case <-q.stopped:
			return
		case <-wake:
		case <-retry:
		}
		ctx, cancel := context.WithTimeout(context.Background(), auditWriteTimeout)
		left := s.FlushAudit(ctx)
		cancel()
		if left == 0 {
			retry, wait = nil, first
			continue
		}
		retry = time.After(wait)
		wait = min(2*wait, longest)
	}
}

// flushAtClose makes a last try at the unwritten audit writes, bounded by
// auditWriteTimeout. What is still unwritten then stays queued or pending
// in the audit log, and the next start settles it against the wiki's logs.
func (s *Service) flushAtClose() {
	if s.queue.unwritten.len() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), auditWriteTimeout)
	defer cancel()
	if left := s.FlushAudit(ctx); left > 0 {
		s.log.Error("audit records left unwritten at shutdown; the next start settles them against the wiki's logs", "unwritten", left)
	}
}
