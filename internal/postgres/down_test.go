package postgres_test

import (
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/postgres"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A read while the only database server is down is the database being
// unavailable (503, retry later), not a fault of ours (500): `photofeed
// chaos` saw reads answer 500 while it had PostgreSQL stopped.
func TestReadWithTheServerDownIsUnavailable(t *testing.T) {
	pg := testenv.StartPGCluster(t, 0)
	url, _ := pg.Database(t)
	db, err := postgres.OpenCluster(t.Context(), postgres.Config{URL: url, Shards: 2, OnProcessingPost: noJobQueue})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Identity().UserByUsername(t.Context(), "nobody"); errkind.Of(err) != errkind.NotFound {
		t.Fatalf("with the server up: %v (kind %v), want not found", err, errkind.Of(err))
	}
	pg.StopPrimary()
	_, err = db.Identity().UserByUsername(t.Context(), "nobody")
	if errkind.Of(err) != errkind.Unavailable {
		t.Errorf("with the server down: %v (kind %v), want unavailable", err, errkind.Of(err))
	}
	rows, err := db.Main().Query(t.Context(), `SELECT 1`)
	if err == nil {
		rows.Close()
	}
	if errkind.Of(err) != errkind.Unavailable {
		t.Errorf("a query with the server down: %v (kind %v), want unavailable", err, errkind.Of(err))
	}
	// The reads that must see the latest write (a follow checks its
	// followee exists this way) ask the primary alone.
	var one int
	err = db.Main().QueryRowPrimary(t.Context(), `SELECT 1`).Scan(&one)
	if errkind.Of(err) != errkind.Unavailable {
		t.Errorf("a row from the primary with the server down: %v (kind %v), want unavailable", err, errkind.Of(err))
	}
	rows, err = db.Main().QueryPrimary(t.Context(), `SELECT 1`)
	if err == nil {
		rows.Close()
	}
	if errkind.Of(err) != errkind.Unavailable {
		t.Errorf("a query of the primary with the server down: %v (kind %v), want unavailable", err, errkind.Of(err))
	}
	// A follow as the API makes it: 503, not 500.
	if err := db.Graph().Follow(t.Context(), 1, 2, time.Now()); errkind.Of(err) != errkind.Unavailable {
		t.Errorf("a follow with the server down: %v (kind %v), want unavailable", err, errkind.Of(err))
	}
}
