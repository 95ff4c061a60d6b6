package blobstore

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// makePrivate takes group and other permissions off the media tree. Blobs
// are written 0600 in 0700 directories (os.CreateTemp, MkdirAll), so only
// a tree from an older install, or copied in, can be open; its root tells:
// a root open to others has every directory and file under it made
// private (one walk, which for millions of blobs takes a while, logged by
// the caller), the root last, so a walk cut short by a crash runs again on
// the next start. A private root is left as it is: nothing under it can
// be reached by other users, whatever its own mode.
func makePrivate(root string) error {
	fi, err := os.Stat(root) // not Lstat: media/ may be a link to where the space is
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root || d.Type()&fs.ModeSymlink != 0 {
			return err // a link: chmod would change what it points to
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return tighten(p, info.Mode())
	})
	if err == nil {
		err = tighten(root, fi.Mode())
	}
	if err != nil {
		return fmt.Errorf("make media private: %w", err)
	}
	return nil
}

// tighten takes group and other permissions off p, whose mode is m.
func tighten(p string, m fs.FileMode) error {
	if m.Perm()&0o077 == 0 {
		return nil
	}
	return os.Chmod(p, m&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)&^0o077)
}
