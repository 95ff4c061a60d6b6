package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/identity"

	"github.com/photofeed/photofeed/internal/sqlite"
	"github.com/photofeed/photofeed/internal/storetest"
)

func openDB(t *testing.T, opts sqlite.Options) *sqlite.DB {
	t.Helper()
	db, err := sqlite.OpenWith(t.Context(), filepath.Join(t.TempDir(), "photofeed.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openDB(t, sqlite.Options{OnProcessingPost: func(context.Context, *sql.Tx, int64) error { return nil }})
		return storetest.Stores{Identity: db.Identity(), Posts: db.Posts(), Graph: db.Graph(), Timelines: db.Timelines(), Idempotency: db.Idempotency()}
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

func TestIdempotencyConformance(t *testing.T) {
	storetest.RunIdempotency(t, func(t *testing.T) idempotency.Store { return openDB(t, sqlite.Options{}).Idempotency() })
}

// A write under a claimed key marks the key committed in its own
// transaction; a write that fails leaves the key in flight.
func TestWriteMarksKeyCommitted(t *testing.T) {
	db := openDB(t, sqlite.Options{})
	ctx := t.Context()
	now := time.Now()
	store := db.Idempotency()
	store.Claim(ctx, "k1", "fp", now, time.Minute, time.Hour)
	u := identity.User{ID: 1, Username: "alice", DisplayName: "A", CreatedAt: now}
	if err := db.Identity().CreateUser(ctx, u, "h", idempotency.Claim{Key: "k1"}); err != nil {
		t.Fatal(err)
	}
	rec, _, _ := store.Claim(ctx, "k1", "fp", now, time.Minute, time.Hour)
	if rec.State != idempotency.Committed || rec.Resource != identity.Created("alice") {
		t.Fatalf("after the write: %+v", rec)
	}
	store.Claim(ctx, "k2", "fp", now, time.Minute, time.Hour)
	if err := db.Identity().CreateUser(ctx, u, "h", idempotency.Claim{Key: "k2"}); err == nil {
		t.Fatal("duplicate username accepted")
	}
	if rec, _, _ := store.Claim(ctx, "k2", "fp", now, time.Minute, time.Hour); rec.State != idempotency.InFlight {
		t.Fatalf("a failed write marked its key: %+v", rec)
	}
	// Committed keys are never taken over as stale: that would run the write twice.
	if _, ok, _ := store.Claim(ctx, "k1", "fp", now.Add(time.Hour-time.Millisecond), time.Minute, time.Hour); ok {
		t.Fatal("committed key taken over")
	}
}

// After a crash, a node alone on the database forgets the in-flight
// claims made before it started, so a retry runs at once; committed keys
// and its own new claims stay.
func TestReleaseInFlight(t *testing.T) {
	db := openDB(t, sqlite.Options{})
	ctx := t.Context()
	store := db.Idempotency()
	crashed := time.Now().Add(-time.Second)
	store.Claim(ctx, "dead", "fp", crashed, time.Minute, time.Hour)
	store.Claim(ctx, "done", "fp", crashed, time.Minute, time.Hour)
	u := identity.User{ID: 1, Username: "alice", DisplayName: "A", CreatedAt: crashed}
	if err := db.Identity().CreateUser(ctx, u, "h", idempotency.Claim{Key: "done"}); err != nil {
		t.Fatal(err)
	}
	restart := time.Now()
	store.Claim(ctx, "mine", "fp", restart, time.Minute, time.Hour)
	if n, err := store.ReleaseInFlight(ctx, restart); err != nil || n != 1 {
		t.Fatalf("released %d, %v; want the dead run's one in-flight claim", n, err)
	}
	if _, claimed, _ := store.Claim(ctx, "dead", "fp", restart, time.Minute, time.Hour); !claimed {
		t.Fatal("the dead run's key still blocks its retry")
	}
	if rec, _, _ := store.Claim(ctx, "done", "fp", restart, time.Minute, time.Hour); rec == nil || rec.State != idempotency.Committed {
		t.Fatalf("the committed key: %+v", rec)
	}
	if rec, claimed, _ := store.Claim(ctx, "mine", "fp", restart, time.Minute, time.Hour); claimed || rec.State != idempotency.InFlight {
		t.Fatalf("this run's own claim was released: %+v", rec)
	}
}

// A committed write is counted and wakes the outbox relay's listener; a
// write that fails is neither, and wake-ups not yet taken merge into one.
func TestCommitsCountAndWake(t *testing.T) {
	db := openDB(t, sqlite.Options{})
	ctx := t.Context()
	commits := db.Commits()
	before := commits.Count()
	u := identity.User{ID: 1, Username: "alice", DisplayName: "A", CreatedAt: time.Now()}
	for range 2 {
		if err := db.Identity().CreateUser(ctx, u, "h", idempotency.Claim{}); err != nil {
			t.Fatal(err)
		}
		u.ID, u.Username = 2, "bob"
	}
	if n := commits.Count() - before; n != 2 {
		t.Fatalf("%d commits counted, want 2", n)
	}
	select {
	case <-commits.Wake():
	default:
		t.Fatal("a committed write woke nobody")
	}
	if err := db.Identity().CreateUser(ctx, u, "h", idempotency.Claim{}); err == nil {
		t.Fatal("duplicate username accepted")
	}
	if n := commits.Count() - before; n != 2 {
		t.Fatalf("a failed write was counted: %d commits", n)
	}
	select {
	case <-commits.Wake():
		t.Fatal("a failed write, or a second wake-up for the same two, woke the listener")
	default:
	}
}
