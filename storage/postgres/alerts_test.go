package postgres_test

import (
	"testing"
	"time"

	"github.com/wikimod/wikimod/storage/storagetest"
)

// TestAlertsCopy copies alerts and their cursors from one PostgreSQL
// database into another, empty one: every column arrives, and the copy
// numbers new alerts after the copied ones.
func TestAlertsCopy(t *testing.T) {
	src := open(t, server.NewDatabase(t), time.Now)
	dst := open(t, server.NewDatabase(t), time.Now)
	storagetest.CopyAlerts(t, src, dst)
}
