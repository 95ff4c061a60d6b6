package blobstore_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/internal/blobstore/blobtest"
)

func TestDir(t *testing.T) {
	d, err := blobstore.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobtest.Run(t, d)
}

func TestValidKey(t *testing.T) {
	for key, want := range map[string]bool{
		"abc.jpg": true, "0f9e.png": true, "a-b_c": true,
		"": false, "ab": false, "../etc/passwd": false, "a/b.jpg": false, ".hidden": false,
		"a.b.c": false, "ABC.jpg": false, "abc.jpg\x00": false,
	} {
		if got := blobstore.ValidKey(key); got != want {
			t.Errorf("ValidKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// The temporary file a killed write left is removed once old; a fresh
// one (a write that may be running) and the blobs stay.
func TestRemoveTemps(t *testing.T) {
	root := t.TempDir()
	d, err := blobstore.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(t.Context(), "ab-blob.jpg", []byte("x")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for name, mod := range map[string]time.Time{".tmp-killed": old, ".tmp-running": time.Now()} {
		p := filepath.Join(root, "ab", name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mod, mod)
	}
	os.Chtimes(filepath.Join(root, "ab", "ab-blob.jpg"), old, old)
	n, err := d.RemoveTemps(t.Context(), time.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v; want the killed write's file", n, err)
	}
	for _, name := range []string{".tmp-running", "ab-blob.jpg"} {
		if _, err := os.Stat(filepath.Join(root, "ab", name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "ab", ".tmp-killed")); !os.IsNotExist(err) {
		t.Errorf("the killed write's file: %v", err)
	}
}

// A media directory from before blobs were private (0755 directories,
// 0644 files) is made the owner's alone when opened, its blobs intact.
func TestOpenDirMakesOldMediaPrivate(t *testing.T) {
	root := filepath.Join(t.TempDir(), "media")
	for _, f := range []string{"ab/abcdef.jpg", "ab/abcdef_thumb.jpg", "cd/cdef01.png"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chmodTree(t, root, 0o755, 0o644) // whatever this test's umask
	d, err := blobstore.OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	checkModes(t, root, 0o700, 0o600)
	var keys []string
	if err := d.Walk(t.Context(), func(key string, _ time.Time) error {
		keys = append(keys, key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Errorf("Walk: %v, want the 3 blobs", keys)
	}
}

func chmodTree(t *testing.T, root string, dir, file os.FileMode) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, dir)
		}
		return os.Chmod(p, file)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkModes(t *testing.T, root string, dir, file os.FileMode) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := file
		if d.IsDir() {
			want = dir
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: %s, want %s", p, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
