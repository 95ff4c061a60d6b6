package postgres_test

import (
	"context"
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
