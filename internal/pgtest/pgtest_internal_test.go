package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records how a test ended, as testing.T would end it.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls NewDatabase on a nil Server, as a test does where Main found
// no PostgreSQL, and says how it ended.
func run(t *testing.T) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var s *Server
		s.NewDatabase(f)
		t.Error("NewDatabase on a nil Server returned")
	}()
	<-done
	return f
}

// TestNotInstalled: where PostgreSQL is missing, Start says how to install
// it, and the tests that need it skip, or fail under RequireEnv.
func TestNotInstalled(t *testing.T) {
	old, oldWhy := libDir, notInstalled
	defer func() { libDir, notInstalled = old, oldWhy }()
	libDir = t.TempDir()
	_, err := Start(context.Background())
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "scripts/install-deps.sh") ||
		!strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("Start = %v, want ErrNotInstalled saying how to install", err)
	}
	notInstalled = err

	t.Setenv(RequireEnv, "")
	if f := run(t); !strings.Contains(f.skipped, "install-deps.sh") || f.failed != "" {
		t.Errorf("without %s: skipped %q, failed %q; want a skip saying how to install", RequireEnv, f.skipped, f.failed)
	}
	t.Setenv(RequireEnv, "1")
	if f := run(t); !strings.Contains(f.failed, "install-deps.sh") || f.skipped != "" {
		t.Errorf("with %s=1: skipped %q, failed %q; want a failure", RequireEnv, f.skipped, f.failed)
	}
}

// TestSweep deletes the folder a dead test binary left, and only that.
func TestSweep(t *testing.T) {
	root := t.TempDir()
	mk := func(name string) string {
		t.Helper()
		dir := filepath.Join(root, dirPattern+name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dead, live, young := mk("dead"), mk("live"), mk("young")
	if err := os.WriteFile(filepath.Join(dead, inUseName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := lockInUse(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sweep(root)
	for dir, want := range map[string]bool{dead: false, live: true, young: true} {
		if _, err := os.Stat(dir); (err == nil) != want {
			t.Errorf("%s kept: %v, want %v", filepath.Base(dir), err == nil, want)
		}
	}
}
