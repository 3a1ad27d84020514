package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Stop stops the server as an outage would, keeping its cluster: a fast
// shutdown, which ends every open connection, so that clients meet
// refused connections until Restart. A test that stops a server should
// start one of its own (Start) rather than stop the one its binary shares.
func (s *Server) Stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return errors.New("pgtest: no server to stop")
	}
	select {
	case <-s.exited:
		return errors.New("pgtest: the server is not running")
	default:
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
		return nil
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		return errors.New("pgtest: postgres did not stop within 15 s; killed")
	}
}

// Restart starts the server that Stop stopped again, on the same cluster,
// socket and settings, and returns once it takes connections. The
// databases and their rows are as Stop left them.
func (s *Server) Restart(ctx context.Context) error {
	select {
	case <-s.exited:
	default:
		return errors.New("pgtest: the server is running; Stop it first")
	}
	logPath := filepath.Join(s.dir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer logFile.Close()
	prev := s.cmd
	cmd := exec.Command(prev.Path, prev.Args[1:]...)
	cmd.Env, cmd.SysProcAttr = prev.Env, prev.SysProcAttr
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restart postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited at restart (%v):\n%s", cmd.ProcessState, tail(logPath))
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready after restart: %w:\n%s", err, tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
	}
}
