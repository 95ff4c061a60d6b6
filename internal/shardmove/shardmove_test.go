package shardmove_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/shardmap"
	"github.com/photofeed/photofeed/internal/shardmove"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A shard of 100,000 posts and 10,000 likes moves to another server while
// two writers, each routing by its own watcher of the shard map, keep
// inserting into it: the database-level fence holds them, the switch
// reaches both watchers by notification, no write fails or is lost, the
// pause stays under the bound, every row ends up on the target, the
// source's copy is gone.
func TestMoveUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL servers and moves 110,000 rows")
	}
	source := testenv.StartPGCluster(t, 0, "wal_level=logical")
	target := testenv.StartPGCluster(t, 0)
	ctx := t.Context()
	src, err := sql.Open("pgx", source.PrimaryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := sql.Open("pgx", target.PrimaryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for _, q := range []string{
		`CREATE SCHEMA shard_0003`,
		`CREATE TABLE shard_0003.posts (id bigint PRIMARY KEY, author_id bigint NOT NULL, caption text NOT NULL)`,
		`CREATE INDEX posts_author ON shard_0003.posts (author_id, id)`,
		`CREATE TABLE shard_0003.likes (post_id bigint NOT NULL, user_id bigint NOT NULL, PRIMARY KEY (post_id, user_id))`,
		`INSERT INTO shard_0003.posts SELECT g, g % 1000, 'caption ' || g FROM generate_series(1, 100000) g`,
		`INSERT INTO shard_0003.likes SELECT g, g % 97 FROM generate_series(1, 10000) g`,
	} {
		if _, err := src.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// Each writer is an instance with its own watcher of the shard map
	// (kept in the source server's main database), routing every write by
	// it; a write that reaches the old home is told the shard moved and
	// waits for its watcher to say where.
	homes := map[string]*sql.DB{"source": src, "target": dst}
	if err := shardmap.Init(ctx, src, 8, []string{"source"}); err != nil {
		t.Fatal(err)
	}
	var watchers []*shardmap.Watcher
	for range 2 {
		w, err := shardmap.NewWatcher(ctx, src, source.PrimaryURL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		w.Poll = time.Minute // notifications, not polling, must carry the change
		runCtx, stopWatch := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { w.Run(runCtx); close(done) }()
		t.Cleanup(func() { stopWatch(); <-done })
		watchers = append(watchers, w)
	}
	for _, db := range homes {
		if err := shardmove.EnsureMarkerTable(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	var nextID atomic.Int64
	nextID.Store(1_000_000)
	var writes, failures, redirects atomic.Int64
	var slowest atomic.Int64 // ns
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 2 {
		watcher := watchers[i]
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := nextID.Add(1)
				began := time.Now()
				for { // until this row is written somewhere: none may be lost
					home := watcher.Current().Home(3)
					err := shardmove.Write(ctx, homes[home], "shard_0003", func(tx *sql.Tx) error {
						_, err := tx.ExecContext(ctx, `INSERT INTO shard_0003.posts VALUES ($1, 7, 'during the move')`, id)
						return err
					})
					var moved *shardmove.MovedError
					if errors.As(err, &moved) {
						redirects.Add(1)
						if !testenv.Poll(2*time.Second, func() bool { return watcher.Current().Home(3) == moved.Target }) {
							t.Errorf("the watcher did not learn of the move within 2s")
							return
						}
						continue
					}
					if err != nil {
						failures.Add(1)
						t.Errorf("write %d: %v", id, err)
					} else {
						writes.Add(1)
					}
					break
				}
				if d := int64(time.Since(began)); d > slowest.Load() {
					slowest.Store(d)
				}
			}
		})
	}

	fence := &shardmove.DBFence{DB: src, Schema: "shard_0003"}
	rep, err := shardmove.Move{
		Schema: "shard_0003", SourceURL: source.PrimaryURL(), TargetURL: target.PrimaryURL(),
		Fence: fence.Fence,
		Switch: func(ctx context.Context) error {
			if err := fence.MarkMoved(ctx, "target"); err != nil {
				return err
			}
			_, err := shardmap.Set(ctx, src, 3, "target")
			return err
		},
	}.Run(ctx)
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	duringMove := writes.Load()
	// A few more writes land on the new home.
	if !testenv.Poll(10*time.Second, func() bool { return writes.Load() >= duringMove+50 || failures.Load() > 0 }) || writes.Load() < duringMove+50 {
		close(stop)
		wg.Wait()
		t.Fatalf("no writes on the new home: %d in 10 s, %d failed", writes.Load()-duringMove, failures.Load())
	}
	close(stop)
	wg.Wait()

	if failures.Load() != 0 {
		t.Fatalf("%d writes failed", failures.Load())
	}
	for i, w := range watchers {
		if w.Current().Home(3) != "target" {
			t.Fatalf("watcher %d still maps shard 3 to %s", i, w.Current().Home(3))
		}
	}
	var onTarget int64
	dst.QueryRow(`SELECT count(*) FROM shard_0003.posts`).Scan(&onTarget)
	if want := 100_000 + writes.Load(); onTarget != want {
		t.Fatalf("target holds %d posts, want %d (100,000 + %d written)", onTarget, want, writes.Load())
	}
	var likes int64
	dst.QueryRow(`SELECT count(*) FROM shard_0003.likes`).Scan(&likes)
	if likes != 10_000 || rep.Rows["likes"] != 10_000 {
		t.Fatalf("likes: %d on the target, %d counted by the move", likes, rep.Rows["likes"])
	}
	var left int
	src.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname = 'shard_0003'`).Scan(&left)
	if left != 0 {
		t.Fatal("the source still has the shard's schema")
	}
	var slots int
	src.QueryRow(`SELECT count(*) FROM pg_replication_slots`).Scan(&slots)
	if slots != 0 {
		t.Fatalf("%d replication slots left on the source", slots)
	}
	if rep.Pause > 2*time.Second || time.Duration(slowest.Load()) > 3*time.Second {
		t.Fatalf("writes paused %v (slowest write %v), bound 2s", rep.Pause, time.Duration(slowest.Load()))
	}
	t.Logf("moved %d posts and %d likes in %v (copy and stream %v); writes paused %v, slowest write %v; %d writes during the move, %d redirected",
		rep.Rows["posts"], rep.Rows["likes"], rep.Total.Round(time.Millisecond), rep.CopyAndRun.Round(time.Millisecond),
		rep.Pause.Round(time.Millisecond), time.Duration(slowest.Load()).Round(time.Millisecond), duringMove, redirects.Load())
}

// A fence that cannot be had leaves the shard where it was, replication
// torn down, the target clean.
func TestMoveAbandoned(t *testing.T) {
	source := testenv.StartPGCluster(t, 0, "wal_level=logical")
	target := testenv.StartPGCluster(t, 0)
	ctx := t.Context()
	src, _ := sql.Open("pgx", source.PrimaryURL())
	defer src.Close()
	dst, _ := sql.Open("pgx", target.PrimaryURL())
	defer dst.Close()
	for _, q := range []string{`CREATE SCHEMA shard_0001`, `CREATE TABLE shard_0001.t (id bigint PRIMARY KEY)`,
		`INSERT INTO shard_0001.t SELECT generate_series(1, 100)`} {
		if _, err := src.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	busy := errors.New("another move holds the fence")
	_, err := shardmove.Move{Schema: "shard_0001", SourceURL: source.PrimaryURL(), TargetURL: target.PrimaryURL(),
		Fence:  func(context.Context) (func(), error) { return nil, busy },
		Switch: func(context.Context) error { t.Fatal("switched without a fence"); return nil },
	}.Run(ctx)
	if !errors.Is(err, busy) {
		t.Fatalf("move: %v, want the fence's error", err)
	}
	var n int
	src.QueryRow(`SELECT count(*) FROM shard_0001.t`).Scan(&n)
	var pubs, slots, schemas int
	src.QueryRow(`SELECT count(*) FROM pg_publication`).Scan(&pubs)
	dst.QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname = 'shard_0001'`).Scan(&schemas)
	testenv.Poll(10*time.Second, func() bool {
		src.QueryRow(`SELECT count(*) FROM pg_replication_slots`).Scan(&slots)
		return slots == 0
	})
	if n != 100 || pubs != 0 || slots != 0 || schemas != 0 {
		t.Fatalf("after an abandoned move: %d rows on the source, %d publications, %d slots, target schema present %v",
			n, pubs, slots, schemas == 1)
	}
	if _, err := (shardmove.Move{Schema: "x; DROP TABLE y"}).Run(ctx); err == nil {
		t.Fatal("a bad schema name was accepted")
	}
}

// Once the map points at the target, a failure to drop the source's copy
// must not undo the move: the target is the shard's only live home.
func TestMoveSourceNotDroppedKeepsTarget(t *testing.T) {
	source := testenv.StartPGCluster(t, 0, "wal_level=logical")
	target := testenv.StartPGCluster(t, 0)
	src, _ := sql.Open("pgx", source.PrimaryURL())
	defer src.Close()
	dst, _ := sql.Open("pgx", target.PrimaryURL())
	defer dst.Close()
	for _, q := range []string{`CREATE SCHEMA shard_0002`, `CREATE TABLE shard_0002.t (id bigint PRIMARY KEY)`,
		`INSERT INTO shard_0002.t SELECT generate_series(1, 100)`} {
		if _, err := src.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	if err := shardmap.Init(t.Context(), src, 4, []string{"source"}); err != nil {
		t.Fatal(err)
	}
	// The operator's context ends (Ctrl-C, a timeout) just after the
	// switch, so dropping the source's copy fails.
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	fence := &shardmove.DBFence{DB: src, Schema: "shard_0002"}
	_, moveErr := shardmove.Move{Schema: "shard_0002", SourceURL: source.PrimaryURL(), TargetURL: target.PrimaryURL(),
		Fence: fence.Fence,
		Switch: func(ctx context.Context) error {
			if err := fence.MarkMoved(ctx, "target"); err != nil {
				return err
			}
			_, err := shardmap.Set(ctx, src, 2, "target")
			interrupt()
			return err
		},
	}.Run(ctx)
	var onTarget int
	if err := dst.QueryRow(`SELECT count(*) FROM shard_0002.t`).Scan(&onTarget); err != nil || onTarget != 100 {
		t.Fatalf("target after the switch: %d rows (%v), want 100", onTarget, err)
	}
	m, err := shardmap.Load(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	if m.Home(2) != "target" {
		t.Fatalf("map sends shard 2 to %s, want target", m.Home(2))
	}
	var left *shardmove.SourceLeftError
	if !errors.As(moveErr, &left) || !errors.Is(moveErr, context.Canceled) {
		t.Fatalf("move: %v, want a SourceLeftError wrapping the cancellation", moveErr)
	}
}
