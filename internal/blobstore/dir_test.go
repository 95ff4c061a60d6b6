package blobstore_test

import (
	"testing"

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
