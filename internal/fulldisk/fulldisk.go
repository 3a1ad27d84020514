//go:build linux

// Package fulldisk gives a test a real full disk: a small tmpfs of its own,
// mounted for the test, that it fills and frees at will. Mounting needs
// root (CI runs the tests as root); elsewhere the tests that need it skip,
// saying so.
package fulldisk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Disk is a small filesystem mounted for one test.
type Disk struct {
	Dir    string // where it is mounted
	filler string
}

// Mount mounts a tmpfs of size bytes on a new directory and unmounts it
// when the test ends, after the cleanups registered later (closing the
// databases opened on it, say). It skips the test where mounting is not
// permitted.
func Mount(tb testing.TB, size int) *Disk {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		tb.Skipf("this test fills a disk of its own, a tmpfs it mounts, which needs root: mount: %v", err)
	}
	tb.Cleanup(func() {
		// Lazily, so that a file a failed test left open does not keep the
		// mount.
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			tb.Errorf("unmount %s: %v", dir, err)
		}
	})
	return &Disk{Dir: dir, filler: filepath.Join(dir, "filler")}
}

// Fill writes a file that takes every free block of the disk.
func (d *Disk) Fill(tb testing.TB) {
	tb.Helper()
	f, err := os.OpenFile(d.filler, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{64 << 10, 4 << 10, 512, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					tb.Fatal(err)
				}
				break
			}
		}
	}
}

// Free removes what Fill wrote.
func (d *Disk) Free(tb testing.TB) {
	tb.Helper()
	if err := os.Remove(d.filler); err != nil {
		tb.Fatal(err)
	}
}
