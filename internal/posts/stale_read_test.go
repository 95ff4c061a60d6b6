package posts_test

import (
	"context"
	"image/color"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

// laggingReads answers the reads any caller may make as a replica that
// has not replayed the post yet would, or as a cache holding another
// node's miss: the post is not there. Everything else is the database's.
type laggingReads struct {
	posts.Store
}

func (laggingReads) Post(context.Context, int64) (posts.Post, error) {
	return posts.Post{}, posts.ErrPostNotFound
}

func (laggingReads) PostsByIDs(context.Context, []int64) ([]posts.Post, error) {
	return nil, nil
}

// The thumbnail job exists only because its post was committed with it,
// so a miss on a read that may lag (seen in a chaos run: the primary
// stopped just after the upload, the replica and a shared cache had not
// seen the post) is not the post's deletion: the job must go by the
// primary, not end with the post processing for ever.
func TestFinishGoesByThePrimaryNotALaggingRead(t *testing.T) {
	ctx := t.Context()
	db, blobs := openStores(t)
	gen := ids.NewGenerator(time.Now)
	author, _ := gen.Next(3)
	if err := db.Identity().CreateUser(ctx, identity.User{ID: author, Username: "author", DisplayName: "Author", CreatedAt: time.Now()}, "hash", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	created, err := posts.NewService(db.Posts(), blobs, nil, gen, posts.Config{}).
		Create(ctx, author, "late", photo(t, color.RGBA{200, 30, 30, 255}), idempotency.Claim{})
	if err != nil {
		t.Fatal(err)
	}
	worker := posts.NewService(laggingReads{db.Posts()}, blobs, nil, gen, posts.Config{})
	if err := worker.Finish(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	p, err := db.Posts().Post(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != posts.Ready {
		t.Fatalf("after its job the post is %s, want ready", p.Status)
	}
}
