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

func openDB(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), testenv.PostgresURL(t))
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
		db.OnProcessingPost(func(context.Context, *sql.Tx, int64) error { return nil })
		return storetest.Stores{Identity: db.Identity(), Posts: db.Posts(), Graph: db.Graph(), Timelines: db.Timelines()}
	})
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
			db, err := postgres.Open(t.Context(), url)
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
