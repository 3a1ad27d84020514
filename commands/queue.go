package commands

import (
	"container/list"
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/wikimod/wikimod/i18n"
)

// Job is a command a chat platform has received and is about to
// acknowledge. It waits in the service's queue for its turn; when it has run
// (or has been refused), Deliver sends the one final reply.
type Job struct {
	Actor Actor
	// Line is a typed command line (Slack's text). When it is empty, Name
	// and Args are the command (Discord's options, a button).
	Line string
	Name string
	Args Args
	// AnswerWithin is how long after it is submitted the platform still
	// takes the reply: Slack's response_url lives 30 minutes, Discord's
	// interaction token 15. A job that cannot start early enough to run and
	// answer within it is refused instead. Zero means only
	// QueueConfig.MaxWait applies.
	AnswerWithin time.Duration
	// Prepare, if set, fills in what is costly to learn about the actor
	// (a platform's user groups) when the job's turn comes, so that
	// acknowledging the job never waits for it.
	Prepare func(ctx context.Context, actor *Actor)
	// Acked, if set, is closed once the platform's acknowledgement has gone
	// out: Deliver is not called before that (or before its context ends),
	// so that a reply never arrives ahead of the "working on it" it follows
	// or edits.
	Acked <-chan struct{}
	// Deliver sends the final reply. The queue calls it exactly once for
	// every job Submit accepted, with a context of its own (not the
	// command's, which may have expired) bounded by
	// QueueConfig.DeliverTimeout.
	Deliver func(ctx context.Context, r Reply)
	// Progress, if set, shows the person how a long command goes (a batch
	// of pages) before its final reply: each call replaces what the last
	// showed, where the platform can (Discord's and Slack's response is
	// edited; the console prints). The final reply replaces it in turn.
	Progress func(ctx context.Context, r Reply)
}

// QueueConfig bounds the work waiting for the wiki. The zero value is safe.
type QueueConfig struct {
	// Workers is how many commands run at once, over every wiki. On each
	// wiki at most Wiki.MaxConcurrent of them run (Workers where that is
	// zero), and one of those is the writer: commands that change a wiki
	// run one at a time, in the order they arrived, as MediaWiki's API
	// etiquette asks. Zero means 4; the minimum is 2 (one writer, one
	// reader).
	Workers int
	// Capacity is how many commands may wait; past it, new ones are
	// refused at once ("busy"). Zero means 10,000.
	Capacity int
	// MaxWait is the longest a command waits for its turn before it is
	// refused with a reply saying so. Zero means 10 minutes.
	MaxWait time.Duration
	// DeliverTimeout bounds sending one reply. Zero means 15 seconds.
	DeliverTimeout time.Duration
	// SweepEvery is how often waiting commands are checked against their
	// limits. Zero means one second.
	SweepEvery time.Duration
	// AuditRetry is the longest wait between tries at writing the ends of
	// commands that the audit log could not take (see
	// Service.FlushAudit). Zero means 5 seconds.
	AuditRetry time.Duration
}

// prepareTimeout bounds Job.Prepare.
const prepareTimeout = 10 * time.Second

// item is one accepted job in the queue.
type item struct {
	job       Job
	name      string
	args      Args
	parseErr  error
	wiki      *Wiki // nil when none could be chosen: wikiErr says why
	wikiErr   error
	write     bool
	rec       *AuditRecord
	accepted  time.Time
	waitUntil time.Time // refused if its turn has not come by then
}

// queue holds the jobs waiting for the wikis. Each wiki has two lanes:
// writes, run one at a time in arrival order, and everything else, run
// beside them up to the wiki's limit. A pool of workers serves the wikis
// with waiting jobs in turn, so a wiki that is slow or down holds at most
// its own limit of workers and never stops the others. Waiting costs one
// item, not a goroutine.
type queue struct {
	cfg QueueConfig

	mu      sync.Mutex
	cond    *sync.Cond
	lanes   map[string]*lanes // by wiki name; "" holds jobs with no wiki
	active  []*lanes          // the lanes with waiting jobs, served in turn
	next    int               // where the next turn starts in active
	waiting int
	closed  bool
	running int

	refusals chan refusal // refused jobs, answered by the deliverers
	ctx      context.Context
	cancel   context.CancelFunc // cancels the commands still running at a hard stop
	wg       sync.WaitGroup     // the workers, the sweeper and the audit retrier
	dwg      sync.WaitGroup     // the deliverers
	stopped  chan struct{}      // closed when the sweeper and the audit retrier should stop

	// unwritten holds the ends of commands the audit log could not take,
	// until they are written.
	unwritten *unwritten
}

