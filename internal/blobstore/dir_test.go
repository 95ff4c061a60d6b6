package blobstore_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/photofeed/photofeed/internal/blobstore"
)

func TestDirPutOpenDelete(t *testing.T) {
	ctx := context.Background()
	d, err := blobstore.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	created, err := d.Put(ctx, "abc123.jpg", []byte("bytes"))
	if err != nil || !created {
		t.Fatalf("first put: created=%v err=%v", created, err)
	}
	created, err = d.Put(ctx, "abc123.jpg", []byte("bytes"))
	if err != nil || created {
		t.Fatalf("second put: created=%v err=%v, want existing", created, err)
	}
	b, err := d.Open(ctx, "abc123.jpg")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if string(got) != "bytes" || b.Size != 5 {
		t.Fatalf("read %q size %d", got, b.Size)
	}
	if err := d.Delete(ctx, "abc123.jpg"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "abc123.jpg"); err != nil {
		t.Fatalf("deleting a missing blob: %v", err)
	}
	if _, err := d.Open(ctx, "abc123.jpg"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("open after delete: %v", err)
	}
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
