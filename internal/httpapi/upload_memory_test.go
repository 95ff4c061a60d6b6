package httpapi

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
)

// claimAll is a Store whose every key is new: enough to run a request
// through the middleware once.
type claimAll struct{}

func (claimAll) Claim(context.Context, string, string, time.Time, time.Duration, time.Duration) (*idempotency.Record, bool, error) {
	return nil, true, nil
}
func (claimAll) Complete(context.Context, string, idempotency.Response, time.Time) error { return nil }
func (claimAll) Release(context.Context, string) error                                   { return nil }
func (claimAll) DeleteExpired(context.Context, time.Time) (int, error)                   { return 0, nil }

// The photo of an upload is held whole in memory while it is checked and
// stored (media.Validate and the blob store take it as bytes), even after
// the idempotency middleware has spooled the body to a file: that one copy
// is the figure the README and the idempotency package doc state per
// upload. Read from the spool, whose size is known, it is allocated once,
// not grown (an unsized read of 20 MiB allocates about 48 MiB).
func TestUploadHoldsThePhotoOnce(t *testing.T) {
	const size = 20 << 20
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("caption", "sunrise")
	fw, _ := mw.CreateFormFile("photo", "p.jpg")
	fw.Write(bytes.Repeat([]byte{0xa5}, size))
	mw.Close()

	a := New(Deps{MaxUploadBytes: size})
	var allocated uint64
	h := idempotency.Middleware(idempotency.Config{
		Store: claimAll{}, Scope: func(*http.Request) string { return "u" }, MaxBody: a.uploadLimit(), SpoolDir: t.TempDir(),
		Problem: func(w http.ResponseWriter, _ *http.Request, status int, slug, _ string) { http.Error(w, slug, status) },
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		caption, photo, p := a.readUpload(w, r)
		runtime.ReadMemStats(&after)
		allocated = after.TotalAlloc - before.TotalAlloc
		if p != nil || caption != "sunrise" || len(photo) != size || photo[size-1] != 0xa5 {
			t.Errorf("readUpload: %v, caption %q, photo %d bytes", p, caption, len(photo))
		}
		w.WriteHeader(201)
	}))
	r := httptest.NewRequest("POST", "/v2/posts", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Idempotency-Key", `"k"`)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 201 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	t.Logf("a %d MiB photo read from the spooled body: %.1f MiB allocated (%.2f× the photo)", size>>20, float64(allocated)/(1<<20), float64(allocated)/size)
	if bound := uint64(size + 1<<20); allocated > bound {
		t.Fatalf("reading a %d MiB photo allocated %.1f MiB, over the bound of %.1f MiB", size>>20, float64(allocated)/(1<<20), float64(bound)/(1<<20))
	}
}