type refusal struct {
	it    *item
	reply Reply
}

// lanes are one wiki's waiting jobs and what of it is running.
type lanes struct {
	writes, reads *list.List
	limit         int  // commands at once on the wiki, the writer included
	writing       bool // a write is running
	reading       int  // reads running
	active        bool // in queue.active
}

func (l *lanes) len() int { return l.writes.Len() + l.reads.Len() }

// lanesFor returns the lanes of the item's wiki, creating them. Callers
// hold q.mu.
func (q *queue) lanesFor(it *item) *lanes {
	name, limit := "", q.cfg.Workers
	if it.wiki != nil {
		name = it.wiki.Name
		if it.wiki.MaxConcurrent > 0 {
			limit = it.wiki.MaxConcurrent
		}
	}
	l := q.lanes[name]
	if l == nil {
		l = &lanes{writes: list.New(), reads: list.New(), limit: max(limit, 2)}
		q.lanes[name] = l
	}
	return l
}

// push queues an item. Callers hold q.mu.
func (q *queue) push(it *item) {
	l := q.lanesFor(it)
	if it.write {
		l.writes.PushBack(it)
	} else {
		l.reads.PushBack(it)
	}
	q.waiting++
	if !l.active {
		l.active = true
		q.active = append(q.active, l)
	}
}

// pick takes the next job that may run now, serving the wikis with waiting
// jobs in turn, and marks it running; nil if none may. Callers hold q.mu.
func (q *queue) pick() (*item, *lanes) {
	for n := range len(q.active) {
		i := (q.next + n) % len(q.active)
		l := q.active[i]
		var e *list.Element
		switch {
		case l.writes.Len() > 0 && !l.writing:
			e = l.writes.Front()
			l.writes.Remove(e)
			l.writing = true
		case l.reads.Len() > 0 && l.reading < l.limit-1:
			e = l.reads.Front()
			l.reads.Remove(e)
			l.reading++
		default:
			continue
		}
		q.waiting--
		if l.len() == 0 {
			l.active = false
			q.active = append(q.active[:i], q.active[i+1:]...)
			q.next = i
		} else {
			q.next = i + 1
		}
		if len(q.active) > 0 {
			q.next %= len(q.active)
		} else {
			q.next = 0
		}
		return e.Value.(*item), l
	}
	return nil, nil
}

// done marks a job of l no longer running. Callers hold q.mu.
func (q *queue) done(it *item, l *lanes) {
	if it.write {
		l.writing = false
	} else {
		l.reading--
	}
}

// drain removes the waiting items for which keep is false, and returns
// them. Callers hold q.mu.
func (q *queue) drain(keep func(*item) bool) []*item {
	var out []*item
	for _, l := range q.active {
		for _, lane := range []*list.List{l.writes, l.reads} {
			for e := lane.Front(); e != nil; {
				next := e.Next()
				if it := e.Value.(*item); !keep(it) {
					lane.Remove(e)
					out = append(out, it)
				}
				e = next
			}
		}
	}
	q.waiting -= len(out)
	kept := q.active[:0]
	for _, l := range q.active {
		if l.len() > 0 {
			kept = append(kept, l)
		} else {
			l.active = false
		}
	}
	clear(q.active[len(kept):])
	q.active = kept
	q.next = 0
	return out
}

