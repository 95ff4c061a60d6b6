package redisstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/redisstore"
	"github.com/photofeed/photofeed/internal/sqlite"
	"github.com/photofeed/photofeed/internal/storetest"
	"github.com/photofeed/photofeed/internal/testenv"
)

func openSQLite(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.OpenWith(t.Context(), filepath.Join(t.TempDir(), "photofeed.db"),
		sqlite.Options{OnProcessingPost: func(context.Context, *sql.Tx, int64) error { return nil }}) // no job queue here
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newUser(t *testing.T, db *sqlite.DB, gen *ids.Generator, name string) int64 {
	t.Helper()
	id, _ := gen.Next(ids.ShardForKey(name, 1024))
	if err := db.Identity().CreateUser(t.Context(), identity.User{ID: id, Username: name, DisplayName: name, CreatedAt: time.Now()}, "x", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	return id
}

// The store suite, with timelines in Redis and the rest in SQLite.
func TestTimelinesConformance(t *testing.T) {
	srv := testenv.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openSQLite(t)
		var b [6]byte
		rand.Read(b[:])
		return storetest.Stores{Identity: db.Identity(), Posts: db.Posts(), Graph: db.Graph(),
			Timelines: redisstore.NewTimelines(db.Timelines(), client, redisstore.TimelinesConfig{Prefix: "photofeed-test:" + hex.EncodeToString(b[:]) + ":"})}
	})
}

// With Redis gone mid-run, timelines are served from the write model: the
// same posts, no error; the breaker stops the waiting after a few calls.
func TestTimelinesWithoutRedis(t *testing.T) {
	srv := testenv.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	db := openSQLite(t)
	tl := redisstore.NewTimelines(db.Timelines(), client, redisstore.TimelinesConfig{})
	ctx := t.Context()
	gen := ids.NewGenerator(nil)
	me, friend := newUser(t, db, gen, "reader"), newUser(t, db, gen, "friend")
	if err := db.Graph().Follow(ctx, me, friend, time.Now()); err != nil {
		t.Fatal(err)
	}
	var want []int64
	for range 3 {
		id, _ := gen.Next(ids.Shard(friend))
		if err := db.Posts().CreatePost(ctx, posts.Post{ID: id, AuthorID: friend, Caption: "x", CreatedAt: time.Now(), Status: posts.Ready}, idempotency.Claim{}); err != nil {
			t.Fatal(err)
		}
		want = append([]int64{id}, want...)
	}
	if err := tl.Rebuild(ctx, me, 10_000, 800); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := tl.Timeline(ctx, me, 0, 10, false); err != nil || !ok || !slices.Equal(got, want) {
		t.Fatalf("from Redis: %v %v %v, want %v", got, ok, err, want)
	}
	srv.Stop()
	for i := range 10 {
		start := time.Now()
		got, ok, err := tl.Timeline(ctx, me, 0, 10, false)
		if err != nil || !ok || !slices.Equal(got, want) {
			t.Fatalf("read %d with Redis down: %v %v %v, want %v from the write model", i, got, ok, err, want)
		}
		if i >= 5 && time.Since(start) > 50*time.Millisecond {
			t.Fatalf("read %d took %v: the breaker should have opened", i, time.Since(start))
		}
	}
	if err := tl.Rebuild(ctx, me, 10_000, 800); err != nil {
		t.Fatalf("rebuild with Redis down: %v", err)
	}
}

// fanOutDuringRebuild is the write model with a post committed and fanned
// out between the rebuild's start and its read of the write model.
type fanOutDuringRebuild struct {
	redisstore.WriteModel
	during func()
}

func (w *fanOutDuringRebuild) WriteModelTimeline(ctx context.Context, userID, beforeID int64, threshold, limit int) ([]int64, error) {
	ids, err := w.WriteModel.WriteModelTimeline(ctx, userID, beforeID, threshold, limit)
	if w.during != nil {
		f := w.during
		w.during = nil
		f() // after the read: the read missed it, the fan-out must not
	}
	return ids, err
}

// A post fanned out while a timeline is being rebuilt is not lost.
func TestRebuildKeepsAConcurrentFanOut(t *testing.T) {
	srv := testenv.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	db := openSQLite(t)
	wm := &fanOutDuringRebuild{WriteModel: db.Timelines()}
	tl := redisstore.NewTimelines(wm, client, redisstore.TimelinesConfig{})
	ctx := t.Context()
	gen := ids.NewGenerator(nil)
	me, friend := newUser(t, db, gen, "reader"), newUser(t, db, gen, "friend")
	db.Graph().Follow(ctx, me, friend, time.Now())
	var late int64
	wm.during = func() {
		late, _ = gen.Next(ids.Shard(friend))
		if err := db.Posts().CreatePost(ctx, posts.Post{ID: late, AuthorID: friend, Caption: "late", CreatedAt: time.Now(), Status: posts.Ready}, idempotency.Claim{}); err != nil {
			t.Fatal(err)
		}
		if err := tl.FanOut(ctx, "fanout", 1, late, friend, 10_000, 800); err != nil {
			t.Fatal(err)
		}
	}
	if err := tl.Rebuild(ctx, me, 10_000, 800); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := tl.Timeline(ctx, me, 0, 10, false); err != nil || !ok || !slices.Equal(got, []int64{late}) {
		t.Fatalf("timeline after a fan-out during its rebuild: %v %v %v, want [%d]", got, ok, err, late)
	}
}
