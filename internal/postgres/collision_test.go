package postgres_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"path/filepath"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

// Two api nodes over one deployment, each with its own id generator on a
// clock stopped at the same instant and sequences starting at 0 (not at
// random), so their ids on a shard meet: signups, logins and posts on the
// second node take fresh ids rather than failing on PostgreSQL's duplicate
// key, and a post's retry commits its request's claim.
func TestTwoNodesSameMillisecond(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	blobs, err := blobstore.OpenDir(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	at := ids.Epoch.Add(48 * time.Hour)
	now := func() time.Time { return at }
	type node struct {
		identity *identity.Service
		posts    *posts.Service
	}
	newNode := func() node {
		gen := ids.NewGeneratorWithStart(now, func() int { return 0 })
		idn, err := identity.NewService(db.Identity(), gen, identity.Config{
			SigningKey:     []byte("0123456789abcdef0123456789abcdef"),
			PasswordParams: identity.PasswordParams{Time: 1, Memory: 64, Threads: 1},
			Shards:         1, // every user on one shard
			Now:            now,
		})
		if err != nil {
			t.Fatal(err)
		}
		return node{idn, posts.NewService(db.Posts(), blobs, nil, gen, posts.Config{Now: now})}
	}
	nodes := []node{newNode(), newNode()}

	var users []identity.User
	for i, name := range []string{"alice", "bobby", "carol", "derek"} {
		u, err := nodes[i%2].identity.Register(ctx, name, "0123456789", "", idempotency.Claim{})
		if err != nil {
			t.Fatalf("register %s on node %d: %v", name, i%2, err)
		}
		users = append(users, u)
	}
	for i := range 4 {
		if _, _, err := nodes[i%2].identity.Login(ctx, "alice", "0123456789"); err != nil {
			t.Fatalf("login %d on node %d: %v", i, i%2, err)
		}
	}

	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, image.NewRGBA(image.Rect(0, 0, 40, 30)), nil); err != nil {
		t.Fatal(err)
	}
	author := users[0].ID
	if _, err := nodes[0].posts.Create(ctx, author, "from a", photo.Bytes(), idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("user:%d POST /v2/posts k", author)
	if _, claimed, err := db.Idempotency().Claim(ctx, key, "fp", at, time.Minute, time.Hour); err != nil || !claimed {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	p, err := nodes[1].posts.Create(ctx, author, "from b", photo.Bytes(), idempotency.Claim{Key: key})
	if err != nil {
		t.Fatalf("post on the second node: %v", err)
	}
	rec, claimed, err := db.Idempotency().Claim(ctx, key, "fp", at, time.Minute, time.Hour)
	if err != nil || claimed || rec.State != idempotency.Committed || rec.Resource != posts.Created(p.ID) {
		t.Fatalf("claim after the post: %+v, claimed %v, %v; want committed to post %d", rec, claimed, err, p.ID)
	}
}
