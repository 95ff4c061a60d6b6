package httpapi_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/internal/httpapi"
)

// fakeBlobs holds blobs by key in memory.
type fakeBlobs struct {
	blobs map[string]string
	err   error
}

func (b *fakeBlobs) Open(_ context.Context, key string) (*blobstore.Blob, error) {
	if b.err != nil {
		return nil, b.err
	}
	data, ok := b.blobs[key]
	if !ok {
		return nil, blobstore.ErrNotFound
	}
	return &blobstore.Blob{ReadSeekCloser: nopCloser{strings.NewReader(data)}, Size: int64(len(data)),
		ModTime: time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)}, nil
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

func withBlobs(b *fakeBlobs) func(*fakes) {
	return func(f *fakes) { f.deps = func(d *httpapi.Deps) { d.Blobs = b } }
}

// The media route, serving bytes or sending to the object store, with
// every status code it answers.
func TestMediaRoute(t *testing.T) {
	stored := &fakeBlobs{blobs: map[string]string{"abc.jpg": "jpeg bytes", "0000-20.upload": "raw upload"}}
	runRoutes(t, []routeCase{
		{name: "an image",
			call: call{"GET", "/media/abc.jpg", "", "", ""}, setup: withBlobs(stored), status: 200,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				h := w.Header()
				if w.Body.String() != "jpeg bytes" || h.Get("Content-Type") != "image/jpeg" || h.Get("ETag") != `"abc"` ||
					!strings.Contains(h.Get("Cache-Control"), "immutable") {
					t.Errorf("answered %q with %v", w.Body, h)
				}
			}},
		{name: "an upload awaiting processing",
			call: call{"GET", "/media/0000-20.upload", "", "", ""}, setup: withBlobs(stored),
			status: 404, problem: "not-found"},
		{name: "no such image",
			call: call{"GET", "/media/nope.png", "", "", ""}, setup: withBlobs(stored),
			status: 404, problem: "not-found"},
		{name: "the store down",
			call: call{"GET", "/media/abc.jpg", "", "", ""}, setup: withBlobs(&fakeBlobs{err: errPrimaryDown}),
			status: 503, problem: "unavailable"},
		{name: "sent to the object store",
			call: call{"GET", "/media/abc.jpg", "", "", ""},
			setup: func(f *fakes) {
				f.deps = func(d *httpapi.Deps) {
					d.MediaRedirect = func(_ context.Context, key string) (string, error) {
						return "https://bucket.example/" + key + "?sig=x", nil
					}
				}
			},
			status: 302,
			check: func(t *testing.T, _ *fakes, w *httptest.ResponseRecorder) {
				if loc := w.Header().Get("Location"); loc != "https://bucket.example/abc.jpg?sig=x" || w.Header().Get("Cache-Control") != "private, max-age=60" {
					t.Errorf("Location %q, Cache-Control %q", loc, w.Header().Get("Cache-Control"))
				}
			}},
	})
}
