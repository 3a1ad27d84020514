//go:build !linux

package storage

// freeSpace returns how many bytes wikimod may still write on the disk
// holding dir, and whether it could tell: here it cannot, and the health
// check relies on its write alone.
func freeSpace(dir string) (int64, bool) { return 0, false }
