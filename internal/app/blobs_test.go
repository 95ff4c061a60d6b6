package app_test

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
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

// An object store that is down or hangs costs an upload and a media read a
// bounded wait, answered 503 with Retry-After, and once the store is known
// to be down, no wait at all; nothing of a refused upload becomes visible,
// and uploads work again once the store is back.
func TestObjectStoreDownOrHanging(t *testing.T) {
	store := testenv.StartS3(t)
	// One node's bounds: --roles keeps the test on one node in the cluster
	// test mode, where the gateway would retry a 503 on each other node,
	// each waiting out its own deadline before its breaker opens.
	s := startEnv(t, store.Env(nil), "--blobs", store.URL, "--blobs-ca", store.CAFile, "--roles", "api,worker")
	alice := s.client(t)
	alice.signup("alice")
	before := alice.post("before the outage")
	photo := app.SampleJPEG(t, 64, 48, color.RGBA{200, 10, 10, 255})

	for _, tc := range []struct {
		name  string
		fault testenv.S3Fault
		bound time.Duration // the first failing call; later ones, once the breaker opened, get 1 s
	}{
		{"down", testenv.S3Down, 5 * time.Second},
		{"hanging", testenv.S3Hangs, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.Eventually(t, "uploads to work before the fault (the breaker closed)", 30*time.Second, func() bool {
				return alice.upload("/v1/posts", photo, "before the fault").StatusCode == http.StatusCreated
			})
			store.SetFault(tc.fault)
			defer store.SetFault(testenv.S3Healthy)
			var slowest time.Duration
			for i := range 8 {
				bound := tc.bound
				if i >= 6 {
					bound = time.Second
				}
				start := time.Now()
				r := alice.upload("/v1/posts", photo, fmt.Sprintf("during the outage %d", i))
				took := time.Since(start)
				r.problem(t, http.StatusServiceUnavailable)
				retryAfter(t, r)
				if took > bound {
					t.Fatalf("upload %d answered after %s, want within %s", i, took.Round(time.Millisecond), bound)
				}
				start = time.Now()
				m := alice.do("GET", before.Images.Large, nil)
				took = time.Since(start)
				m.problem(t, http.StatusServiceUnavailable)
				if took > bound {
					t.Fatalf("media read %d answered after %s, want within %s", i, took.Round(time.Millisecond), bound)
				}
				slowest = max(slowest, took)
			}
			t.Logf("store %s: the slowest failing call took %s", tc.name, slowest.Round(time.Millisecond))
		})
	}

	testenv.Eventually(t, "uploads to work again once the store is back", 30*time.Second, func() bool {
		return alice.upload("/v1/posts", photo, "after the outage").StatusCode == http.StatusCreated
	})
	var list struct{ Items []post }
	alice.do("GET", "/v1/users/alice/posts?limit=100", nil).json(t, &list)
	for _, p := range list.Items {
		if strings.HasPrefix(p.Caption, "during the outage") {
			t.Errorf("a refused upload became a post: %+v", p)
		}
	}
	if len(list.Items) != 4 || list.Items[len(list.Items)-1].ID != before.ID {
		t.Fatalf("alice's posts: %d, want the one before, one before each fault and one after", len(list.Items))
	}
}
