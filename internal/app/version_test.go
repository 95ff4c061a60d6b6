package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

func TestVersions(t *testing.T) {
	s := start(t)
	c := s.client(t)
	c.signup("alice")
	p := c.post("hello v2")

	// v2 shapes: grouped counts, image dimensions, author profile links.
	var u2 struct {
		Counts struct{ Followers, Following, Posts int }
	}
	r := c.do("GET", "/v2/users/alice", nil)
	r.json(t, &u2)
	if r.StatusCode != 200 || u2.Counts.Posts != 1 || strings.Contains(string(r.Body), "followers_count") {
		t.Fatalf("v2 user: %d %s", r.StatusCode, r.Body)
	}
	var p2 struct {
		Author struct{ Profile string }
		Images struct {
			Thumb, Large struct {
				URL           string
				Width, Height int
			}
		}
	}
	c.do("GET", "/v2/posts/"+p.ID, nil).json(t, &p2)
	if p2.Author.Profile != "/v2/users/alice" || p2.Images.Large.Width != 64 || p2.Images.Large.Height != 48 || !strings.HasPrefix(p2.Images.Thumb.URL, "/media/") {
		t.Fatalf("v2 post: %+v", p2)
	}
	var feed2 struct{ Items []map[string]any }
	c.do("GET", "/v2/feed", nil).json(t, &feed2)
	if len(feed2.Items) != 1 || feed2.Items[0]["author"].(map[string]any)["profile"] == nil {
		t.Fatalf("v2 feed: %+v", feed2)
	}

	// v1 is deprecated, says until when, and links its successor; v2 is not.
	r = c.do("GET", "/v1/users/alice", nil)
	if r.Header.Get("Deprecation") != "@1798761600" || r.Header.Get("Sunset") != "Thu, 01 Jul 2027 00:00:00 GMT" ||
		linkRel(r, "successor-version") != "/v2/users/alice" {
		t.Fatalf("v1 headers: %v", r.Header)
	}
	if r := c.do("GET", "/v2/users/alice", nil); r.Header.Get("Deprecation") != "" || r.Header.Get("Sunset") != "" {
		t.Fatalf("v2 marked deprecated: %v", r.Header)
	}
	if r := c.do("GET", "/v1/users/nobody", nil); r.StatusCode != 404 || r.Header.Get("Deprecation") == "" {
		t.Fatal("v1 errors must carry Deprecation too")
	}

	// Unversioned paths pick the version from Accept; the latest by default.
	for _, tc := range []struct {
		accept  string
		status  int
		version string
	}{
		{"application/vnd.photofeed+json; version=1", 200, "1"},
		{"application/vnd.photofeed+json;version=2", 200, "2"},
		{"application/vnd.photofeed+json", 200, "2"},
		{"application/json", 200, "2"},
		{"", 200, "2"},
		{"application/vnd.photofeed+json; version=3", 406, ""},
	} {
		r := c.do("GET", "/users/alice", nil, "Accept", tc.accept)
		if r.StatusCode != tc.status {
			t.Fatalf("Accept %q: %d %s", tc.accept, r.StatusCode, r.Body)
		}
		if !strings.Contains(r.Header.Get("Vary"), "Accept") {
			t.Errorf("Accept %q: no Vary: Accept", tc.accept)
		}
		if tc.status != 200 {
			continue
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/vnd.photofeed+json; version="+tc.version {
			t.Errorf("Accept %q: Content-Type %q", tc.accept, ct)
		}
		if v1 := strings.Contains(string(r.Body), "followers_count"); v1 != (tc.version == "1") {
			t.Errorf("Accept %q: wrong shape %s", tc.accept, r.Body)
		}
	}

	// v2 requires an Idempotency-Key on uploads; v1 does not.
	ct, body := multipartBody(t, "v2 upload")
	r = c.do("POST", "/v2/posts", bytes.NewReader(body), "Content-Type", ct)
	if pr := r.problem(t, 400); pr["type"] != "/problems/idempotency-key-missing" {
		t.Fatalf("v2 upload without key: %v", pr)
	}
	help := linkRel(r, "help")
	if doc := c.do("GET", help, nil); help != "/problems/idempotency-key-missing" || doc.StatusCode != 200 ||
		!strings.Contains(string(doc.Body), "Idempotency-Key") {
		t.Fatalf("the problem's documentation at %q: %d", help, doc.StatusCode)
	}
	r = c.do("POST", "/v2/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", `"v2-upload-1"`)
	if r.StatusCode != 201 || !strings.HasPrefix(r.Header.Get("Location"), "/v2/posts/") {
		t.Fatalf("v2 upload: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.do("POST", "/v1/posts", bytes.NewReader(body), "Content-Type", ct); r.StatusCode != 201 {
		t.Fatalf("v1 upload without key: %d", r.StatusCode)
	}
}

func TestOffsetPaginationLinks(t *testing.T) {
	s := start(t)
	star := s.client(t)
	star.signup("star")
	for i := range 5 {
		f := s.client(t)
		f.signup(fmt.Sprint("fan_", i))
		f.do("PUT", "/v1/me/following/star", nil)
	}
	// The follows are the fans' writes, not star's: star's read carries no
	// token for them, and on a replica it sees them once they are replayed.
	var r response
	testenv.Eventually(t, "star's five followers", 10*time.Second, func() bool {
		r = star.do("GET", "/v2/users/star/followers?limit=2&page=2", nil)
		return r.StatusCode == http.StatusOK && linkRel(r, "last") == "/v2/users/star/followers?limit=2&page=3"
	})
	want := map[string]string{
		"first": "/v2/users/star/followers?limit=2&page=1",
		"prev":  "/v2/users/star/followers?limit=2&page=1",
		"next":  "/v2/users/star/followers?limit=2&page=3",
		"last":  "/v2/users/star/followers?limit=2&page=3",
	}
	for rel, target := range want {
		if got := linkRel(r, rel); got != target {
			t.Errorf("rel=%s: %q, want %q", rel, got, target)
		}
	}
	r = star.do("GET", "/v2/users/star/followers?limit=2&page=3", nil)
	if linkRel(r, "next") != "" || linkRel(r, "prev") == "" {
		t.Errorf("last page links: %v", r.Header.Values("Link"))
	}
}