func newQueue(cfg QueueConfig) *queue {
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	cfg.Workers = max(cfg.Workers, 2)
	if cfg.Capacity <= 0 {
		cfg.Capacity = 10000
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 10 * time.Minute
	}
	if cfg.DeliverTimeout <= 0 {
		cfg.DeliverTimeout = 15 * time.Second
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Second
	}
	if cfg.AuditRetry <= 0 {
		cfg.AuditRetry = auditRetryMax
	}
	q := &queue{cfg: cfg, lanes: map[string]*lanes{}, refusals: make(chan refusal, 64), stopped: make(chan struct{}),
		unwritten: newUnwritten()}
	q.cond = sync.NewCond(&q.mu)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	return q
}

// startQueue starts the workers, the sweeper, the audit retrier and the
// deliverers.
func (s *Service) startQueue() {
	q := s.queue
	q.wg.Add(q.cfg.Workers + 2)
	for range q.cfg.Workers {
		go s.worker()
	}
	go s.sweeper()
	go s.retryAudit()
	const deliverers = 4
	q.dwg.Add(deliverers)
	for range deliverers {
		go func() {
			defer q.dwg.Done()
			for r := range q.refusals {
				s.finishRefused(r.it, r.reply)
			}
		}()
	}
}

// Submit accepts a job for the queue, auditing it as queued, and reports
// true; the job's Deliver is then called exactly once with the final reply.
// It reports false, with the reply to give at once instead of an
// acknowledgement, when the job cannot be accepted: the queue is full,
// wikimod is stopping, or the audit log cannot take it (it fails, or the
// ends of as many commands as the queue holds wait for it to come back).
// Such an attempt is audited too where the audit log works, and Deliver is
// not called.
func (s *Service) Submit(ctx context.Context, job Job) (Reply, bool) {
	reply, taken := s.submit(ctx, job)
	if !taken {
		reply = s.localized(ctx, job.Actor, reply)
	}
	return reply, taken
}

func (s *Service) submit(ctx context.Context, job Job) (Reply, bool) {
	it := &item{job: job, name: job.Name, args: job.Args}
	if job.Line != "" {
		it.name, it.args, it.parseErr = ParseLine(job.Line)
		if it.parseErr != nil {
			it.name = unparsedName(job.Line)
		}
	}
	it.name = normalizeName(it.name)
	// A person past their limit is refused before anything is done for
	// them: no permission check, no wiki, no queue.
	if reply, over := s.overLimit(ctx, job.Actor, it.name, it.args); over {
		return reply, false
	}
	cmd, known := s.commands[it.name]
	if it.parseErr == nil {
		it.args, it.parseErr = foldFlags(cmd.Spec, it.args)
	}
	if it.parseErr == nil {
		// The wiki is chosen now: it decides the lane, and the audit row
		// names it from the start.
		it.wiki, it.wikiErr = s.chooseWikiFor(ctx, job.Actor, cmd.Spec, &it.args)
	}
	it.rec = s.newRecord(job.Actor, it.name, it.args, cmd.Spec)
	if it.wiki != nil {
		it.rec.Wiki = it.wiki.Name
	}
	if it.parseErr != nil {
		it.rec.Args = map[string]string{"_": "[unparsed]"}
	}
	q := s.queue
	now := s.now()
	it.accepted = now
	it.waitUntil = now.Add(q.cfg.MaxWait)
	if job.AnswerWithin > 0 {
		// Leave room to run the command, find out what happened if the
		// wiki's answer is lost, and deliver the reply.
		latest := now.Add(job.AnswerWithin - (s.timeout + settleTimeout + q.cfg.DeliverTimeout))
		if latest.Before(it.waitUntil) {
			it.waitUntil = latest
		}
	}
	it.rec.Outcome = OutcomeQueued
	if n := q.unwritten.len(); n >= q.cfg.Capacity {
		s.log.Error("audit log unavailable; refusing the command", "command", it.name, "actor", job.Actor.String(),
			"unwritten", n)
		reply := auditUnavailable(it.name)
		s.observeDone(it.wiki, it.name, reply.Outcome, now)
		return reply, false
	}
	if err := s.audit.Begin(ctx, it.rec); err != nil {
		s.log.Error("audit log unavailable; refusing the command", "command", it.name, "actor", job.Actor.String(), "err", err)
		reply := auditUnavailable(it.name)
		s.observeDone(it.wiki, it.name, reply.Outcome, now)
		return reply, false
	}
	it.write = known && cmd.Spec.Write && it.parseErr == nil && it.wiki != nil && (cmd.Spec.WritesWith == nil || cmd.Spec.WritesWith(it.args))
	q.mu.Lock()
	var refusal Reply
	switch {
	case q.closed:
		refusal = stoppingReply(it.name)
	case q.waiting >= q.cfg.Capacity:
		refusal = Reply{Command: it.name, Outcome: OutcomeFailed, Code: "busy", Title: i18n.M("wikimod-nothing-done-title"),
			Text: i18n.M("wikimod-queue-busy-text", q.cfg.Capacity)}
	default:
		q.push(it)
		q.cond.Broadcast()
		q.mu.Unlock()
		return Reply{}, true
	}
	q.mu.Unlock()
	s.finishRecord(it.wiki, it.rec, s.named(it.wiki, refusal), now, nil)
	return refusal, false
}

