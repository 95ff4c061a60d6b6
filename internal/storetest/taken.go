package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

// testIDTaken: a create whose id is already used (another node's
// generator picked it in the same millisecond) is told apart as
// ids.ErrTaken, which the services retry with a fresh id, not as a taken
// username (a 409 for the client) nor as an unexplained failure; it
// leaves its claim in flight, and the retry under the same claim commits
// it.
func testIDTaken(t *testing.T, f *fixture) {
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	alice := f.user(t, "alice")

	bob := identity.User{ID: alice.ID, Username: "bob", DisplayName: "Bob", CreatedAt: now}
	mustKind(t, f.Identity.CreateUser(f.ctx, bob, "hash", idempotency.Claim{}), ids.ErrTaken)
	if err := f.Identity.CreateUser(f.ctx, bob, "hash", idempotency.Claim{}); errors.Is(err, identity.ErrUsernameTaken) {
		t.Fatalf("id collision reported as a taken username: %v", err)
	}
	// Both taken: the username decides, as a fresh id would not help.
	both := alice
	both.DisplayName = "Another"
	mustKind(t, f.Identity.CreateUser(f.ctx, both, "hash", idempotency.Claim{}), identity.ErrUsernameTaken)
	bob.ID, _ = f.gen.Next(ids.ShardForKey("bob", 1024))
	if err := f.Identity.CreateUser(f.ctx, bob, "hash", idempotency.Claim{}); err != nil {
		t.Fatalf("create with a fresh id after the collision: %v", err)
	}

	sess := identity.Session{ID: 88, UserID: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := f.Identity.CreateSession(f.ctx, sess); err != nil {
		t.Fatal(err)
	}
	other := identity.Session{ID: 88, UserID: bob.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	mustKind(t, f.Identity.CreateSession(f.ctx, other), ids.ErrTaken)
	if got, err := f.Identity.SessionByID(f.ctx, 88); err != nil || got.UserID != alice.ID {
		t.Fatalf("session after a colliding create = %+v, %v; want alice's", got, err)
	}

	first := f.post(t, alice.ID, "first")
	dup := posts.Post{ID: first.ID, AuthorID: alice.ID, Caption: "second", CreatedAt: first.CreatedAt,
		Status: posts.Processing, UploadKey: "taken.upload"}
	var claim idempotency.Claim
	if f.Idempotency != nil {
		key := fmt.Sprintf("user:%d POST /v2/posts taken", alice.ID)
		if _, claimed, err := f.Idempotency.Claim(f.ctx, key, "fp", now, time.Minute, time.Hour); err != nil || !claimed {
			t.Fatalf("claim %q: claimed %v, %v", key, claimed, err)
		}
		claim = idempotency.Claim{Key: key}
	}
	mustKind(t, f.Posts.CreatePost(f.ctx, dup, claim), ids.ErrTaken)
	if got, err := f.Posts.Post(f.ctx, first.ID); err != nil || got.Caption != "first" {
		t.Fatalf("post after a colliding create = %+v, %v; want the first", got, err)
	}
	if f.Idempotency != nil {
		rec, claimed, err := f.Idempotency.Claim(f.ctx, claim.Key, "fp", now, time.Minute, time.Hour)
		if err != nil || claimed || rec.State != idempotency.InFlight {
			t.Fatalf("claim after the collision: %+v, claimed %v, %v; want still in flight", rec, claimed, err)
		}
	}
	dup.ID, _ = f.gen.Next(ids.Shard(alice.ID))
	dup.CreatedAt = ids.Time(dup.ID)
	if err := f.Posts.CreatePost(f.ctx, dup, claim); err != nil {
		t.Fatalf("create post with a fresh id after the collision: %v", err)
	}
	if f.Idempotency != nil {
		rec, claimed, err := f.Idempotency.Claim(f.ctx, claim.Key, "fp", now, time.Minute, time.Hour)
		if err != nil || claimed || rec.State != idempotency.Committed || rec.Resource != posts.Created(dup.ID) {
			t.Fatalf("claim after the retry: %+v, claimed %v, %v; want committed to post %d", rec, claimed, err, dup.ID)
		}
	}
}
