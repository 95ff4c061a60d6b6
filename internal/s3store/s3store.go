// Package s3store keeps blobs in an S3 bucket (AWS, or any S3-compatible
// store such as MinIO or Ceph), with the same write-once, content-addressed
// use as the local directory store.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/resilience"
)

// Defaults for multipart uploads: objects above MultipartThreshold go up in
// parts of PartSize (S3's minimum part is 5 MiB), so a large original is
// not one long request that a dropped connection restarts from zero.
const (
	MultipartThreshold = 16 << 20
	PartSize           = 8 << 20
)

// Store is a bucket, optionally under a key prefix.
type Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
	prefix  string
	guard   *resilience.Guard

	threshold, partSize int64
}

// Options are what the s3:// URL does not carry.
type Options struct {
	// HTTPClient talks to the store (nil: the SDK's), e.g. one trusting a
	// private CA.
	HTTPClient *http.Client
	// Getenv reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
	// AWS_SESSION_TOKEN); without them the SDK's default chain applies.
	Getenv func(string) string
	// Threshold and PartSize override the multipart defaults.
	Threshold, PartSize int64
}

// Open connects to the bucket named by rawURL:
//
//	s3://bucket[/prefix]?region=eu-west-1&endpoint=https://minio:9000&path_style=true
//
// and checks that the bucket can be reached.
func Open(ctx context.Context, rawURL string, o Options) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("--blobs: want s3://bucket[/prefix]?region=...&endpoint=..., got %q", rawURL)
	}
	q := u.Query()
	region := q.Get("region")
	if region == "" {
		region = "us-east-1"
	}
	pathStyle, _ := strconv.ParseBool(q.Get("path_style"))

	var loadOpts []func(*awsconfig.LoadOptions) error
	loadOpts = append(loadOpts, awsconfig.WithRegion(region))
	if o.Getenv != nil && o.Getenv("AWS_ACCESS_KEY_ID") != "" {
		loadOpts = append(loadOpts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			o.Getenv("AWS_ACCESS_KEY_ID"), o.Getenv("AWS_SECRET_ACCESS_KEY"), o.Getenv("AWS_SESSION_TOKEN"))))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.UsePathStyle = pathStyle
		if o.HTTPClient != nil {
			so.HTTPClient = o.HTTPClient
		}
		if ep := q.Get("endpoint"); ep != "" {
			so.BaseEndpoint = aws.String(ep)
			// S3-compatible stores often do not understand the
			// aws-chunked bodies with trailing checksums the SDK sends
			// by default; checksums stay on where the API requires them.
			so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	s := &Store{
		client: client, presign: s3.NewPresignClient(client),
		bucket: u.Host, prefix: strings.Trim(u.Path, "/"), guard: newGuard(),
		threshold: MultipartThreshold, partSize: PartSize,
	}
	if s.prefix != "" {
		s.prefix += "/"
	}
	if o.Threshold > 0 {
		s.threshold = o.Threshold
	}
	if o.PartSize > 0 {
		s.partSize = o.PartSize
	}
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return nil, fmt.Errorf("s3 bucket %s: %w", s.bucket, err)
	}
	return s, nil
}

func (s *Store) key(key string) *string { return aws.String(s.prefix + key) }

// Put writes data under key unless an object is already there. A single
// PUT is conditional (If-None-Match: *), so two writers of the same
// content learn which one created it.
func (s *Store) Put(ctx context.Context, key string, data []byte) (bool, error) {
	if !blobstore.ValidKey(key) {
		return false, fmt.Errorf("put blob: invalid key %q", key)
	}
	if int64(len(data)) > s.threshold {
		var created bool
		err := s.call(ctx, putWithin(len(data)), func(ctx context.Context) (err error) {
			created, err = s.putMultipart(ctx, key, data)
			return err
		})
		return created, err
	}
	err := s.call(ctx, putWithin(len(data)), func(ctx context.Context) error {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &s.bucket, Key: s.key(key), Body: bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data))), IfNoneMatch: aws.String("*"),
		})
		return err
	})
	if isCode(err, "PreconditionFailed", "ConditionalRequestConflict") {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put blob %s: %w", key, err)
	}
	return true, nil
}

