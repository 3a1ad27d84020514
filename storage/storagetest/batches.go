package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

// newBatch is a batch previewed at t0 that may be confirmed for 15 minutes.
func newBatch() commands.Batch {
	return commands.Batch{Wiki: "w", Command: "protect", Platform: "discord", UserID: "D1", UserName: "Carol",
		Plan: json.RawMessage(`{"titles":["A","B"]}`), Created: t0, Expires: t0.Add(15 * time.Minute)}
}

// testBatchLifecycle creates a batch and reads it back as created, claims
// it once, asks it to stop while it runs, finishes it with its summary, and
// declines another before it runs: a declined batch cannot be claimed, nor
// an expired one, and an ended batch is not stopped any more.
func testBatchLifecycle(t *testing.T, open Opener) {
	ctx := context.Background()
	db := open(fixed(t0))
	if _, err := db.CreateBatch(ctx, commands.Batch{Wiki: "w", Command: "protect", Platform: "discord", Plan: json.RawMessage(`{}`), Created: t0, Expires: t0.Add(time.Minute)}); err == nil {
		t.Error("a batch without its asker was kept")
	}
	if _, err := db.CreateBatch(ctx, commands.Batch{Wiki: "w", Command: "protect", Platform: "discord", UserID: "D1", Plan: json.RawMessage(`{`), Created: t0, Expires: t0.Add(time.Minute)}); err == nil {
		t.Error("a batch whose plan is not JSON was kept")
	}
	b, err := db.CreateBatch(ctx, newBatch())
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Batch(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 || got.State != commands.BatchPending || got.Stop || got.UserID != "D1" || got.UserName != "Carol" || got.Wiki != "w" ||
		string(got.Plan) != `{"titles":["A","B"]}` || !got.Created.Equal(t0) || !got.Expires.Equal(t0.Add(15*time.Minute)) || got.Summary != nil {
		t.Errorf("read back %+v", got)
	}
	if _, took, err := db.ClaimBatch(ctx, b.ID, t0.Add(15*time.Minute)); err != nil || took {
		t.Errorf("claimed when its time ran out: %v, %v", took, err)
	}
	running, took, err := db.ClaimBatch(ctx, b.ID, t0.Add(time.Minute))
	if err != nil || !took || running.State != commands.BatchRunning {
		t.Fatalf("claim: %+v, %v, %v", running, took, err)
	}
	if again, took, err := db.ClaimBatch(ctx, b.ID, t0.Add(time.Minute)); err != nil || took || again.State != commands.BatchRunning {
		t.Errorf("claimed twice: %+v, %v, %v", again, took, err)
	}
	stopped, err := db.StopBatch(ctx, b.ID, t0.Add(2*time.Minute))
	if err != nil || stopped.State != commands.BatchRunning || !stopped.Stop {
		t.Errorf("stop while running: %+v, %v", stopped, err)
	}
	if err := db.FinishBatch(ctx, b.ID, json.RawMessage(`{"changed":1}`), t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	done, err := db.Batch(ctx, b.ID)
	if err != nil || done.State != commands.BatchDone || string(done.Summary) != `{"changed":1}` || !done.Updated.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("finished: %+v, %v", done, err)
	}
	if after, err := db.StopBatch(ctx, b.ID, t0.Add(4*time.Minute)); err != nil || after.State != commands.BatchDone {
		t.Errorf("a done batch stopped: %+v, %v", after, err)
	}

	other, err := db.CreateBatch(ctx, newBatch())
	if err != nil {
		t.Fatal(err)
	}
	declined, err := db.StopBatch(ctx, other.ID, t0.Add(time.Minute))
	if err != nil || declined.State != commands.BatchDeclined || declined.Stop {
		t.Errorf("declined: %+v, %v", declined, err)
	}
	if _, took, err := db.ClaimBatch(ctx, other.ID, t0.Add(time.Minute)); err != nil || took {
		t.Errorf("a declined batch was claimed: %v, %v", took, err)
	}
	_, err = db.Batch(ctx, 1<<40)
	if !errors.Is(err, commands.ErrNoBatch) || !errors.Is(err, commands.ErrNotFound) {
		t.Errorf("a missing batch: %v", err)
	}
	if _, _, err := db.ClaimBatch(ctx, 1<<40, t0); !errors.Is(err, commands.ErrNoBatch) {
		t.Errorf("claiming a missing batch: %v", err)
	}
	if n, err := db.PruneBatches(ctx, t0.Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("pruned %d, %v; want 2", n, err)
	}
	if _, err := db.Batch(ctx, b.ID); !errors.Is(err, commands.ErrNoBatch) {
		t.Errorf("a pruned batch: %v", err)
	}
}

// testBatchClaimedOnceByConcurrentReplicas has three replicas confirm the
// same batch a dozen times at once: one takes it.
func testBatchClaimedOnceByConcurrentReplicas(t *testing.T, open Opener) {
	ctx := context.Background()
	handles := []Store{open(fixed(t0)), open(fixed(t0)), open(fixed(t0))}
	b, err := handles[0].CreateBatch(ctx, newBatch())
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got int
	)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, took, err := handles[i%3].ClaimBatch(ctx, b.ID, t0.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if took {
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got != 1 {
		t.Errorf("the batch was claimed %d times, want once", got)
	}
}
