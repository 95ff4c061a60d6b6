package idempotency_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/photofeed/photofeed/idempotency"
)

// The body a handler gets says its whole size, in memory or spooled, so a
// handler can allocate what it keeps of it once.
func TestHeldBodySaysItsSize(t *testing.T) {
	for _, size := range []int64{0, 10, 1 << 20, 3 << 20} {
		var said, read int64
		f := newFixture(t, func(f *fixture) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				b, ok := r.Body.(interface{ Size() int64 })
				if !ok {
					t.Errorf("%d bytes: the body does not say its size", size)
				} else {
					said = b.Size()
				}
				read, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(201)
			}
		}, func(c *idempotency.Config) { c.SpoolDir = t.TempDir() })
		if w := f.stream("u", `"k"`, "application/octet-stream", io.LimitReader(&pattern{}, size)); w.Code != 201 {
			t.Fatalf("%d bytes: %d %s", size, w.Code, w.Body)
		}
		if said != size || read != size {
			t.Fatalf("%d bytes sent: the body says %d, %d read", size, said, read)
		}
	}
}
