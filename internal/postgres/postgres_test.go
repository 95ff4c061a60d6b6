package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/postgres"
	"github.com/photofeed/photofeed/internal/storetest"
	"github.com/photofeed/photofeed/internal/testenv"
)

// openDB opens a deployment of 8 logical shards on one database.
func openDB(t *testing.T) *postgres.Cluster {
	t.Helper()
	db, err := postgres.OpenCluster(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), Shards: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The same suites the SQLite adapter passes; nothing is skipped for either.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openDB(t)
		db.MainDB().OnProcessingPost(func(context.Context, *sql.Tx, int64) error { return nil })
		return storetest.Stores{Identity: db.Identity(), Posts: db.Posts(), Graph: db.Graph(), Timelines: db.Timelines()}
	})
}

// The suite again with the shards on two databases: every cross-shard
// path (a follow's two sides, a feed's posts, a fan-out) crosses between
// them for some of the suite's users.
func TestConformanceTwoDatabases(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openTwo(t)
		for _, d := range db.DBs() {
			d.OnProcessingPost(func(context.Context, *sql.Tx, int64) error { return nil })
		}
		return storetest.Stores{Identity: db.Identity(), Posts: db.Posts(), Graph: db.Graph(), Timelines: db.Timelines(), Mirror: db.Graph().Mirror}
	})
}

// openTwo opens 8 logical shards on two databases, the main one not
// holding any.
func openTwo(t *testing.T) *postgres.Cluster {
	t.Helper()
	db, err := postgres.OpenCluster(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), Shards: 8,
		Databases: []postgres.Database{{Name: "a", URL: testenv.PostgresURL(t)}, {Name: "b", URL: testenv.PostgresURL(t)}}})
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
