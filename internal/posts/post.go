// Package posts owns photo posts, their captions, image variants and likes.
package posts

import (
	"context"
	"strconv"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/errkind"
)

// Post is a photo with its caption, by one author.
type Post struct {
	ID        int64
	AuthorID  int64
	Caption   string
	CreatedAt time.Time
	Images    Images
	LikeCount int64
	Status    Status
	// UploadKey names the uploaded bytes while the post is processing.
	UploadKey string
}

// Status is where a post's images stand.
type Status string

const (
	Processing Status = "processing" // the upload is stored; variants are being made
	Ready      Status = "ready"
	Failed     Status = "failed" // the image could not be processed
)

// Image is one stored variant; Key names its blob.
type Image struct {
	Key           string
	Width, Height int
}

// Images are the variants of a post's photo.
type Images struct {
	Thumb, Large, Original Image
}

// Keys lists the blob keys the post references.
func (im Images) Keys() []string {
	return []string{im.Thumb.Key, im.Large.Key, im.Original.Key}
}

// ResourceKind names a post among what keyed requests create
// (idempotency.Resource).
const ResourceKind = "post"

// Created names the post id as what a keyed request created: its retry,
// if the first answer was lost, is answered with the post.
func Created(id int64) idempotency.Resource {
	return idempotency.Resource{Kind: ResourceKind, ID: strconv.FormatInt(id, 10)}
}

// Store is the persistence posts need.
type Store interface {
	// CreatePost stores a post; a processing post also gets its thumbnail
	// job, and a held claim is marked committed with the post as what it
	// created (Created), in the same transaction.
	CreatePost(ctx context.Context, p Post, claim idempotency.Claim) error
	// FinishPost records a processing post's variants and makes it ready,
	// announcing it (PhotoPosted) in the same transaction; it reports false
	// if the post is gone or no longer processing.
	FinishPost(ctx context.Context, id int64, images Images) (bool, error)
	// FailPost marks a processing post failed.
	FailPost(ctx context.Context, id int64) error
	Post(ctx context.Context, id int64) (Post, error)
	// CurrentPost reads the post on the primary, never on a replica or in
	// a cache, whose miss may only be lag: what work on the post (its
	// thumbnail job) must go by.
	CurrentPost(ctx context.Context, id int64) (Post, error)
	// PostsByIDs returns the posts that exist, in no particular order.
	PostsByIDs(ctx context.Context, ids []int64) ([]Post, error)
	// DeletePost deletes the post if authorID wrote it, returning what it deleted.
	DeletePost(ctx context.Context, id, authorID int64) (Post, error)
	// PostsByAuthor returns newest first.
	PostsByAuthor(ctx context.Context, authorID int64, offset, limit int) ([]Post, error)
	CountByAuthor(ctx context.Context, authorID int64) (int64, error)
	// Like and Unlike are idempotent.
	Like(ctx context.Context, postID, userID int64, at time.Time) error
	Unlike(ctx context.Context, postID, userID int64) error
	LikedBy(ctx context.Context, userID int64, postIDs []int64) (map[int64]bool, error)
	// ImageInUse reports whether any post references the blob key.
	ImageInUse(ctx context.Context, key string) (bool, error)
	// DeleteIfUnused runs del if no post references key, holding off new
	// references to key until del returns, and reports whether it ran.
	DeleteIfUnused(ctx context.Context, key string, del func(context.Context) error) (bool, error)
}

// Blobs is where image bytes go.
type Blobs interface {
	// Put stores data under key; created is false if it was already there.
	Put(ctx context.Context, key string, data []byte) (created bool, err error)
	Delete(ctx context.Context, key string) error
	Get(ctx context.Context, key string) ([]byte, error)
	// Walk visits every blob, for finding orphans.
	Walk(ctx context.Context, fn func(key string, modTime time.Time) error) error
}

var ErrPostNotFound = errkind.New(errkind.NotFound, "no such post")

const MaxCaptionLen = 2200
