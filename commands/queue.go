package commands

import (
	"container/list"
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
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
}

// QueueConfig bounds the work waiting for the wiki. The zero value is safe.
type QueueConfig struct {
	// Workers is how many commands run at once, so at most this many of
	// the queue's requests reach the wiki at the same time. One of them is
	// the writer: commands that change the wiki run one at a time, in the
	// order they arrived, as MediaWiki's API etiquette asks. Zero means 4;
	// the minimum is 2 (one writer, one reader).
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
}

// prepareTimeout bounds Job.Prepare.
const prepareTimeout = 10 * time.Second

// item is one accepted job in the queue.
type item struct {
	job       Job
	name      string
	args      Args
	parseErr  error
	rec       *AuditRecord
	accepted  time.Time
	waitUntil time.Time // refused if its turn has not come by then
}

// queue holds the jobs waiting for the wiki in two lanes: writes, run by one
// worker in arrival order, and everything else, run by the other workers.
// Waiting costs one item, not a goroutine.
type queue struct {
	cfg QueueConfig

	mu      sync.Mutex
	cond    *sync.Cond
	writes  *list.List
	reads   *list.List
	closed  bool
	running int

	refusals chan refusal // refused jobs, answered by the deliverers
	ctx      context.Context
	cancel   context.CancelFunc // cancels the commands still running at a hard stop
	wg       sync.WaitGroup     // the workers and the sweeper
	dwg      sync.WaitGroup     // the deliverers
	stopped  chan struct{}      // closed when the sweeper should stop
}

