package cluster_test

import (
	"database/sql"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/photofeed/photofeed/internal/cluster"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A throwaway server may lose its data to the machine crashing (fsync
// off), never to its own crash: a commit it acknowledged is there after
// an immediate stop, as `photofeed chaos` stops it. With
// synchronous_commit off the last commits before the stop were lost: the
// chaos audit found an acknowledged like missing.
func TestThrowawayPostgresKeepsAcknowledgedCommitsThroughItsCrash(t *testing.T) {
	if cluster.PostgresBinDir() == "" {
		testenv.Missing(t, "PostgreSQL server binaries (initdb, pg_ctl)")
	}
	// Under /tmp, not t.TempDir(): the postgres user must enter every
	// directory above the data.
	dir, err := os.MkdirTemp("", "photofeed-pg-crash-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := cluster.ChownToPostgres(dir); err != nil {
		t.Fatal(err)
	}
	pg, err := cluster.StartPostgres(dir+"/pg", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Crash() })
	db, err := sql.Open("pgx", pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE acknowledged (n int)`); err != nil {
		t.Fatal(err)
	}
	const commits = 50
	for n := range commits {
		if _, err := db.Exec(`INSERT INTO acknowledged VALUES ($1)`, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := pg.Crash(); err != nil {
		t.Fatal(err)
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	db.SetMaxIdleConns(0) // the old connections died with the server
	var got int
	if err := db.QueryRow(`SELECT count(*) FROM acknowledged`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != commits {
		t.Fatalf("%d of %d acknowledged commits after an immediate stop", got, commits)
	}
}
