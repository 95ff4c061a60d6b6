package app

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// privateDataDir makes the data directory the owner's alone on every
// start, whatever made it: created 0700 on a new install, and on one made
// before (a 0755 directory, 0644 files under a umask of 022) group and
// other permissions are taken off the directory, the files at its top
// (secret, node id, database, lock) and everything in the small trees the
// node rewrites (the request spool and the embedded NATS store). The
// media tree, which can be large, is made private by blobstore.OpenDir;
// the search index by bleveindex.
func privateDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// Stat, not Lstat: a data directory may be a link to where the space is.
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("data dir: %w", err)
	} else if err := tighten(dir, fi.Mode()); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Type().IsRegular():
			err = private(p)
		case e.IsDir() && (e.Name() == "spool" || e.Name() == "nats"):
			err = privateTree(p)
		}
		if err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
	}
	return nil
}

// private takes group and other permissions off one file or directory;
// a link is left alone (chmod would change what it points to).
func private(p string) error {
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
		return err
	}
	return tighten(p, fi.Mode())
}

func tighten(p string, m fs.FileMode) error {
	if m.Perm()&0o077 == 0 {
		return nil
	}
	return os.Chmod(p, m&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)&^0o077)
}

// privateTree is private for root and everything under it.
func privateTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return private(p)
	})
}
