package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// S3 is an in-process S3 server (gofakes3) behind TLS on a loopback port,
// with one bucket, for as long as the test runs.
type S3 struct {
	// URL is the --blobs URL of the bucket.
	URL string
	// Endpoint is the server's https:// address.
	Endpoint string
	// Client trusts the server's certificate; CAFile holds that
	// certificate in PEM for a process given a file instead.
	Client *http.Client
	CAFile string
	// Parts counts multipart UploadPart requests.
	Parts atomic.Int64

	fault atomic.Int32 // an S3Fault
}

// S3Fault is how the server misbehaves, for degradation tests.
type S3Fault int32

const (
	S3Healthy S3Fault = iota
	S3Down            // every request's connection is closed unanswered
	S3Hangs           // every request waits until its client gives up, unanswered
)

// SetFault makes the server misbehave from now on (S3Healthy: stop).
func (s *S3) SetFault(f S3Fault) { s.fault.Store(int32(f)) }

// StartS3 starts the server, with the credentials the tests use in the
// environment of the process (gofakes3 accepts any).
func StartS3(t testing.TB) *S3 {
	t.Helper()
	backend := s3mem.New()
	var b [4]byte
	rand.Read(b[:])
	bucket := "photofeed-" + hex.EncodeToString(b[:])
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	s := &S3{}
	closing := make(chan struct{})
	fake := gofakes3.New(backend, gofakes3.WithTimeSkewLimit(0)).Server()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch S3Fault(s.fault.Load()) {
		case S3Down:
			panic(http.ErrAbortHandler) // the connection closes, no answer
		case S3Hangs:
			select {
			case <-r.Context().Done():
			case <-closing:
			}
			// A store that hangs never answers: whatever ended the wait,
			// the connection closes unanswered, not with an empty 200.
			panic(http.ErrAbortHandler)
		}
		if r.Method == http.MethodPut && r.URL.Query().Has("partNumber") {
			s.Parts.Add(1)
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(closing) }) // runs first: Close waits for hanging requests
	s.Endpoint = srv.URL
	s.Client = srv.Client()
	s.URL = "s3://" + bucket + "/media?region=us-east-1&path_style=true&endpoint=" + srv.URL
	s.CAFile = filepath.Join(t.TempDir(), "s3-ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(s.CAFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// Env adds the credentials gofakes3 takes to getenv.
func (s *S3) Env(getenv func(string) string) func(string) string {
	return func(k string) string {
		switch k {
		case "AWS_ACCESS_KEY_ID":
			return "photofeed-test"
		case "AWS_SECRET_ACCESS_KEY":
			return "photofeed-test-secret"
		}
		if getenv != nil {
			return getenv(k)
		}
		return ""
	}
}

// Bucket is the bucket's name.
func (s *S3) Bucket() string {
	return strings.TrimPrefix(s.URL[:strings.Index(s.URL, "/media")], "s3://")
}
