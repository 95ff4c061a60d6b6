// Package blobstore keeps blobs in a local directory: the embedded stand-in
// for object storage, with the same write-once, content-addressed use.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/crashpoint"
	"github.com/photofeed/photofeed/internal/errkind"
)

// ErrNotFound is returned for a key with no blob.
var ErrNotFound = errkind.New(errkind.NotFound, "no such media")

// ErrUnavailable wraps the failures of a store that is down, slow or
// failing (a 503 for the client, to be retried later), as against an
// answer about the blob itself.
var ErrUnavailable = errkind.New(errkind.Unavailable, "the media store is unavailable; retry shortly")

// Dir stores each blob as a file under root, fanned out by the key's first
// characters so no directory grows past a few thousand entries.
type Dir struct {
	root string
}

// OpenDir uses (and creates) root.
func OpenDir(root string) (*Dir, error) {
	// Only the owner may list or read media: photos of private accounts,
	// and deleted ones until the cleanup, are in here.
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("blob dir: %w", err)
	}
	if err := makePrivate(root); err != nil {
		return nil, fmt.Errorf("blob dir: %w", err)
	}
	return &Dir{root: root}, nil
}

// ValidKey reports whether key is safe to use as a file name: 1–200 bytes of
// [a-z0-9], '-', '_' and at most one '.' not at the start.
func ValidKey(key string) bool {
	if len(key) < 3 || len(key) > 200 || key[0] == '.' {
		return false
	}
	dots := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return dots <= 1
}

func (d *Dir) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", ErrNotFound
	}
	return filepath.Join(d.root, key[:2], key), nil
}

// Put writes data under key unless a blob is already there. The write goes
// to a temporary file that is synced and then linked under the key, so a
// reader never sees a partial blob and a crash never leaves one under a key
// (only a temporary file: see RemoveTemps). A link, unlike a rename, fails
// when the key exists: of puts racing for a key exactly one creates it and
// the others learn it was there, as S3's conditional put tells them (a
// post's upload is named by its id, and a put told "there" means another
// node took the id).
func (d *Dir) Put(ctx context.Context, key string, data []byte) (bool, error) {
	p, err := d.path(key)
	if err != nil {
		return false, fmt.Errorf("put blob: invalid key %q", key)
	}
	if _, err := os.Stat(p); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return false, fmt.Errorf("put blob: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), tempPrefix+"*")
	if err != nil {
		return false, fmt.Errorf("put blob: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		crashpoint.Hit(crashpoint.BlobLinking)
		err = os.Link(f.Name(), p)
	}
	os.Remove(f.Name())
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put blob %s: %w", key, err)
	}
	return true, nil
}

// Delete removes the blob; a missing blob is not an error.
func (d *Dir) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// Blob is an open blob for serving.
type Blob struct {
	io.ReadSeekCloser
	Size    int64
	ModTime time.Time
}

// Open opens the blob for reading.
func (d *Dir) Open(ctx context.Context, key string) (*Blob, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat blob %s: %w", key, err)
	}
	return &Blob{ReadSeekCloser: f, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Walk calls fn for every blob with its last modification time.
func (d *Dir) Walk(ctx context.Context, fn func(key string, modTime time.Time) error) error {
	return filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !ValidKey(e.Name()) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return nil // removed while walking
		}
		return fn(e.Name(), info.ModTime())
	})
}

// Get reads a whole blob.
func (d *Dir) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := d.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return io.ReadAll(b)
}

// tempPrefix starts the name of a blob being written; no key starts with
// a dot.
const tempPrefix = ".tmp-"

// RemoveTemps deletes the temporary files of writes that began before
// olderThan and never finished: a process killed in the middle of a Put
// leaves one, which no key names and Walk does not show.
func (d *Dir) RemoveTemps(ctx context.Context, olderThan time.Time) (int, error) {
	removed := 0
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil || info.ModTime().After(olderThan) {
			return nil // gone, or a write that may still be running
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		removed++
		crashpoint.Hit(crashpoint.TempRemoved)
		return nil
	})
	if err != nil {
		return removed, fmt.Errorf("remove unfinished blobs: %w", err)
	}
	return removed, nil
}
