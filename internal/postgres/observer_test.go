package postgres_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/consistency"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/postgres"
	"github.com/photofeed/photofeed/internal/testenv"
)

type observedKey struct{}

// observer listens for the commits of contexts marked observedKey.
type observer struct {
	mu   sync.Mutex
	seen []string // database per commit told of
	at   []consistency.LSN
}

func (o *observer) Observing(ctx context.Context) bool { return ctx.Value(observedKey{}) != nil }

func (o *observer) Committed(_ context.Context, database string, at consistency.LSN) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, database)
	o.at = append(o.at, at)
}

// The commit observer given at construction is told, for a context it
// listens for, the database and the primary's WAL position after each
// write, in a transaction or not; other writes cost it nothing.
func TestCommitObserverIsToldOfObservedWrites(t *testing.T) {
	o := &observer{}
	db, err := postgres.OpenCluster(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), Shards: 8, OnProcessingPost: noJobQueue, CommitObserver: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	u := identity.User{ID: 1, Username: "ann", DisplayName: "Ann", CreatedAt: time.Now()}
	if err := db.Identity().CreateUser(t.Context(), u, "hash", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	if len(o.seen) != 0 {
		t.Fatalf("told of a write nobody observes: %v", o.seen)
	}
	observed := context.WithValue(t.Context(), observedKey{}, true)
	u.ID, u.Username = 2, "bob"
	if err := db.Identity().CreateUser(observed, u, "hash", idempotency.Claim{}); err != nil { // a transaction
		t.Fatal(err)
	}
	if err := db.Identity().SetAdmin(observed, "bob", true); err != nil { // a statement of its own
		t.Fatal(err)
	}
	if len(o.seen) != 2 || o.seen[0] != postgres.MainName || o.seen[1] != postgres.MainName || o.at[0] == 0 || o.at[1] < o.at[0] {
		t.Fatalf("told of %v at %v; want two writes on %q, the WAL moving forward", o.seen, o.at, postgres.MainName)
	}
}

// A consistency token names a position at or past its write's commit,
// also where commits return before their WAL is written
// (synchronous_commit=off, as `photofeed cluster` runs its throwaway
// server): a replica that has replayed up to the token sees the write.
// A token of the WAL's write position (pg_current_wal_lsn) fell short of
// a commit the WAL writer had not written yet, so a request carrying it
// could read a replica that lacked its own writes: an upload through
// the cluster answered 404 for want of its author.
func TestTokenCoversAnAsynchronousCommit(t *testing.T) {
	// The WAL writer writes asynchronous commits only every 3 s here.
	pg := testenv.StartPGCluster(t, 1, "synchronous_commit=off", "wal_writer_delay=3000ms")
	url, replicas := pg.Database(t)
	o := &observer{}
	db, err := postgres.OpenCluster(t.Context(), postgres.Config{URL: url, Shards: 2, OnProcessingPost: noJobQueue, CommitObserver: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	// The replica comes back after the write, told to replay up to the
	// token and stop there: what a replica that has just reached the
	// token holds.
	pg.StopReplicas()
	observed := context.WithValue(t.Context(), observedKey{}, true)
	u := identity.User{ID: 7, Username: "asyncwriter", DisplayName: "A", CreatedAt: time.Now()}
	if err := db.Identity().CreateUser(observed, u, "hash", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	if len(o.at) != 1 {
		t.Fatalf("told of %d commits, want 1", len(o.at))
	}
	token := o.at[0]
	// Replay to a target stops after the first record at or past it: one
	// is written, committed at once, so the stop is not left to the
	// server's next background record.
	primary, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { primary.Close() })
	if _, err := primary.Exec(`SET synchronous_commit = on; CREATE TABLE after_the_token (x int)`); err != nil {
		t.Fatal(err)
	}
	pg.StartReplicas("recovery_target_lsn='"+token.String()+"'", "recovery_target_action=pause")
	replica, err := sql.Open("pgx", replicas[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { replica.Close() })
	var replayed string
	testenv.Eventually(t, "the replica replaying up to the token", 20*time.Second, func() bool {
		var state string
		err := replica.QueryRow(`SELECT pg_get_wal_replay_pause_state(), coalesce(pg_last_wal_replay_lsn()::text, '0/0')`).Scan(&state, &replayed)
		return err == nil && state == "paused"
	})
	var n int
	if err := replica.QueryRow(`SELECT count(*) FROM users WHERE username = 'asyncwriter'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("a replica replayed to %s, the token %s, does not see the token's write", replayed, token)
	}
}
