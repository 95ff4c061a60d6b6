package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/bulkload"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/sqlite"
)

// A bulk load reads back through the stores as the same data made
// through the API would: accounts that log in by name, follow counts,
// ready photos with their blobs referenced, and a home timeline built on
// its first read.
func TestBulkLoadReadsBackThroughTheStores(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bulk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sink, err := db.Bulk(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 21,300 rows: past one batch's commit.
	cfg := bulkload.Config{Users: 300, Follows: 6_000, Posts: 15_000, Shards: 8, Seed: 3, Prefix: "bulk",
		Now: time.Now(), Span: time.Hour, PasswordHash: "$argon2id$stored", Sample: 10,
		Images: func(_ context.Context, shard int) (posts.Images, error) {
			k := "000" + string(rune('0'+shard))
			return posts.Images{Thumb: posts.Image{Key: k + "-t.jpg", Width: 320, Height: 400},
				Large: posts.Image{Key: k + "-l.jpg", Width: 1080, Height: 1350}, Original: posts.Image{Key: k + "-o.jpg", Width: 1080, Height: 1350}}, nil
		}}
	res, err := bulkload.Load(ctx, cfg, sink, nil)
	if err != nil {
		t.Fatal(err)
	}

	id, hash, err := db.Identity().PasswordHash(ctx, res.Users[0])
	if err != nil || hash != cfg.PasswordHash {
		t.Fatalf("account %s: %q, %v", res.Users[0], hash, err)
	}
	counts, err := db.Graph().Counts(ctx, id)
	if err != nil || counts.Following != int64(cfg.Follows/cfg.Users) {
		t.Fatalf("counts of %s: %+v, %v; want %d following", res.Users[0], counts, err, cfg.Follows/cfg.Users)
	}
	p, err := db.Posts().Post(ctx, res.Posts[0])
	if err != nil || p.Status != posts.Ready || p.Images.Large.Width != 1080 {
		t.Fatalf("post %d: %+v, %v", res.Posts[0], p, err)
	}
	if used, err := db.Posts().ImageInUse(ctx, p.Images.Thumb.Key); err != nil || !used {
		t.Fatalf("the post's thumb is not referenced: %v, %v", used, err)
	}
	if err := db.Timelines().Rebuild(ctx, id, 10_000, 800); err != nil {
		t.Fatal(err)
	}
	page, _, err := db.Timelines().Timeline(ctx, id, 0, 20, true)
	if err != nil || len(page) == 0 {
		t.Fatalf("home timeline of %s: %v, %v", res.Users[0], page, err)
	}

	if _, err := db.Bulk(ctx); err == nil || !strings.Contains(err.Error(), "already holds") {
		t.Fatalf("a second load into the same database: %v", err)
	}
}
