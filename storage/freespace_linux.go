package storage

import (
	"os"
	"syscall"
)

// freeSpace returns how many bytes wikimod may still write on the disk
// holding dir, and whether it could tell. Root may write the blocks a
// filesystem keeps back for it; others may not.
func freeSpace(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	blocks := st.Bavail
	if os.Geteuid() == 0 {
		blocks = st.Bfree
	}
	return int64(blocks) * int64(st.Bsize), true
}
