package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// A process that shares its database with replicas holds the lease
// "instance:ID" while it lives, renewing it every instanceRenew. When a
// replica dies, its lease runs out within instanceLease, and another
// replica settles the commands it left unfinished, at its next sweep
// (every settleEvery), and tells their requesters.
const (
	instanceLease = 15 * time.Second
	instanceRenew = 5 * time.Second
	settleEvery   = 10 * time.Second
)

// leaseWatch remembers when this process last failed to renew its
// instance lease. After an outage of the database every replica's lease
// has run out, the live ones' too: until its own lease has been renewed
// without a miss for a whole lease again, a replica does not take the
// others' missing renewals for deaths.
type leaseWatch struct {
	lastMiss atomic.Int64 // Unix ms by the App's clock; 0: never
}

func (w *leaseWatch) missed(now time.Time) { w.lastMiss.Store(now.UnixMilli()) }

// steady reports whether the lease has been renewed without a miss for
// long enough that the others' leases tell who is alive.
func (w *leaseWatch) steady(now time.Time) bool {
	last := w.lastMiss.Load()
	return last == 0 || now.Sub(time.UnixMilli(last)) > instanceLease+instanceRenew
}

// newInstanceID names this process among replicas: its host, its process
// id and a random part, so that a restarted process is a new instance.
func newInstanceID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// shared reports whether other processes may share the database: with
// SQLite, only this one uses the file.
func (a *App) shared() bool { return a.cfg.Storage.Driver == driverPostgres }

func instanceLeaseName(id string) string { return "instance:" + id }

// holdInstance takes this process's instance lease, and keeps renewing it
// in the background until ctx ends; then it gives it up, so that what is
// left (nothing, after a clean stop) is not waited for.
func (a *App) holdInstance(ctx context.Context) error {
	name := instanceLeaseName(a.instance)
	renew := func() error {
		now := a.now()
		held, err := a.db.TryLease(ctx, name, a.instance, now.Add(instanceLease), now)
		if err == nil && !held {
			err = fmt.Errorf("instance lease %s is held by another process", name)
		}
		return err
	}
	if err := renew(); err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(instanceRenew)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				a.db.ReleaseLease(rctx, name, a.instance)
				cancel()
				return
			case <-t.C:
				if err := renew(); err != nil && ctx.Err() == nil {
					a.lease.missed(a.now())
					a.log.Error("cannot renew this replica's lease; others may settle its commands", "err", err)
				}
			}
		}
	}()
	return nil
}

// ownerGone reports whether the process that took a command is gone: its
// instance lease has run out, and this process takes it over (so that one
// replica alone settles what it left). Records from before instances had
// names (owner "") are gone too.
func (a *App) ownerGone(ctx context.Context) func(owner string) bool {
	known := map[string]bool{} // each owner is asked about once per settling
	return func(owner string) bool {
		if owner == a.instance {
			return false
		}
		if owner == "" {
			return true
		}
		if gone, ok := known[owner]; ok {
			return gone
		}
		now := a.now()
		held, err := a.db.TryLease(ctx, instanceLeaseName(owner), a.instance, now.Add(instanceLease), now)
		known[owner] = err == nil && held
		return known[owner]
	}
}

// settleLoop tells the requesters of the commands start-up settled, then
// every settleEvery until ctx ends settles what is left unfinished and
// tells again (the sends that failed are tried again then). With a shared
// database, what replicas which died left is settled, once this one's own
// lease is steady; always, this process's own orphaned records (see
// commands.Service.Settle). With SQLite, no other process's records are
// settled after start-up: only a console may be running beside this one,
// and its commands are its own.
func (a *App) settleLoop(ctx context.Context) {
	a.tellSettled(ctx, true)
	t := time.NewTicker(settleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sctx, cancel := context.WithTimeout(ctx, startupWikiTimeout)
			gone := func(string) bool { return false }
			if a.shared() && a.lease.steady(a.now()) {
				gone = a.ownerGone(sctx)
			}
			if err := a.settleWith(sctx, gone); err != nil && ctx.Err() == nil {
				a.log.Warn("could not settle unfinished commands; will try again", "err", err)
			}
			cancel()
			a.tellSettled(ctx, false)
		}
	}
}

// tellSettled tells the requesters of settled commands what became of
// them, through the adapters that can (commands.Teller). The pass at
// start-up is logged even when it had nothing to do.
func (a *App) tellSettled(ctx context.Context, atStart bool) {
	tellers := map[string]commands.Teller{}
	for _, ad := range a.adapters {
		if t, ok := ad.(commands.Teller); ok {
			tellers[ad.Name()] = t
		}
	}
	rep, err := a.service.TellSettled(ctx, a.db, a.instance, tellers)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("could not tell the requesters of settled commands; will try again", "err", err)
		}
		return
	}
	if atStart || rep != (commands.TellReport{}) {
		a.log.Info("told the requesters of settled commands", "sent", rep.Sent, "undeliverable", rep.Undeliverable,
			"retrying", rep.Retrying, "gave_up", rep.GaveUp)
	}
}

// settleWith settles the unfinished commands whose owner is gone.
func (a *App) settleWith(ctx context.Context, gone func(string) bool) error {
	rep, err := a.service.Settle(ctx, a.db, gone)
	if err != nil {
		return fmt.Errorf("settle unfinished commands: %w", err)
	}
	if rep.Applied+rep.Interrupted > 0 {
		a.log.Warn("settled commands a stopped process left unfinished", "applied_on_wiki", rep.Applied, "interrupted", rep.Interrupted)
	}
	return nil
}
