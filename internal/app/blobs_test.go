package app_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

// Media in an S3 bucket: uploads land in the bucket, /media/ serves them
// through the app or redirects to a presigned URL, and a delete removes
// the objects.
func TestMediaOnS3(t *testing.T) {
	store := testenv.StartS3(t)
	s := startEnv(t, store.Env(nil), "--blobs", store.URL, "--blobs-ca", store.CAFile)
	alice := s.client(t)
	alice.signup("alice")
	p := alice.post("on s3")
	m := alice.do("GET", p.Images.Large, nil)
	if m.StatusCode != 200 || m.Header.Get("Content-Type") != "image/jpeg" || len(m.Body) == 0 {
		t.Fatalf("GET %s through the app: %d %v", p.Images.Large, m.StatusCode, m.Header)
	}
	large := m.Body
	// A photo this small is its own thumbnail: the variants share one key.
	testenv.Eventually(t, "the photo, and nothing else, in the bucket", 15*time.Second, func() bool { return countObjects(t, store) == 1 })

	// An instance on the same bucket with --media-redirect sends clients
	// to the store instead (media keys need no database lookup).
	r := startEnv(t, store.Env(nil), "--blobs", store.URL, "--blobs-ca", store.CAFile, "--media-redirect", "1h")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(r.URL + p.Images.Large)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, store.Endpoint+"/") || !strings.Contains(loc, "X-Amz-Signature=") {
		t.Fatalf("redirecting instance: %d Location %q", res.StatusCode, loc)
	}
	direct, err := store.Client.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(direct.Body)
	direct.Body.Close()
	if direct.StatusCode != 200 || !bytes.Equal(body, large) {
		t.Fatalf("presigned GET: %d, %d bytes (want the %d the app served)", direct.StatusCode, len(body), len(large))
	}

	if d := alice.do("DELETE", "/v1/posts/"+p.ID, nil); d.StatusCode != 204 {
		t.Fatalf("delete: %d %s", d.StatusCode, d.Body)
	}
	testenv.Eventually(t, "an empty bucket after the only post was deleted", 15*time.Second, func() bool { return countObjects(t, store) == 0 })
	alice.do("GET", p.Images.Large, nil).problem(t, 404)
}

// countObjects lists the bucket through the S3 API.
func countObjects(t *testing.T, store *testenv.S3) int {
	t.Helper()
	res, err := store.Client.Get(store.Endpoint + "/" + store.Bucket() + "?list-type=2&prefix=media/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return strings.Count(string(body), "<Key>")
}
