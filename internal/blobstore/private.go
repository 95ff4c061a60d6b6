package blobstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// privateMark is the file (no key starts with a dot, so it is no blob)
// whose presence says every blob under the root was made private once.
const privateMark = ".private"

// makePrivate takes group and other permissions off the media tree. Blobs
// are written 0600 in 0700 directories (os.CreateTemp, MkdirAll), so only
// a tree from an older install or copied in can be open. The root and its
// fan-out directories (one listing of the root: at most a few thousand
// entries) are checked on every open; the files, which can be millions,
// once: the walk leaves privateMark behind, and a walk cut short by a
// crash runs again on the next start.
func makePrivate(root string) error {
	if err := tightenPath(root, os.Stat); err != nil {
		return err
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := tightenPath(filepath.Join(root, e.Name()), os.Lstat); err != nil {
				return err
			}
		}
	}
	mark := filepath.Join(root, privateMark)
	if _, err := os.Stat(mark); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // chmod would change what the link points to
		}
		return tightenPath(p, os.Lstat)
	})
	if err != nil {
		return fmt.Errorf("make media private: %w", err)
	}
	f, err := os.OpenFile(mark, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// tightenPath takes group and other permissions off p.
func tightenPath(p string, stat func(string) (fs.FileInfo, error)) error {
	fi, err := stat(p)
	if err != nil {
		return err
	}
	m := fi.Mode()
	if m&fs.ModeSymlink != 0 || m.Perm()&0o077 == 0 {
		return nil
	}
	return os.Chmod(p, m&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)&^0o077)
}
