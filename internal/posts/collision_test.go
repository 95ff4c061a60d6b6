package posts_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"path/filepath"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/sqlite"
)

// openStores opens a SQLite database whose processing posts need no job
// queue, and a blob directory, for the test.
func openStores(t *testing.T) (*sqlite.DB, *blobstore.Dir) {
	t.Helper()
	db, err := sqlite.OpenWith(t.Context(), filepath.Join(t.TempDir(), "p.db"), sqlite.Options{
		OnProcessingPost: func(context.Context, *sql.Tx, int64) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	blobs, err := blobstore.OpenDir(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return db, blobs
}

func photo(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Two nodes (two services over one database and one blob store, each with
// its own id generator on a clock stopped at the same instant, sequences
// starting at 0 rather than at random) taking
// posts by the same author: the second node's first id is the first
// node's, and it takes a fresh one instead of failing, or of pointing its
// post at the other's upload. The retry commits the request's claim.
func TestCreateRetriesATakenID(t *testing.T) {
	ctx := t.Context()
	db, blobs := openStores(t)
	at := ids.Epoch.Add(24 * time.Hour)
	now := func() time.Time { return at }
	node := func() *posts.Service {
		return posts.NewService(db.Posts(), blobs, nil, ids.NewGeneratorWithStart(now, func() int { return 0 }), posts.Config{Now: now})
	}
	a, b := node(), node()
	author, _ := ids.NewGenerator(func() time.Time { return at.Add(-time.Hour) }).Next(5)
	if err := db.Identity().CreateUser(ctx, identity.User{ID: author, Username: "author", DisplayName: "Author", CreatedAt: at}, "hash", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}

	pa, err := a.Create(ctx, author, "from a", photo(t, color.RGBA{200, 0, 0, 255}), idempotency.Claim{})
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("user:%d POST /v2/posts k", author)
	if _, claimed, err := db.Idempotency().Claim(ctx, key, "fp", at, time.Minute, time.Hour); err != nil || !claimed {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	mine := photo(t, color.RGBA{0, 0, 200, 255})
	pb, err := b.Create(ctx, author, "from b", mine, idempotency.Claim{Key: key})
	if err != nil {
		t.Fatalf("create on the second node: %v", err)
	}
	if pb.ID == pa.ID || pb.UploadKey == pa.UploadKey {
		t.Fatalf("both nodes' posts are %d (%s)", pb.ID, pb.UploadKey)
	}
	if got, err := blobs.Get(ctx, pb.UploadKey); err != nil || !bytes.Equal(got, mine) {
		t.Fatalf("the second post's upload is not its photo (%d bytes, %v)", len(got), err)
	}
	stored, err := b.Post(ctx, pb.ID)
	if err != nil || stored.Caption != "from b" || stored.UploadKey != pb.UploadKey {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	rec, claimed, err := db.Idempotency().Claim(ctx, key, "fp", at, time.Minute, time.Hour)
	if err != nil || claimed || rec.State != idempotency.Committed || rec.Resource != posts.Created(pb.ID) {
		t.Fatalf("claim after the create: %+v, claimed %v, %v; want committed to post %d", rec, claimed, err, pb.ID)
	}
}