type refusal struct {
	it    *item
	reply Reply
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
	q := &queue{cfg: cfg, writes: list.New(), reads: list.New(), refusals: make(chan refusal, 64), stopped: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	return q
}

// startQueue starts the workers, the sweeper and the deliverers.
func (s *Service) startQueue() {
	q := s.queue
	q.wg.Add(q.cfg.Workers + 1)
	go s.worker(q.writes)
	for range q.cfg.Workers - 1 {
		go s.worker(q.reads)
	}
	go s.sweeper()
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
// wikimod is stopping, or the audit log cannot take it. Such an attempt is
// audited too where the audit log works, and Deliver is not called.
func (s *Service) Submit(ctx context.Context, job Job) (Reply, bool) {
	it := &item{job: job, name: job.Name, args: job.Args}
	if job.Line != "" {
		it.name, it.args, it.parseErr = ParseLine(job.Line)
		if it.parseErr != nil {
			it.name = unparsedName(job.Line)
		}
	}
	it.name = normalizeName(it.name)
	cmd, known := s.commands[it.name]
	it.rec = s.newRecord(job.Actor, it.name, it.args, cmd.Spec)
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
	if err := s.audit.Begin(ctx, it.rec); err != nil {
		s.log.Error("audit log unavailable; refusing the command", "command", it.name, "actor", job.Actor.String(), "err", err)
		reply := auditUnavailable(it.name)
		s.observeDone(it.name, reply.Outcome, now)
		return reply, false
	}
	lane := q.reads
	if known && cmd.Spec.Write && it.parseErr == nil {
		lane = q.writes
	}
	q.mu.Lock()
	var refusal Reply
	switch {
	case q.closed:
		refusal = stoppingReply(it.name)
	case q.writes.Len()+q.reads.Len() >= q.cfg.Capacity:
		refusal = Reply{Command: it.name, Outcome: OutcomeFailed, Code: "busy", Title: "Nothing was done.",
			Text: fmt.Sprintf("wikimod already has %d commands waiting for the wiki, so it did not take this one. Try again in a few minutes.", q.cfg.Capacity)}
	default:
		lane.PushBack(it)
		q.cond.Broadcast()
		q.mu.Unlock()
		return Reply{}, true
	}
	q.mu.Unlock()
	s.finishRecord(it.rec, refusal, now, nil)
	return refusal, false
}

func stoppingReply(name string) Reply {
	return Reply{Command: name, Outcome: OutcomeFailed, Code: "stopping", Title: "Nothing was done.",
		Text: "wikimod is stopping and did not run this command. Run it again in a minute."}
}

func auditUnavailable(name string) Reply {
	return Reply{Command: name, Outcome: OutcomeFailed, Code: "audit-unavailable", Title: "Nothing was done.",
		Text: "wikimod cannot write its audit log right now, and it runs nothing it cannot record. Tell the bot's operators."}
}

// worker runs the jobs of one lane, one at a time, in arrival order.
func (s *Service) worker(lane *list.List) {
	q := s.queue
	defer q.wg.Done()
	for {
		q.mu.Lock()
		for lane.Len() == 0 && !q.closed {
			q.cond.Wait()
		}
		if lane.Len() == 0 {
			q.mu.Unlock()
			return
		}
		it := lane.Remove(lane.Front()).(*item)
		q.running++
		q.mu.Unlock()

		if !s.now().Before(it.waitUntil) {
			s.finishRefused(it, s.waitedTooLong(it))
		} else {
			s.runItem(it)
		}
		q.mu.Lock()
		q.running--
		q.mu.Unlock()
	}
}

// runItem runs one job whose turn has come: its deadline starts now.
func (s *Service) runItem(it *item) {
	start := s.now()
	var reply Reply
	func() {
		defer func() {
			if p := recover(); p != nil {
				reply = s.panicked(it.name, p, secretValues(s.commands[it.name].Spec, it.args))
				s.finishRecord(it.rec, reply, start, nil)
			}
		}()
		if err := s.audit.Start(s.queue.ctx, it.rec.ID); err != nil {
			s.log.Error("audit log unavailable; not running a queued command", "command", it.name, "err", err)
			reply = auditUnavailable(it.name)
			s.finishRecord(it.rec, reply, start, nil)
			return
		}
		if it.parseErr != nil {
			reply = parseErrorReply(it.name, it.parseErr)
			s.finishRecord(it.rec, reply, start, nil)
			return
		}
		actor := it.job.Actor
		if it.job.Prepare != nil {
			pctx, cancel := context.WithTimeout(s.queue.ctx, prepareTimeout)
			it.job.Prepare(pctx, &actor)
			cancel()
		}
		reply = s.executeBegun(s.queue.ctx, actor, it.name, it.args, it.rec, start)
	}()
	s.deliver(it, reply)
}

// waitedTooLong is the reply to a job whose turn did not come in time.
func (s *Service) waitedTooLong(it *item) Reply {
	waited := s.now().Sub(it.accepted).Round(time.Second)
	what := "`/" + it.name + "`"
	if page := it.rec.Args["title"] + it.rec.Args["_"]; page != "" && it.name == "protect" {
		what += " for " + page
	}
	return Reply{Command: it.name, Outcome: OutcomeFailed, Code: "waited-too-long", Title: "Nothing was done.",
		Text: fmt.Sprintf("The wiki is slow or not answering, and %s waited %s for its turn without starting, so wikimod dropped it. Nothing was sent to the wiki. Try again later.", what, waited)}
}

// finishRefused audits a queued job as refused and delivers the refusal.
// Finish takes the row straight from queued: the command never started.
func (s *Service) finishRefused(it *item, reply Reply) {
	s.finishRecord(it.rec, reply, it.accepted, nil)
	s.deliver(it, reply)
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
	it.job.Deliver(ctx, reply)
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
	for _, lane := range []*list.List{qu.writes, qu.reads} {
		for e := lane.Front(); e != nil; {
			next := e.Next()
			if it := e.Value.(*item); !now.Before(it.waitUntil) {
				lane.Remove(e)
				expired = append(expired, it)
			}
			e = next
		}
	}
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
	return qu.writes.Len() + qu.reads.Len(), qu.running
}

// Close stops taking commands, answers every waiting one that it was not
// run ("wikimod is stopping"), and waits for the running ones until ctx is
// done; those still running then are cancelled, and each still gets its
// reply and audit row. It is safe to call twice.
func (s *Service) Close(ctx context.Context) error {
	qu := s.queue
	qu.mu.Lock()
	if qu.closed {
		qu.mu.Unlock()
		return nil
	}
	qu.closed = true
	var waiting []*item
	for _, lane := range []*list.List{qu.writes, qu.reads} {
		for e := lane.Front(); e != nil; e = e.Next() {
			waiting = append(waiting, e.Value.(*item))
		}
		lane.Init()
	}
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
	return err
}
