package cluster_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/photofeed/photofeed/internal/cluster"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A PostgreSQL primary in a namespace streams to a replica outside it;
// cutting the primary's link leaves the replica answering.
func TestPostgresInNamespaceStreamsToReplica(t *testing.T) {
	if err := cluster.NetNSAvailable(); err != nil {
		t.Skip(err)
	}
	if cluster.PostgresBinDir() == "" {
		testenv.Missing(t, "PostgreSQL server binaries (initdb, pg_ctl)")
	}
	ns := newNetNS(t)
	// Under /tmp, not t.TempDir(): the postgres user must enter every
	// directory above the data.
	dir, err := os.MkdirTemp("", "photofeed-netns-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := cluster.ChownToPostgres(dir); err != nil {
		t.Fatal(err)
	}
	pg, err := cluster.StartPostgresIn(dir+"/primary", true, ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	if u, _ := url.Parse(pg.URL()); u.Hostname() != ns.PeerIP {
		t.Fatalf("primary at %s, want the namespace's %s", u.Host, ns.PeerIP)
	}
	replica, err := pg.StartReplica(dir + "/replica")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { replica.Stop() })

	primaryDB := openDB(t, pg.URL())
	replicaDB := openDB(t, replica.URL())
	if _, err := primaryDB.Exec(`CREATE TABLE streamed (n int)`); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the replica has the primary's table", 10*time.Second, func() bool {
		var n int
		return replicaDB.QueryRow(`SELECT count(*) FROM streamed`).Scan(&n) == nil
	})

	if err := ns.Partition(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := primaryDB.Conn(ctx); err == nil {
		t.Error("a new connection to the primary opened across the partition")
	}
	var n int
	if err := replicaDB.QueryRow(`SELECT count(*) FROM streamed`).Scan(&n); err != nil {
		t.Errorf("the replica across the primary's partition: %v", err)
	}
	if err := ns.Heal(); err != nil {
		t.Fatal(err)
	}
	if _, err := primaryDB.Exec(`INSERT INTO streamed VALUES (1)`); err != nil {
		t.Errorf("the primary after healing: %v", err)
	}
	testenv.Eventually(t, "the replica has the write made after healing", 10*time.Second, func() bool {
		return replicaDB.QueryRow(`SELECT count(*) FROM streamed`).Scan(&n) == nil && n == 1
	})
}

func openDB(t *testing.T, u string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func newNetNS(t *testing.T) *cluster.NetNS {
	t.Helper()
	ns, err := cluster.NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Error(err)
		}
	})
	return ns
}
