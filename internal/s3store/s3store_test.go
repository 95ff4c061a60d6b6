package s3store_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/blobstore/blobtest"
	"github.com/photofeed/photofeed/internal/s3store"
	"github.com/photofeed/photofeed/internal/testenv"
)

func open(t *testing.T) (*s3store.Store, *testenv.S3) {
	t.Helper()
	srv := testenv.StartS3(t)
	s, err := s3store.Open(context.Background(), srv.URL, s3store.Options{
		HTTPClient: srv.Client, Getenv: srv.Env(nil), Threshold: 8 << 20, PartSize: 5 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, srv
}

func TestS3(t *testing.T) {
	s, srv := open(t)
	blobtest.Run(t, s)
	// The 12 MiB blob went up in 5 MiB parts: 3 of them.
	if got := srv.Parts.Load(); got != 3 {
		t.Errorf("multipart upload sent %d parts, want 3", got)
	}
}

func TestPresignedGet(t *testing.T) {
	s, srv := open(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "presign1.jpg", []byte("jpeg bytes")); err != nil {
		t.Fatal(err)
	}
	u, err := s.PresignGet(ctx, "presign1.jpg", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, srv.Endpoint+"/") || !strings.Contains(u, "X-Amz-Signature=") {
		t.Fatalf("presigned URL %s is not a signed URL on the store", u)
	}
	res, err := srv.Client.Get(u) // no credentials: the signature is the permission
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "jpeg bytes" {
		t.Fatalf("GET presigned: %d %q", res.StatusCode, body)
	}
}

func TestOpenRejectsBadURLsAndMissingBuckets(t *testing.T) {
	srv := testenv.StartS3(t)
	ctx := context.Background()
	for _, u := range []string{"http://bucket", "s3://", "s3:///prefix"} {
		if _, err := s3store.Open(ctx, u, s3store.Options{Getenv: srv.Env(nil)}); err == nil {
			t.Errorf("Open(%q): no error", u)
		}
	}
	missing := strings.Replace(srv.URL, srv.Bucket(), "no-such-bucket", 1)
	if _, err := s3store.Open(ctx, missing, s3store.Options{HTTPClient: srv.Client, Getenv: srv.Env(nil)}); err == nil {
		t.Error("opening a missing bucket: no error")
	}
}
