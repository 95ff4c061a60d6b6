package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

// testClaimedWrites: a create under a held claim marks the claim's key
// committed, with what it created, in the write's own transaction, so a
// crash after the commit can never run it twice; a write that fails, or
// one without a claim, marks nothing.
func testClaimedWrites(t *testing.T, f *fixture) {
	if f.Idempotency == nil {
		t.Skip("the adapter keeps no idempotency keys with its writes")
	}
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	claim := func(key string) idempotency.Claim {
		t.Helper()
		if _, claimed, err := f.Idempotency.Claim(f.ctx, key, "fp", now, time.Minute, time.Hour); err != nil || !claimed {
			t.Fatalf("claim %q: claimed %v, %v", key, claimed, err)
		}
		return idempotency.Claim{Key: key}
	}
	want := func(c idempotency.Claim, state idempotency.State, made idempotency.Resource) {
		t.Helper()
		rec, claimed, err := f.Idempotency.Claim(f.ctx, c.Key, "fp", now, time.Minute, time.Hour)
		if err != nil || claimed || rec.State != state || rec.Resource != made {
			t.Fatalf("key %q: %+v, claimed %v, %v; want %s with resource %q", c.Key, rec, claimed, err, state, made)
		}
	}

	// An account's key is scoped to an address: kept with the accounts.
	signup := claim("ip:192.0.2.1 POST /v2/accounts a")
	id, _ := f.gen.Next(ids.ShardForKey("carol", 1024))
	u := identity.User{ID: id, Username: "carol", DisplayName: "Carol", CreatedAt: now}
	if err := f.Identity.CreateUser(f.ctx, u, "hash", signup); err != nil {
		t.Fatal(err)
	}
	want(signup, idempotency.Committed, identity.Created("carol"))

	again := claim("ip:192.0.2.1 POST /v2/accounts b")
	u.ID++
	mustKind(t, f.Identity.CreateUser(f.ctx, u, "hash", again), identity.ErrUsernameTaken)
	want(again, idempotency.InFlight, idempotency.Resource{})

	// A post's key is scoped to its author: kept on the author's shard.
	author := f.user(t, "dave")
	upload := claim(fmt.Sprintf("user:%d POST /v2/posts u", author.ID))
	pid, _ := f.gen.Next(ids.Shard(author.ID))
	p := posts.Post{ID: pid, AuthorID: author.ID, CreatedAt: ids.Time(pid), Status: posts.Processing, UploadKey: "claimed.upload"}
	if err := f.Posts.CreatePost(f.ctx, p, upload); err != nil {
		t.Fatal(err)
	}
	want(upload, idempotency.Committed, posts.Created(pid))

	// A write without a claim leaves another request's claim alone.
	other := claim(fmt.Sprintf("user:%d POST /v2/posts v", author.ID))
	f.post(t, author.ID, "unkeyed")
	want(other, idempotency.InFlight, idempotency.Resource{})
}
