package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	if _, took, err := db.ClaimBatch(ctx, b.ID, "replica-1", t0.Add(15*time.Minute)); err != nil || took {
		t.Errorf("claimed when its time ran out: %v, %v", took, err)
	}
	running, took, err := db.ClaimBatch(ctx, b.ID, "replica-1", t0.Add(time.Minute))
	if err != nil || !took || running.State != commands.BatchRunning || running.Owner != "replica-1" {
		t.Fatalf("claim: %+v, %v, %v", running, took, err)
	}
	if again, took, err := db.ClaimBatch(ctx, b.ID, "replica-2", t0.Add(time.Minute)); err != nil || took || again.State != commands.BatchRunning || again.Owner != "replica-1" {
		t.Errorf("claimed twice: %+v, %v, %v", again, took, err)
	}
	stopped, err := db.StopBatch(ctx, b.ID, t0.Add(2*time.Minute))
	if err != nil || stopped.State != commands.BatchRunning || !stopped.Stop {
		t.Errorf("stop while running: %+v, %v", stopped, err)
	}
	if ended, took, err := db.FinishBatch(ctx, b.ID, json.RawMessage(`{"changed":1}`), t0.Add(3*time.Minute)); err != nil || !took || ended.State != commands.BatchDone {
		t.Fatalf("finish: %+v, %v, %v", ended, took, err)
	}
	done, err := db.Batch(ctx, b.ID)
	if err != nil || done.State != commands.BatchDone || string(done.Summary) != `{"changed":1}` || !done.Updated.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("finished: %+v, %v", done, err)
	}
	if again, took, err := db.FinishBatch(ctx, b.ID, json.RawMessage(`{"changed":2}`), t0.Add(4*time.Minute)); err != nil || took || string(again.Summary) != `{"changed":1}` {
		t.Errorf("finished twice: %+v, %v, %v", again, took, err)
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
	if _, took, err := db.ClaimBatch(ctx, other.ID, "replica-1", t0.Add(time.Minute)); err != nil || took {
		t.Errorf("a declined batch was claimed: %v, %v", took, err)
	}
	_, err = db.Batch(ctx, 1<<40)
	if !errors.Is(err, commands.ErrNoBatch) || !errors.Is(err, commands.ErrNotFound) {
		t.Errorf("a missing batch: %v", err)
	}
	if _, took, err := db.FinishBatch(ctx, other.ID, json.RawMessage(`{}`), t0.Add(time.Minute)); err != nil || took {
		t.Errorf("a declined batch was finished: %v, %v", took, err)
	}
	if _, _, err := db.ClaimBatch(ctx, 1<<40, "replica-1", t0); !errors.Is(err, commands.ErrNoBatch) {
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
			_, took, err := handles[i%3].ClaimBatch(ctx, b.ID, fmt.Sprintf("replica-%d", i), t0.Add(time.Minute))
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

// testBatchEndedOnceByConcurrentReplicas has a batch's run end it while
// two replicas' settle passes, which took its process for gone, end it
// as interrupted, a dozen times at once: one call ends it, and every
// other reads back the summary that one wrote.
func testBatchEndedOnceByConcurrentReplicas(t *testing.T, open Opener) {
	ctx := context.Background()
	handles := []Store{open(fixed(t0)), open(fixed(t0)), open(fixed(t0))}
	b, err := handles[0].CreateBatch(ctx, newBatch())
	if err != nil {
		t.Fatal(err)
	}
	if _, took, err := handles[0].ClaimBatch(ctx, b.ID, "doomed", t0.Add(time.Minute)); err != nil || !took {
		t.Fatalf("claim: %v, %v", took, err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
		seen    = map[string]bool{}
	)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			summary := fmt.Sprintf(`{"by":%d}`, i)
			after, took, err := handles[i%3].FinishBatch(ctx, b.ID, json.RawMessage(summary), t0.Add(2*time.Minute))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if took {
				winners = append(winners, summary)
			}
			if after.State != commands.BatchDone {
				t.Errorf("after a finish: %+v", after)
			}
			seen[string(after.Summary)] = true
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("the batch was ended %d times, want once: %v", len(winners), winners)
	}
	if len(seen) != 1 || !seen[winners[0]] {
		t.Errorf("the callers read back %v, want only the winner's %s", seen, winners[0])
	}
	done, err := handles[1].Batch(ctx, b.ID)
	if err != nil || string(done.Summary) != winners[0] || done.Owner != "doomed" {
		t.Errorf("ended: %+v, %v", done, err)
	}
}

// testBatchPages reads back the audit records of a batch's pages: the
// /protect records that name it, after its confirmation's record, oldest
// first; not those of another batch, nor of a batch whose number starts
// the same, nor a /protect that names no batch.
func testBatchPages(t *testing.T, open Opener) {
	ctx := context.Background()
	db := open(fixed(t0))
	begin := func(command string, args map[string]string) int64 {
		t.Helper()
		rec := &commands.AuditRecord{Time: t0, Wiki: "w", Platform: "discord", UserID: "D1", Command: command, Args: args, Outcome: commands.OutcomePending}
		if err := db.Begin(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	before := begin("protect", map[string]string{"title": "Before", "batch": "7"})
	confirm := begin("batch", map[string]string{"do": "confirm", "id": "7"})
	a := begin("protect", map[string]string{"title": "A", "batch": "7", "edit": "sysop"})
	begin("protect", map[string]string{"title": "Other", "batch": "77"})
	begin("protect", map[string]string{"title": "Alone"})
	begin("reminder", map[string]string{"batch": "7"})
	b := begin("protect", map[string]string{"title": "B", "batch": "7", "reason": `"batch":"7" in a reason`})
	got, err := db.BatchPages(ctx, 7, confirm)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if len(got) != 2 || ids[0] != a || ids[1] != b || got[0].Args["title"] != "A" || got[0].Outcome != commands.OutcomePending {
		t.Errorf("batch 7's pages after %d: %v (%+v); want %d and %d", confirm, ids, got, a, b)
	}
	if all, err := db.BatchPages(ctx, 7, 0); err != nil || len(all) != 3 || all[0].ID != before {
		t.Errorf("batch 7's pages from the start: %+v, %v", all, err)
	}
	if none, err := db.BatchPages(ctx, 8, 0); err != nil || len(none) != 0 {
		t.Errorf("batch 8's pages: %+v, %v", none, err)
	}
}
