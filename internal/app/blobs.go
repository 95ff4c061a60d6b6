package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/internal/httpapi"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/s3store"
)

// blobBackend is where media bytes live: what the posts service writes
// and the media route serves.
type blobBackend interface {
	posts.Blobs
	httpapi.BlobOpener
}

type blobs struct {
	blobBackend
	s3 *s3store.Store // nil for the data dir
}

// redirect returns how /media/ answers with a presigned URL, or nil to
// serve bytes through the app.
func (b blobs) redirect(ttl time.Duration) func(ctx context.Context, key string) (string, error) {
	if b.s3 == nil || ttl <= 0 {
		return nil
	}
	return func(ctx context.Context, key string) (string, error) { return b.s3.PresignGet(ctx, key, ttl) }
}

// openBlobs opens --blobs: an S3 bucket, or the media directory in the
// data dir.
func openBlobs(ctx context.Context, cfg Config) (blobs, error) {
	if cfg.Blobs == "" {
		d, err := blobstore.OpenDir(filepath.Join(cfg.DataDir, "media"))
		return blobs{blobBackend: d}, err
	}
	var client *http.Client
	if cfg.BlobsCA != "" {
		pem, err := os.ReadFile(cfg.BlobsCA)
		if err != nil {
			return blobs{}, fmt.Errorf("--blobs-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return blobs{}, errors.New("--blobs-ca: no PEM certificates in " + cfg.BlobsCA)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		tr.MaxIdleConnsPerHost = 64 // every media request is a store request
		client = &http.Client{Transport: tr}
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := s3store.Open(ctx, cfg.Blobs, s3store.Options{HTTPClient: client, Getenv: cfg.getenv})
	if err != nil {
		return blobs{}, err
	}
	return blobs{blobBackend: s, s3: s}, nil
}

// mediaLinked reports whether the data dir's media directory is a link:
// one the operator points at a directory other instances share (as
// `photofeed cluster` does on one machine).
func mediaLinked(dataDir string) bool {
	fi, err := os.Lstat(filepath.Join(dataDir, "media"))
	return err == nil && fi.Mode()&os.ModeSymlink != 0
}
