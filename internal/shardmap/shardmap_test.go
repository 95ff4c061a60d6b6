package shardmap_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/shardmap"
	"github.com/photofeed/photofeed/internal/testenv"
)

// openMap makes a fresh database with n shards laid out over db0 and db1.
func openMap(t *testing.T, n int) (*sql.DB, string) {
	t.Helper()
	url := testenv.PostgresURL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := shardmap.Init(t.Context(), db, n, []string{"db0", "db1"}); err != nil {
		t.Fatal(err)
	}
	return db, url
}

func TestInitLayout(t *testing.T) {
	db, _ := openMap(t, 8)
	ctx := t.Context()
	m, err := shardmap.Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"db0", "db0", "db0", "db0", "db1", "db1", "db1", "db1"}
	for s, home := range want {
		if m.Home(s) != home {
			t.Fatalf("shard %d on %s, want %s (map %v)", s, m.Home(s), home, m.Homes)
		}
	}
	if err := shardmap.Init(ctx, db, 8, []string{"other"}); err != nil {
		t.Fatalf("Init of an existing map: %v", err)
	}
	if m2, _ := shardmap.Load(ctx, db); m2.Home(0) != "db0" || m2.Version != m.Version {
		t.Fatal("Init changed an existing map")
	}
	// The count is the deployment's from its creation on.
	if err := shardmap.Init(ctx, db, 16, []string{"db0"}); err != nil {
		t.Fatal(err)
	}
	if m3, _ := shardmap.Load(ctx, db); m3.Shards() != m.Shards() {
		t.Fatalf("Init with another count made %d shards of %d", m3.Shards(), m.Shards())
	}
	if _, err := shardmap.Set(ctx, db, 99, "db0"); err == nil {
		t.Fatal("Set of a shard that does not exist succeeded")
	}
}

// Every instance's watcher has a change within a second, by notification
// (polling is set to a minute here), also after its connection was cut.
func TestWatchersFollowChanges(t *testing.T) {
	db, url := openMap(t, 4)
	ctx := t.Context()
	var watchers []*shardmap.Watcher
	for range 2 {
		w, err := shardmap.NewWatcher(ctx, db, url, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		w.Poll = time.Minute
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { w.Run(runCtx); close(done) }()
		t.Cleanup(func() { stop(); <-done })
		watchers = append(watchers, w)
	}
	waitListening := func() {
		var n int
		if !testenv.Poll(10*time.Second, func() bool {
			db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN ` + shardmap.Channel + `'`).Scan(&n)
			return n == len(watchers)
		}) {
			t.Fatalf("%d of %d watchers listening", n, len(watchers))
		}
	}
	seen := func(shard int, home string) time.Duration {
		t.Helper()
		start := time.Now()
		if !testenv.Poll(time.Second, func() bool {
			for _, w := range watchers {
				if w.Current().Home(shard) != home {
					return false
				}
			}
			return true
		}) {
			t.Fatalf("shard %d: not on %s on every watcher within a second", shard, home)
		}
		return time.Since(start)
	}
	waitListening()
	if _, err := shardmap.Set(ctx, db, 1, "db1"); err != nil {
		t.Fatal(err)
	}
	t.Logf("a move seen by both watchers in %v", seen(1, "db1"))

	// Cut the listening connections: the watchers reconnect, reload, and
	// follow the next change too.
	db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN ` + shardmap.Channel + `'`)
	if _, err := shardmap.Set(ctx, db, 2, "db1"); err != nil {
		t.Fatal(err)
	}
	seen(2, "db1")
	waitListening()
	if _, err := shardmap.Set(ctx, db, 3, "db0"); err != nil {
		t.Fatal(err)
	}
	seen(3, "db0")
}
