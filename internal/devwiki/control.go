package devwiki

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// InvalidateSessions ends every session of user on the wiki's side, as an
// operator or a password change would, so that tests can watch a client find
// its session gone and log in again. Clients are not told: their next
// request that asserts a login fails with assertuserfailed.
func (w *Wiki) InvalidateSessions(ctx context.Context, user string) error {
	if _, err := w.php(ctx, "invalidateUserSessions", "--user", user); err != nil {
		return fmt.Errorf("invalidate sessions of %s: %w", user, err)
	}
	return nil
}

// Freeze stops the PHP server and all its workers (SIGSTOP to the server's
// process group) without closing its socket: connections are still accepted
// by the kernel and requests still queue up, but nothing answers. That is
// how a hung wiki looks from outside, which lets tests lose an answer to a
// request the wiki will carry out later. Call Thaw (in a test's cleanup too)
// to let it go on. Where PHP runs chrooted (1.43), the process Go started has
// exec'd into PHP itself, so the signal reaches the server and its workers
// and not merely a wrapper around them.
func (w *Wiki) Freeze() error {
	return w.signal(syscall.SIGSTOP)
}

// Thaw lets a frozen server go on (SIGCONT to its process group); the
// requests that queued up while it was frozen are then served. Thawing a
// server that is not frozen does nothing.
func (w *Wiki) Thaw() error {
	return w.signal(syscall.SIGCONT)
}

func (w *Wiki) signal(sig syscall.Signal) error {
	if w.cmd == nil || w.cmd.Process == nil {
		return errors.New("devwiki: the wiki's server is not running")
	}
	// The server runs with Setpgid, so its pid is its process group's id and
	// the group holds every worker it forked.
	if err := syscall.Kill(-w.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("devwiki: signal %v to the wiki's server: %w", sig, err)
	}
	return nil
}
