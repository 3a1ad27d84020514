package storagetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wikimod/wikimod/commands"
)

func testFormTakenOnceByItsOwner(t *testing.T, open Opener) {
	ctx := context.Background()
	clock := newClock(t0)
	db := open(clock.Now)
	f := commands.PendingForm{UserID: "D1", Command: "createaccount", Secret: "password",
		Args: commands.Args{Named: map[string]string{"username": "Ann", "reason": "asked \"nicely\""}, Positional: []string{"x y"}}}
	if err := db.PutForm(ctx, "form-1", f, t0.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Someone else's submission leaves it for its owner.
	if _, found, owner, err := db.TakeForm(ctx, "form-1", "D2", t0); err != nil || !found || owner {
		t.Errorf("another user: found %v owner %v err %v", found, owner, err)
	}
	// A second handle (another replica) takes it for its owner, once.
	other := open(clock.Now)
	got, found, owner, err := other.TakeForm(ctx, "form-1", "D1", t0.Add(time.Minute))
	if err != nil || !found || !owner || fmt.Sprint(got) != fmt.Sprint(f) {
		t.Errorf("owner: %+v found %v owner %v err %v, want %+v", got, found, owner, err, f)
	}
	if _, found, _, err := db.TakeForm(ctx, "form-1", "D1", t0.Add(time.Minute)); err != nil || found {
		t.Errorf("taken twice: found %v err %v", found, err)
	}
}

func testFormExpires(t *testing.T, open Opener) {
	ctx := context.Background()
	clock := newClock(t0)
	db := open(clock.Now)
	f := commands.PendingForm{UserID: "D1", Command: "validatepassword", Secret: "password"}
	if err := db.PutForm(ctx, "form-old", f, t0.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, found, _, err := db.TakeForm(ctx, "form-old", "D1", t0.Add(15*time.Minute)); err != nil || found {
		t.Errorf("at its expiry: found %v err %v", found, err)
	}
	// Putting a form forgets the expired ones.
	if err := db.PutForm(ctx, "form-a", f, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	clock.Add(2 * time.Minute)
	if err := db.PutForm(ctx, "form-b", f, clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, found, _, _ := db.TakeForm(ctx, "form-a", "D1", t0); found {
		t.Error("an expired form outlived the next put")
	}
}

func testFormTakenByOneOfManyReplicas(t *testing.T, open Opener) {
	ctx := context.Background()
	clock := newClock(t0)
	handles := []Store{open(clock.Now), open(clock.Now), open(clock.Now)}
	if err := handles[0].PutForm(ctx, "form-race", commands.PendingForm{UserID: "D1", Command: "link", Secret: "code"}, t0.Add(time.Hour)); err != nil {
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
			_, _, owner, err := handles[i%3].TakeForm(ctx, "form-race", "D1", t0)
			if err != nil {
				t.Error(err)
			}
			if owner {
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got != 1 {
		t.Errorf("the form was taken %d times, want once", got)
	}
}
