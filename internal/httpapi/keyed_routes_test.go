package httpapi_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/httpapi"
	"github.com/photofeed/photofeed/internal/sqlite"
)

// withKeys puts the real idempotency middleware, on a SQLite key store,
// in front of the keyed routes.
func withKeys(t *testing.T, f *fakes) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.deps = func(d *httpapi.Deps) {
		d.Idempotency = &idempotency.Config{Store: db.Idempotency(), SpoolDir: t.TempDir(),
			Scope: func(r *http.Request) string { return r.Header.Get("Authorization") }}
	}
}

// A post upload under an Idempotency-Key, required on v2 and optional on
// v1: a retry is answered from the first request, never run twice.
func TestKeyedPostUpload(t *testing.T) {
	photo := []byte("\xff\xd8\xff photo bytes")
	for _, tc := range []struct {
		name string
		// before, if set, is a request with the same key sent first;
		// inFlight keeps it running while the request under test is sent.
		before   *call
		inFlight bool
		call     call
		key      string
		status   int
		problem  string
		replayed bool
		creates  int // Create calls in all
	}{
		{name: "v2 without a key", call: uploadCall("/v2/posts", annToken, photo, "Sunset"),
			status: 400, problem: "idempotency-key-missing"},
		{name: "v1 without a key", call: uploadCall("/v1/posts", annToken, photo, "Sunset"),
			status: 201, creates: 1},
		{name: "v2 first with a key", call: uploadCall("/v2/posts", annToken, photo, "Sunset"), key: `"k1"`,
			status: 201, creates: 1},
		{name: "v2 retry", before: ptr(uploadCall("/v2/posts", annToken, photo, "Sunset")),
			call: uploadCall("/v2/posts", annToken, photo, "Sunset"), key: `"k1"`,
			status: 201, replayed: true, creates: 1},
		{name: "v1 retry", before: ptr(uploadCall("/v1/posts", annToken, photo, "Sunset")),
			call: uploadCall("/v1/posts", annToken, photo, "Sunset"), key: `"k1"`,
			status: 201, replayed: true, creates: 1},
		{name: "key reused with another caption", before: ptr(uploadCall("/v2/posts", annToken, photo, "Sunset")),
			call: uploadCall("/v2/posts", annToken, photo, "Sunrise"), key: `"k1"`,
			status: 422, problem: "idempotency-key-reused", creates: 1},
		{name: "key in use", before: ptr(uploadCall("/v2/posts", annToken, photo, "Sunset")), inFlight: true,
			call: uploadCall("/v2/posts", annToken, photo, "Sunset"), key: `"k1"`,
			status: 409, problem: "idempotency-key-in-use", creates: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes(t)
			withKeys(t, f)
			firstDone := make(chan int, 1)
			entered, release := make(chan struct{}), make(chan struct{})
			if tc.inFlight {
				f.posts.hold = func() { close(entered); <-release }
			}
			if tc.before != nil {
				go func() { firstDone <- f.doKeyed(*tc.before, tc.key).Code }()
				if tc.inFlight {
					<-entered
				} else if code := <-firstDone; code != 201 {
					t.Fatalf("first request: %d", code)
				}
			}
			w := f.doKeyed(tc.call, tc.key)
			if tc.inFlight {
				close(release)
				if code := <-firstDone; code != 201 {
					t.Errorf("the request in flight answered %d", code)
				}
			}
			if w.Code != tc.status {
				t.Fatalf("answered %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.problem != "" {
				if p := problemOf(t, w); p.Type != "/problems/"+tc.problem {
					t.Errorf("problem %+v, want type /problems/%s", p, tc.problem)
				}
			}
			if tc.inFlight && w.Header().Get("Retry-After") == "" {
				t.Error("a key in use without Retry-After")
			}
			if got := w.Header().Get(idempotency.ReplayedHeader) == "true"; got != tc.replayed {
				t.Errorf("%s %q, want replayed %v", idempotency.ReplayedHeader, w.Header().Get(idempotency.ReplayedHeader), tc.replayed)
			}
			if tc.replayed && w.Header().Get("Location") != tc.call.path+"/20" {
				t.Errorf("replayed Location %q", w.Header().Get("Location"))
			}
			if len(f.posts.created) != tc.creates {
				t.Errorf("created %q, want %d", f.posts.created, tc.creates)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
