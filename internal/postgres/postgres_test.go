package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/postgres"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/storetest"
	"github.com/photofeed/photofeed/internal/testenv"
)

// openDB opens a deployment of 8 logical shards on one database.
func openDB(t *testing.T) *postgres.Cluster {
	t.Helper()
	db, err := postgres.OpenCluster(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), Shards: 8, OnProcessingPost: noJobQueue})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// noJobQueue accepts a processing post where no job queue runs.
func noJobQueue(context.Context, string, *sql.Tx, int64) error { return nil }

// The same suites the SQLite adapter passes; nothing is skipped for either.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openDB(t)
		return storetest.Stores{Identity: db.Identity(), Posts: db.Posts(), Graph: db.Graph(), Timelines: db.Timelines(), Idempotency: db.Idempotency()}
	})
}

// The suite again with the shards on two databases: every cross-shard
// path (a follow's two sides, a feed's posts, a fan-out) crosses between
// them for some of the suite's users.
func TestConformanceTwoDatabases(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openTwo(t)
		return storetest.Stores{Identity: db.Identity(), Posts: db.Posts(), Graph: db.Graph(), Timelines: db.Timelines(), Idempotency: db.Idempotency(), Mirror: db.Graph().Mirror}
	})
}

// openTwo opens 8 logical shards on two databases, the main one not
// holding any.
func openTwo(t *testing.T) *postgres.Cluster {
	t.Helper()
	db, err := postgres.OpenCluster(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), Shards: 8,
		Databases: []postgres.Database{{Name: "a", URL: testenv.PostgresURL(t)}, {Name: "b", URL: testenv.PostgresURL(t)}}, OnProcessingPost: noJobQueue})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if homes := db.Map().Homes; homes[0] != "a" || homes[7] != "b" {
		t.Fatalf("map %v: want shards 0–3 on a, 4–7 on b", homes)
	}
	return db
}

func TestIdempotencyConformance(t *testing.T) {
	storetest.RunIdempotency(t, func(t *testing.T) idempotency.Store { return openDB(t).Idempotency() })
}

// Several instances starting at once migrate once.
func TestConcurrentMigrations(t *testing.T) {
	url := testenv.PostgresURL(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			db, err := postgres.OpenCluster(t.Context(), postgres.Config{URL: url, Shards: 64})
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// A post referencing a blob waits while a deletion of that blob is between
// its check and its delete, so the deletion cannot remove bytes a post has
// just taken (the post's writer puts them again once its reference is in).
func TestReferenceWaitsForBlobDeletion(t *testing.T) {
	db := openDB(t)
	ctx := t.Context()
	gen := ids.NewGenerator(nil)
	author, _ := gen.Next(3)
	if err := db.Identity().CreateUser(ctx, identity.User{ID: author, Username: "ann", DisplayName: "Ann", CreatedAt: time.Now()}, "hash", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	key := "0003-shared.jpg"
	inDelete, release := make(chan struct{}), make(chan struct{})
	deleted := make(chan bool)
	go func() {
		ok, _ := db.Posts().DeleteIfUnused(ctx, key, func(context.Context) error {
			close(inDelete)
			<-release
			return nil
		})
		deleted <- ok
	}()
	<-inDelete
	created := make(chan error)
	go func() {
		id, _ := gen.Next(3)
		im := posts.Image{Key: key, Width: 1, Height: 1}
		created <- db.Posts().CreatePost(ctx, posts.Post{ID: id, AuthorID: author, CreatedAt: ids.Time(id), Status: posts.Ready,
			Images: posts.Images{Thumb: im, Large: im, Original: im}}, idempotency.Claim{})

	}()
	// The post's transaction shows up waiting for the blob's lock.
	admin, err := sql.Open("pgx", db.URLs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if !testenv.Poll(10*time.Second, func() bool {
		var waiting int
		admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'`).Scan(&waiting)
		if waiting == 1 {
			return true
		}
		select {
		case err := <-created:
			t.Fatalf("the post was stored (%v) while the blob's deletion was under way", err)
		default:
		}
		return false
	}) {
		t.Fatal("the post never waited for the blob's lock")
	}
	close(release)
	if !<-deleted {
		t.Fatal("the deletion did not run")
	}
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	if in, _ := db.Posts().ImageInUse(ctx, key); !in {
		t.Fatal("the post's reference is missing")
	}
}
