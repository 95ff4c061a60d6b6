package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/identity"
)

// A post by an author with a million followers costs one timeline write
// (the author's own), however many followers there are: the fan-out looks
// at the follower count, never at the followers.
func TestMillionFollowerPostIsOneWrite(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, name := range map[int64]string{1: "star", 2: "fan_a", 3: "fan_b"} {
		db.Identity().CreateUser(ctx, identity.User{ID: id, Username: name, DisplayName: name, CreatedAt: time.Now()}, "x", idempotency.Claim{})
	}
	db.Graph().Follow(ctx, 2, 1, time.Now())
	db.Graph().Follow(ctx, 3, 1, time.Now())
	for _, u := range []int64{1, 2, 3} {
		db.Timelines().Rebuild(ctx, u, 10_000, 800)
	}
	if _, err := db.write.Exec(`UPDATE follow_counts SET followers = 1000000 WHERE user_id = 1`); err != nil {
		t.Fatal(err)
	}
	rows := func() (n int) {
		db.read.QueryRow(`SELECT count(*) FROM timelines`).Scan(&n)
		return n
	}
	before := rows()
	if err := db.Timelines().FanOut(ctx, "fanout", 1, 99, 1, 10_000, 800); err != nil {
		t.Fatal(err)
	}
	if got := rows() - before; got != 1 {
		t.Fatalf("the post wrote %d timeline rows, want 1", got)
	}
}
