package storagetest

import (
	"context"
	"sync"
	"testing"

	"github.com/wikimod/wikimod/commands"
)

// testWritableFromReplicasAtOnce: the health checks of replicas sharing a
// database, each writing its heartbeat, all succeed at once, with a clock
// that stands still (each check still writes); one whose time is up fails
// rather than waits; and the audit log is as it was.
func testWritableFromReplicasAtOnce(t *testing.T, open Opener) {
	dbs := []Store{open(fixed(t0)), open(fixed(t0))}
	ctx := context.Background()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 10 {
		wg.Go(func() {
			<-start
			for range 5 {
				if err := dbs[i%2].Writable(ctx); err != nil {
					t.Errorf("Writable: %v", err)
				}
			}
		})
	}
	close(start)
	wg.Wait()

	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := dbs[0].Writable(done); err == nil {
		t.Error("Writable with its context done succeeded")
	}

	rec := &commands.AuditRecord{Platform: "console", UserID: "admin", Command: "help"}
	if err := dbs[1].Begin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if recs, err := dbs[0].Unsettled(ctx, 10); err != nil || len(recs) != 1 || recs[0].ID != rec.ID {
		t.Errorf("Unsettled after the health checks = %+v, %v; want only record %d", recs, err, rec.ID)
	}
}
