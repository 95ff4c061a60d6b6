// Package blobtest is the behaviour every blob store owes the application,
// run against each backend by its own tests.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/blobstore"
)

// Store is a blob backend.
type Store interface {
	Put(ctx context.Context, key string, data []byte) (bool, error)
	Delete(ctx context.Context, key string) error
	Get(ctx context.Context, key string) ([]byte, error)
	Open(ctx context.Context, key string) (*blobstore.Blob, error)
	Walk(ctx context.Context, fn func(key string, modTime time.Time) error) error
}

// LargeSize is the size of the large blob the suite writes: above the
// S3 backend's multipart threshold when its test lowers it to 8 MiB.
const LargeSize = 12 << 20

// Run checks s, which must start empty.
func Run(t *testing.T, s Store) {
	ctx := context.Background()
	t.Run("PutOpenDelete", func(t *testing.T) { checkPutOpenDelete(ctx, t, s) })
	t.Run("InvalidKeys", func(t *testing.T) { checkInvalidKeys(ctx, t, s) })
	t.Run("Large", func(t *testing.T) { checkLarge(ctx, t, s) })
	t.Run("Walk", func(t *testing.T) { checkWalk(ctx, t, s) })
	t.Run("RacingPuts", func(t *testing.T) { checkRacingPuts(ctx, t, s) })
}

// checkRacingPuts: of puts racing for one key, one creates the blob and
// the others are told it was there, and the bytes are the creator's. A
// post's upload is named by its id, and two nodes that made the same id
// put theirs at once: the one told "there" takes a fresh id, so a blob the
// other's post points at must hold the other's bytes.
func checkRacingPuts(ctx context.Context, t *testing.T, s Store) {
	const writers = 8
	for round := range 5 {
		key := fmt.Sprintf("race%d.upload", round)
		created := make([]bool, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				<-start
				c, err := s.Put(ctx, key, []byte(fmt.Sprintf("writer %d", i)))
				if err != nil {
					t.Errorf("put %d: %v", i, err)
				}
				created[i] = c
			})
		}
		close(start)
		wg.Wait()
		var creators []int
		for i, c := range created {
			if c {
				creators = append(creators, i)
			}
		}
		if len(creators) != 1 {
			t.Fatalf("round %d: writers %v all created %s; want exactly one", round, creators, key)
		}
		got, err := s.Get(ctx, key)
		if want := fmt.Sprintf("writer %d", creators[0]); err != nil || string(got) != want {
			t.Fatalf("round %d: %s holds %q, %v; want its creator's %q", round, key, got, err, want)
		}
	}
}

// checkPutOpenDelete: a put creates once, the blob reads back with its
// size and time, and deletes (twice) leave it not found.
func checkPutOpenDelete(ctx context.Context, t *testing.T, s Store) {
	created, err := s.Put(ctx, "abc123.jpg", []byte("bytes"))
	if err != nil || !created {
		t.Fatalf("first put: created=%v err=%v", created, err)
	}
	created, err = s.Put(ctx, "abc123.jpg", []byte("bytes"))
	if err != nil || created {
		t.Fatalf("second put: created=%v err=%v, want existing", created, err)
	}
	b, err := s.Open(ctx, "abc123.jpg")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if string(got) != "bytes" || b.Size != 5 {
		t.Fatalf("read %q size %d", got, b.Size)
	}
	if age := time.Since(b.ModTime); age < -time.Minute || age > time.Minute {
		t.Errorf("mod time %v is not about now", b.ModTime)
	}
	if err := s.Delete(ctx, "abc123.jpg"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "abc123.jpg"); err != nil {
		t.Fatalf("deleting a missing blob: %v", err)
	}
	if _, err := s.Open(ctx, "abc123.jpg"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("open after delete: %v", err)
	}
	if _, err := s.Get(ctx, "abc123.jpg"); !errors.Is(err, blobstore.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

// checkInvalidKeys: keys outside the store's alphabet neither store nor
// open.
func checkInvalidKeys(ctx context.Context, t *testing.T, s Store) {
	for _, key := range []string{"../escape.jpg", "a/b.jpg", "", "UPPER.jpg"} {
		if _, err := s.Put(ctx, key, []byte("x")); err == nil {
			t.Errorf("put %q: no error", key)
		}
		if _, err := s.Open(ctx, key); !errors.Is(err, blobstore.ErrNotFound) {
			t.Errorf("open %q: %v, want not found", key, err)
		}
	}
}

// checkLarge round-trips a blob of LargeSize bytes and a little more.
func checkLarge(ctx context.Context, t *testing.T, s Store) {
	data := bytes.Repeat([]byte("0123456789abcdef"), LargeSize/16)
	data = append(data, "tail"...)
	created, err := s.Put(ctx, "large0001.jpg", data)
	if err != nil || !created {
		t.Fatalf("put large: created=%v err=%v", created, err)
	}
	if created, err := s.Put(ctx, "large0001.jpg", data); err != nil || created {
		t.Fatalf("second put large: created=%v err=%v", created, err)
	}
	got, err := s.Get(ctx, "large0001.jpg")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get large: %d bytes, err %v; want %d bytes back", len(got), err, len(data))
	}
	if err := s.Delete(ctx, "large0001.jpg"); err != nil {
		t.Fatal(err)
	}
}

// checkWalk: Walk sees every key with its time, and stops on fn's error.
func checkWalk(ctx context.Context, t *testing.T, s Store) {
	want := []string{"walk1.png", "walk2.jpg", "walk3.jpg"}
	for _, k := range want {
		if _, err := s.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := s.Walk(ctx, func(key string, mod time.Time) error {
		if mod.IsZero() {
			t.Errorf("%s: no modification time", key)
		}
		got = append(got, key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("walk saw %v, want %v", got, want)
	}
	stop := errors.New("stop")
	if err := s.Walk(ctx, func(string, time.Time) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("walk did not return fn's error: %v", err)
	}
}