func stoppingReply(name string) Reply {
	return Reply{Command: name, Outcome: OutcomeFailed, Code: "stopping", Title: i18n.M("wikimod-nothing-done-title"),
		Text: i18n.M("wikimod-queue-stopping-text")}
}

func auditUnavailable(name string) Reply {
	return Reply{Command: name, Outcome: OutcomeFailed, Code: "audit-unavailable", Title: i18n.M("wikimod-nothing-done-title"),
		Text: i18n.M("wikimod-audit-unavailable-text")}
}

// worker runs jobs as the wikis' lanes let them, until the queue is closed
// and empty.
func (s *Service) worker() {
	q := s.queue
	defer q.wg.Done()
	for {
		q.mu.Lock()
		it, l := q.pick()
		for it == nil && !(q.closed && q.waiting == 0) {
			q.cond.Wait()
			it, l = q.pick()
		}
		if it == nil {
			q.mu.Unlock()
			return
		}
		q.running++
		q.mu.Unlock()

		if !s.now().Before(it.waitUntil) {
			s.finishRefused(it, s.waitedTooLong(it))
		} else {
			s.runItem(it)
		}
		q.mu.Lock()
		q.running--
		q.done(it, l)
		q.cond.Broadcast() // the wiki may take another job now
		q.mu.Unlock()
	}
}

// runItem runs one job whose turn has come: its deadline starts now. Its
// reply is not delivered when another process settled its audit record
// first, taking this one for dead: that settle's notice tells the
// requester, who hears once.
func (s *Service) runItem(it *item) {
	start := s.now()
	var reply Reply
	after := func() {}
	// ended is set once the record's end is written (or another's stands).
	var ended, settled bool
	finish := func(r Reply) {
		reply, ended = r, true
		settled = !s.finishRecord(it.wiki, it.rec, r, start, nil)
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				r := s.panicked(it.name, p, secretValues(s.commands[it.name].Spec, it.args))
				if ended {
					// After the command's end was written (as its
					// reply was localized): it stands.
					reply = r
					return
				}
				finish(r)
			}
		}()
		if err := s.audit.Start(s.queue.ctx, it.rec.ID); err != nil {
			s.log.Error("audit log unavailable; not running a queued command", "command", it.name, "err", err)
			finish(auditUnavailable(it.name))
			return
		}
		if it.parseErr != nil {
			finish(parseErrorReply(it.name, it.parseErr))
			return
		}
		if it.wikiErr != nil {
			finish(s.errorReply(it.name, it.wikiErr, nil))
			return
		}
		actor := it.job.Actor
		if it.job.Prepare != nil {
			pctx, cancel := context.WithTimeout(s.queue.ctx, prepareTimeout)
			it.job.Prepare(pctx, &actor)
			cancel()
		}
		reply, after, settled = s.executeBegun(s.queue.ctx, actor, it.wiki, it.name, it.args, it.rec, start, s.progressOf(it, actor))
		ended = true
		// In the language of the actor as Prepare completed them (a
		// platform's locale may be learnt there, as Slack's is).
		reply = s.localized(s.queue.ctx, actor, reply)
	}()
	if !settled {
		s.deliver(it, reply)
	}
	after()
}

