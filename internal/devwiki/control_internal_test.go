package devwiki

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wikimod/wikimod/internal/testwait"
)

// TestFreezeStopsEveryProcess: Freeze stops the PHP server and each of its
// workers, not just a wrapper around them (the chroot's unshare, sh and
// chroot must all have exec'd into PHP), and Thaw lets them all go on.
func TestFreezeStopsEveryProcess(t *testing.T) {
	if err := Check(); err != nil {
		t.Skip(err)
	}
	w, err := Start(context.Background(), Options{Dir: t.TempDir(), Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pgid := w.cmd.Process.Pid
	if comm := procField(t, pgid, "comm"); comm != "php" {
		t.Errorf("the server's process runs %q, want php", comm)
	}
	states := func() map[int]string {
		got := map[int]string{}
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			// Fields after the command's closing parenthesis: state ppid pgrp ...
			f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
			if len(f) > 2 && f[2] == strconv.Itoa(pgid) {
				got[pid] = f[0]
			}
		}
		return got
	}
	if n := len(states()); n != 4 {
		t.Errorf("%d processes in the server's group, want the server and 3 workers", n)
	}
	if err := w.Freeze(); err != nil {
		t.Fatal(err)
	}
	// Signals arrive a moment after kill returns: wait for them.
	settled := func(stopped bool) map[int]string {
		var got map[int]string
		what := "every process in the server's group to stop"
		if !stopped {
			what = "every process in the server's group to go on"
		}
		testwait.For(t, what, func() bool {
			got = states()
			for _, st := range got {
				if (st == "T") != stopped {
					return false
				}
			}
			return true
		})
		return got
	}
	for pid, st := range settled(true) {
		if st != "T" {
			t.Errorf("process %d is %s after Freeze, want T (stopped)", pid, st)
		}
	}
	if err := w.Thaw(); err != nil {
		t.Fatal(err)
	}
	for pid, st := range settled(false) {
		if st == "T" {
			t.Errorf("process %d is still stopped after Thaw", pid)
		}
	}
}

func procField(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestPortRace: when another server takes the port devwiki picked before
// PHP binds it, Start notices (the answers lack the wiki's id) and serves
// on another port instead of handing out the other server's address.
func TestPortRace(t *testing.T) {
	if err := Check(); err != nil {
		t.Skip(err)
	}
	other := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Write([]byte(`{"query":{"general":{"generator":"MediaWiki 0.1"}}}`))
	}))
	defer other.Close()
	taken := other.Listener.Addr().(*net.TCPAddr).Port
	pick := freePort
	calls := 0
	freePort = func() (int, error) {
		calls++
		if calls == 1 {
			return taken, nil
		}
		return pick()
	}
	defer func() { freePort = pick }()
	w, err := Start(context.Background(), Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if calls != 2 || strings.HasSuffix(w.URL, ":"+strconv.Itoa(taken)) {
		t.Errorf("wiki at %s after %d ports; port %d was taken", w.URL, calls, taken)
	}
	if !strings.HasPrefix(w.Version(), "1.") {
		t.Errorf("Version() = %q", w.Version())
	}
}
