package app

import (
	"fmt"
	"os"
	"path/filepath"
)

// bodySpool prepares the directory where keyed requests' bodies wait for
// their handler (see idempotency.Config.SpoolDir): in the data directory,
// on disk rather than a /tmp that may be memory, private to this user, and
// emptied of what a crash left behind.
func bodySpool(dataDir string) (string, error) {
	dir := filepath.Join(dataDir, "spool")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("request body spool: %w", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "photofeed-body-*"))
	for _, f := range left {
		os.Remove(f)
	}
	return dir, nil
}