func (s *Store) putMultipart(ctx context.Context, key string, data []byte) (bool, error) {
	if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: s.key(key)}); err == nil {
		return false, nil
	} else if !isNotFound(err) {
		return false, fmt.Errorf("put blob %s: %w", key, err)
	}
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: s.key(key)})
	if err != nil {
		return false, fmt.Errorf("put blob %s: start multipart: %w", key, err)
	}
	abort := func(err error) (bool, error) {
		// Abort on a fresh context: the request's may be what failed.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: s.key(key), UploadId: up.UploadId})
		return false, fmt.Errorf("put blob %s: %w", key, err)
	}
	var parts []types.CompletedPart
	for n, off := int32(1), int64(0); off < int64(len(data)); n, off = n+1, off+s.partSize {
		end := min(off+s.partSize, int64(len(data)))
		part, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &s.bucket, Key: s.key(key), UploadId: up.UploadId, PartNumber: aws.Int32(n),
			Body: bytes.NewReader(data[off:end]), ContentLength: aws.Int64(end - off),
		})
		if err != nil {
			return abort(fmt.Errorf("part %d: %w", n, err))
		}
		parts = append(parts, types.CompletedPart{ETag: part.ETag, PartNumber: aws.Int32(n)})
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: s.key(key), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return abort(fmt.Errorf("complete multipart: %w", err))
	}
	return true, nil
}

// Delete removes the object; a missing object is not an error (S3's
// DELETE is idempotent already).
func (s *Store) Delete(ctx context.Context, key string) error {
	if !blobstore.ValidKey(key) {
		return nil
	}
	err := s.call(ctx, deleteWithin, func(ctx context.Context) error {
		_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: s.key(key)})
		return err
	})
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// Open reads the object for serving. Media are at most the upload limit,
// so the bytes are held in memory to give http.ServeContent the seeking it
// needs for ranges; deployments serving large files use presigned
// redirects instead (PresignGet).
func (s *Store) Open(ctx context.Context, key string) (*blobstore.Blob, error) {
	if !blobstore.ValidKey(key) {
		return nil, blobstore.ErrNotFound
	}
	var data []byte
	var modTime time.Time
	err := s.call(ctx, readWithin, func(ctx context.Context) error {
		out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: s.key(key)})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		modTime = aws.ToTime(out.LastModified)
		data, err = io.ReadAll(out.Body)
		return err
	})
	if isNotFound(err) {
		return nil, blobstore.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	return &blobstore.Blob{
		ReadSeekCloser: nopCloser{bytes.NewReader(data)},
		Size:           int64(len(data)),
		ModTime:        modTime,
	}, nil
}

// Get reads a whole blob.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return io.ReadAll(b)
}

// Walk calls fn for every object under the prefix, a page of 1,000 at a time.
func (s *Store) Walk(ctx context.Context, fn func(key string, modTime time.Time) error) error {
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix)})
	for pages.HasMorePages() {
		var page *s3.ListObjectsV2Output
		err := s.call(ctx, listWithin, func(ctx context.Context) (err error) {
			page, err = pages.NextPage(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			if !blobstore.ValidKey(key) {
				continue
			}
			if err := fn(key, aws.ToTime(o.LastModified)); err != nil {
				return err
			}
		}
	}
	return nil
}

// PresignGet returns a URL that fetches the object without credentials
// until ttl has passed: the browser or a CDN reads straight from the store.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if !blobstore.ValidKey(key) {
		return "", blobstore.ErrNotFound
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: s.key(key)}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", key, err)
	}
	return req.URL, nil
}

// Ping checks that the bucket answers.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
	return err
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func isNotFound(err error) bool {
	var nk *types.NoSuchKey
	var nf *types.NotFound
	return errors.As(err, &nk) || errors.As(err, &nf) || isCode(err, "NoSuchKey", "NotFound")
}

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}
