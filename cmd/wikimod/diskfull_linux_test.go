package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wikimod/wikimod/internal/fulldisk"
	"github.com/wikimod/wikimod/internal/testenv"
)

// TestHealthzOnAFullDisk: with the database's disk full, so that commands
// are refused for want of an audit log, /healthz fails and names the
// database, where it once said ok; once there is room again it is ok, and
// commands run.
func TestHealthzOnAFullDisk(t *testing.T) {
	disk := fulldisk.Mount(t, 4<<20)
	cfg, err := LoadConfig(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Storage.Path = filepath.Join(disk.Dir, "wikimod.db")
	clock := testenv.NewClock(time.Now())
	app, base, _ := startApp(t, cfg, AppOptions{Now: clock.Now})
	ctx := context.Background()
	if resp, body := get(t, base+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz with room = %d %s", resp.StatusCode, body)
	}

	disk.Fill(t)
	refused := false
	// The write-ahead log may have room left for a few records.
	for range 1000 {
		start := time.Now()
		r := app.service.ExecuteLine(ctx, consoleActor("admin"), "/help")
		if r.Code == "audit-unavailable" {
			if took := time.Since(start); took > time.Second {
				t.Errorf("a command took %v to be refused on a full disk", took)
			}
			refused = true
			break
		}
	}
	if !refused {
		t.Fatal("commands still ran with the disk full")
	}
	clock.Add(healthEvery)
	resp, body := get(t, base+"/healthz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"database":"sqlite `+cfg.Storage.Path) || !strings.Contains(body, "full") {
		t.Errorf("healthz with the disk full = %d %s", resp.StatusCode, body)
	}

	disk.Free(t)
	clock.Add(healthEvery)
	if resp, body := get(t, base+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz once there is room again = %d %s", resp.StatusCode, body)
	}
	if r := app.service.ExecuteLine(ctx, consoleActor("admin"), "/help"); r.Code == "audit-unavailable" {
		t.Errorf("a command once there is room again: %s", r.String())
	}
}
