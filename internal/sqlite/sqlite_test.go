package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/photofeed/photofeed/internal/sqlite"
	"github.com/photofeed/photofeed/internal/storetest"
)

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "photofeed.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openDB(t)
		return storetest.Stores{Identity: db.Identity(), Posts: db.Posts(), Graph: db.Graph(), Feed: db.Feed()}
	})
}

func TestReopenKeepsDataAndSkipsAppliedMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "photofeed.db")
	for range 2 {
		db, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}