// waitedTooLong is the reply to a job whose turn did not come in time.
func (s *Service) waitedTooLong(it *item) Reply {
	waited := i18n.Duration(s.now().Sub(it.accepted))
	text := i18n.M("wikimod-queue-waited-too-long-text", it.name, waited)
	if page := it.rec.Args["title"] + it.rec.Args["_"]; page != "" && s.commands[it.name].Spec.Positional == "title" {
		text = i18n.M("wikimod-queue-waited-too-long-page-text", it.name, page, waited)
	}
	return Reply{Command: it.name, Outcome: OutcomeFailed, Code: "waited-too-long", Title: i18n.M("wikimod-nothing-done-title"), Text: text}
}

// finishRefused audits a queued job as refused and delivers the refusal.
// Finish takes the row straight from queued: the command never started.
// Where another process settled the row first (as not run), its notice
// tells the requester instead.
func (s *Service) finishRefused(it *item, reply Reply) {
	reply = s.named(it.wiki, reply)
	if s.finishRecord(it.wiki, it.rec, reply, it.accepted, nil) {
		s.deliver(it, reply)
	}
}

// deliver sends a job's reply with a context of its own.
func (s *Service) deliver(it *item, reply Reply) {
	if it.job.Deliver == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.queue.cfg.DeliverTimeout)
	defer cancel()
	if it.job.Acked != nil {
		select {
		case <-it.job.Acked:
		case <-ctx.Done():
		}
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("delivering a reply panicked", "command", it.name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	it.job.Deliver(ctx, s.localized(ctx, it.job.Actor, reply))
}

// sweeper refuses waiting jobs whose time is up, so that a moderator hears
// it when their command will not run, not when the wiki comes back.
func (s *Service) sweeper() {
	qu := s.queue
	defer qu.wg.Done()
	t := time.NewTicker(qu.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-qu.stopped:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Sweep refuses every waiting job whose wait limit has passed. The queue
// calls it every QueueConfig.SweepEvery; tests with an injected clock call
// it directly.
func (s *Service) Sweep() {
	qu := s.queue
	now := s.now()
	var expired []*item
	qu.mu.Lock()
	expired = qu.drain(func(it *item) bool { return now.Before(it.waitUntil) })
	qu.mu.Unlock()
	for _, it := range expired {
		qu.refusals <- refusal{it: it, reply: s.waitedTooLong(it)}
	}
}

// QueueLen returns how many commands wait and how many run.
func (s *Service) QueueLen() (waiting, running int) {
	qu := s.queue
	qu.mu.Lock()
	defer qu.mu.Unlock()
	return qu.waiting, qu.running
}

// Close stops taking commands, answers every waiting one that it was not
// run ("wikimod is stopping"), and waits for the running ones until ctx is
// done; those still running then are cancelled, and each still gets its
// reply and audit row. The ends of commands the audit log could not take
// are tried once more. It is safe to call twice.
func (s *Service) Close(ctx context.Context) error {
	qu := s.queue
	qu.mu.Lock()
	if qu.closed {
		qu.mu.Unlock()
		return nil
	}
	qu.closed = true
	waiting := qu.drain(func(*item) bool { return false })
	qu.cond.Broadcast()
	qu.mu.Unlock()
	close(qu.stopped)
	for _, it := range waiting {
		qu.refusals <- refusal{it: it, reply: stoppingReply(it.name)}
	}
	done := make(chan struct{})
	go func() { qu.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		qu.cancel()
		<-done
		err = fmt.Errorf("commands: stopped with commands still running; they were cancelled: %w", ctx.Err())
	}
	close(qu.refusals)
	qu.dwg.Wait()
	qu.cancel()
	s.flushAtClose()
	return err
}
