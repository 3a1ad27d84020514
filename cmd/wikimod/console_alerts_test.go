package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testenv"
	"github.com/wikimod/wikimod/internal/testwait"
)

// TestConsoleHearsAlerts: `wikimod console` (and so `wikimod demo`) follows
// the wiki's recent changes as the bot does, and the person at the
// terminal hears of an edit war with the commands its buttons would run.
// Three accounts' edits are rolled back on one page just before the
// console starts (a wiki never read is read from a window before the
// follower began); the alert is printed within two intervals. The war is
// made on a wiki of its own: the other tests' followers would see it on
// the shared one, and raise alerts their tests do not expect.
func TestConsoleHearsAlerts(t *testing.T) {
	devwiki.Need(t, wiki)
	ctx := context.Background()
	w, err := devwiki.Start(ctx, devwiki.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	title := testwait.Unique("Console War ")
	admin, err := w.LogIn(ctx, "Admin", devwiki.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Edit(ctx, title, "The page as it should be."); err != nil {
		t.Fatal(err)
	}
	const password = "Console-war-password-42"
	for range 3 {
		name := testwait.Unique("Console Warrior")
		if err := w.CreateUser(ctx, name, password, "", false); err != nil {
			t.Fatal(err)
		}
		editor, err := w.LogIn(ctx, name, password)
		if err != nil {
			t.Fatal(err)
		}
		if err := editor.Edit(ctx, title, "The page as "+name+" wants it."); err != nil {
			t.Fatal(err)
		}
		if err := admin.Rollback(ctx, title, name); err != nil {
			t.Fatal(err)
		}
	}

	path := writeConfigFor(t, w, "[alerts]\ninterval = \"10s\"\n")
	in, typed := io.Pipe()
	var out, errOut testenv.LogBuffer
	done := make(chan int, 1)
	go func() { done <- Main([]string{"console", "-config", path, "-as", "admin"}, in, &out, &errOut) }()
	defer func() {
		typed.Close()
		if code := <-done; code != 0 {
			t.Errorf("console exit %d: %s", code, errOut.String())
		}
	}()
	testwait.For(t, "the console to print the alert about "+title, func() bool {
		return strings.Contains(out.String(), "Edit war on "+title)
	})
	got := out.String()
	for _, want := range []string{"3 edits reverted from 3 editors", "/alert ", "do=protect", "do=dismiss"} {
		if !strings.Contains(got, want) {
			t.Errorf("the console's alert lacks %q:\n%s", want, got)
		}
	}
}
