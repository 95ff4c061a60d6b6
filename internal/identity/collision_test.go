package identity_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/sqlite"
)

// twoNodes is two services over one database, as two api nodes are, each
// with its own id generator on a clock stopped at the same instant and
// sequences starting at 0 (not at random): their ids on a shard meet.
func twoNodes(t *testing.T) (a, b *identity.Service) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "id.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	node := func() *identity.Service {
		svc, err := identity.NewService(db.Identity(), ids.NewGeneratorWithStart(now, func() int { return 0 }), identity.Config{
			SigningKey:     []byte(key),
			PasswordParams: identity.PasswordParams{Time: 1, Memory: 64, Threads: 1},
			Shards:         1, // every user on one shard
			Now:            now,
		})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	return node(), node()
}

// Two nodes registering on the same shard in the same millisecond may
// pick the same id; the second takes a fresh one instead of failing.
func TestRegisterRetriesATakenID(t *testing.T) {
	a, b := twoNodes(t)
	for i, name := range []string{"alice", "bobby", "carol", "derek"} {
		svc := a
		if i%2 == 1 {
			svc = b
		}
		if _, err := svc.Register(t.Context(), name, "0123456789", "", idempotency.Claim{}); err != nil {
			t.Fatalf("register %s on node %d: %v", name, i%2, err)
		}
	}
}

// Logins on two nodes in the same millisecond open distinct sessions.
func TestLoginRetriesATakenID(t *testing.T) {
	a, b := twoNodes(t)
	if _, err := a.Register(t.Context(), "alice", "0123456789", "", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for i := range 4 {
		svc := a
		if i%2 == 1 {
			svc = b
		}
		_, sess, err := svc.Login(t.Context(), "alice", "0123456789")
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if seen[sess.ID] {
			t.Fatalf("session id %d handed out twice", sess.ID)
		}
		seen[sess.ID] = true
	}
}
