package app_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

// An edge cache (nginx proxy_cache) in front of photofeed keeps media for
// a year; deleting the photo purges it there through --cdn-purge-url.
func TestCDNPurgeOnDelete(t *testing.T) {
	edge := testenv.ReserveCachingProxy(t)
	s := start(t, "--cdn-purge-url", edge.URL+"/purge{path}", "--cdn-purge-method", "POST")
	edge.Start(t, s.URL)

	alice := s.client(t)
	alice.signup("alice")
	p := alice.post("cached at the edge")
	get := func() (int, string) {
		res, err := http.Get(edge.URL + p.Images.Large)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, res.Header.Get("X-Cache")
	}
	if code, cache := get(); code != 200 || cache != "MISS" {
		t.Fatalf("first GET through the edge: %d X-Cache %q, want 200 MISS", code, cache)
	}
	if code, cache := get(); code != 200 || cache != "HIT" {
		t.Fatalf("second GET through the edge: %d X-Cache %q, want 200 HIT", code, cache)
	}

	if r := alice.do("DELETE", "/v1/posts/"+p.ID, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	// Until the purge the edge would keep its copy for a year; the purge
	// makes it ask photofeed, which no longer has the photo.
	testenv.Eventually(t, "the edge to stop serving the deleted photo", 15*time.Second, func() bool {
		code, _ := get()
		return code == 404
	})
	if code, cache := get(); code != 404 || cache != "HIT" {
		t.Fatalf("after the purge: %d X-Cache %q, want the 404 cached", code, cache)
	}
}
