package app

import (
	"bytes"
	"fmt"
	"image/color"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// With every validity-check slot of the node taken (uploads being checked
// already), an upload waits for one briefly and is then refused with 503,
// Retry-After and a problem+json body, instead of adding one more check's
// CPU; once a slot is free, the same upload is accepted.
func TestUploadOverTheCheckSlotsIs503(t *testing.T) {
	w := newWorld(t, "--upload-wait", "0s")
	token := w.signIn("uploader")
	n := 0
	upload := func() *httptest.ResponseRecorder {
		n++
		ct, body := UploadForm(SampleJPEG(t, 64, 64, color.RGBA{70, 140, 210, 255}), "hello")
		req := httptest.NewRequest("POST", "/v2/posts", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", fmt.Sprintf(`"upload-%d"`, n))
		rec := httptest.NewRecorder()
		w.n.handler.ServeHTTP(rec, req)
		return rec
	}

	var held []func()
	for range w.n.checks.Size() {
		release, err := w.n.checks.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	started := time.Now()
	rec := upload()
	waited := time.Since(started)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(rec.Body.String(), `/problems/unavailable`) {
		t.Fatalf("upload with the %d check slots taken: %d %v %s, want 503 problem+json with Retry-After",
			w.n.checks.Size(), rec.Code, rec.Header(), rec.Body)
	}
	t.Logf("refused after waiting %s for one of %d check slots", waited.Round(time.Millisecond), w.n.checks.Size())

	for _, release := range held {
		release()
	}
	if rec := upload(); rec.Code != 201 {
		t.Fatalf("upload with the slots free: %d %s", rec.Code, rec.Body)
	}
}
