package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/sqlite"
)

// seedFeed creates a reader following `authors` authors with `each` posts
// apiece, plus as many strangers' posts, and returns the reader's id.
func seedFeed(b *testing.B, db *sqlite.DB, authors, each int) int64 {
	ctx := context.Background()
	gen := ids.NewGenerator(nil)
	user := func(name string) int64 {
		id, _ := gen.Next(ids.ShardForKey(name, 1024))
		if err := db.Identity().CreateUser(ctx, identity.User{ID: id, Username: name, DisplayName: name, CreatedAt: time.Now()}, "x", idempotency.Claim{}); err != nil {
			b.Fatal(err)
		}
		return id
	}
	reader := user("reader")
	for a := range 2 * authors {
		author := user(fmt.Sprintf("author_%d", a))
		if a < authors {
			if err := db.Graph().Follow(ctx, reader, author, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		for range each {
			id, _ := gen.Next(ids.Shard(author))
			k := fmt.Sprintf("%x", id)
			im := posts.Image{Key: k, Width: 1, Height: 1}
			if err := db.Posts().CreatePost(ctx, posts.Post{ID: id, AuthorID: author, Caption: "c", CreatedAt: time.Now(), Status: posts.Ready,
				Images: posts.Images{Thumb: im, Large: im, Original: im}}, idempotency.Claim{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return reader
}

// BenchmarkHomeTimeline reads the first page of 20 from a reader's
// timeline (following 50 authors with 10 posts each): the read model's
// one indexed range read, then loading the posts.
func BenchmarkHomeTimeline(b *testing.B) {
	db, err := sqlite.Open(b.Context(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	reader := seedFeed(b, db, 50, 10)
	ctx := context.Background()
	if err := db.Timelines().Rebuild(ctx, reader, 10_000, 800); err != nil {
		b.Fatal(err)
	}
	b.Run("ids", func(b *testing.B) {
		for b.Loop() {
			if got, _, err := db.Timelines().Timeline(ctx, reader, 0, 21, false); err != nil || len(got) != 21 {
				b.Fatal(len(got), err)
			}
		}
	})
	b.Run("ids+posts", func(b *testing.B) {
		for b.Loop() {
			idList, _, _ := db.Timelines().Timeline(ctx, reader, 0, 21, false)
			if got, err := db.Posts().PostsByIDs(ctx, idList[:20]); err != nil || len(got) != 20 {
				b.Fatal(err)
			}
		}
	})
	b.Run("rebuild", func(b *testing.B) {
		for b.Loop() {
			if err := db.Timelines().Rebuild(ctx, reader, 10_000, 800); err != nil {
				b.Fatal(err)
			}
		}
	})
}
