package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/internal/bulkload"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/loadtest"
	"github.com/photofeed/photofeed/internal/media"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/progress"
	"github.com/photofeed/photofeed/internal/sqlite"
)

// bulkloadCmd is `photofeed bulkload`: a synthetic dataset written
// straight into a new embedded deployment's data directory, and an
// accounts file for `photofeed loadtest --accounts`.
func bulkloadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulkload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: photofeed bulkload [flags]

Writes a synthetic dataset (accounts, follows with a few very followed
accounts, ready photos spread over --span) straight into the embedded
database of a new data directory, without the API: the way to a dataset
of the seed's shape large enough for memory and capacity figures. Every
account has the same password. Home timelines are built on their first
read; the search index is left empty (photofeed reindex builds it).
Writes an accounts file for photofeed loadtest --accounts.

`)
		fs.PrintDefaults()
	}
	dataDir := fs.String("data-dir", "./data", "the new deployment's data directory (its database must hold no accounts)")
	cfg := bulkload.Config{Prefix: "bulk", Now: time.Now().UTC(), PasswordHash: ""}
	fs.IntVar(&cfg.Users, "users", 100_000, "accounts")
	fs.IntVar(&cfg.Follows, "follows", 2_000_000, "follow edges")
	fs.IntVar(&cfg.Posts, "posts", 1_000_000, "photos")
	fs.IntVar(&cfg.Shards, "logical-shards", 1024, "the deployment's logical shards (as photofeed serve --logical-shards)")
	fs.DurationVar(&cfg.Span, "span", 30*24*time.Hour, "the photos are spread over this long before now")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the random choices")
	fs.IntVar(&cfg.Sample, "sample", 2000, "accounts and photos listed in the accounts file")
	password := fs.String("password", "bulk-password", "every account's password")
	argonMem := fs.Int("argon2-memory", 64, "argon2id memory (KiB) of the accounts' password hash: small, so the load generator's logins cost little")
	argonTime := fs.Int("argon2-time", 1, "argon2id passes of the accounts' password hash")
	accountsOut := fs.String("accounts", "", "accounts file to write (default DATA-DIR/bulk-accounts.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bulkload: unexpected argument %q", fs.Arg(0))
	}
	switch {
	case cfg.Users < 2 || cfg.Users > 10_000_000:
		return errors.New("bulkload: --users must be between 2 and 10,000,000")
	case cfg.Follows < 0 || cfg.Follows > 100*cfg.Users:
		return errors.New("bulkload: --follows must be between 0 and 100 per account")
	case cfg.Posts < 0 || cfg.Posts > 100_000_000:
		return errors.New("bulkload: --posts must be between 0 and 100,000,000")
	case cfg.Shards < 1 || cfg.Shards > 8192:
		return errors.New("bulkload: --logical-shards must be between 1 and 8192")
	case cfg.Span <= 0:
		return errors.New("bulkload: --span must be positive")
	case *argonMem < 8 || *argonTime < 1:
		return errors.New("bulkload: --argon2-memory must be at least 8 (KiB) and --argon2-time at least 1")
	}
	if *accountsOut == "" {
		*accountsOut = filepath.Join(*dataDir, "bulk-accounts.json")
	}
	hash, err := identity.HashPassword(*password, identity.PasswordParams{Time: uint32(*argonTime), Memory: uint32(*argonMem), Threads: 1})
	if err != nil {
		return fmt.Errorf("bulkload: %w", err)
	}
	cfg.PasswordHash = hash
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("bulkload: %w", err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(*dataDir, "photofeed.db"))
	if err != nil {
		return fmt.Errorf("bulkload: %w", err)
	}
	defer db.Close()
	blobs, err := blobstore.OpenDir(filepath.Join(*dataDir, "media"))
	if err != nil {
		return fmt.Errorf("bulkload: %w", err)
	}
	variants, err := bulkPhoto()
	if err != nil {
		return fmt.Errorf("bulkload: %w", err)
	}
	cfg.Images = func(ctx context.Context, shard int) (posts.Images, error) {
		var im posts.Images
		for _, x := range []struct {
			dst *posts.Image
			v   media.Variant
		}{{&im.Thumb, variants.Thumb}, {&im.Large, variants.Large}, {&im.Original, variants.Original}} {
			key := posts.BlobKey(shard, x.v.Data, x.v.Ext)
			if _, err := blobs.Put(ctx, key, x.v.Data); err != nil {
				return im, err
			}
			*x.dst = posts.Image{Key: key, Width: x.v.Width, Height: x.v.Height}
		}
		return im, nil
	}
	sink, err := db.Bulk(ctx)
	if err != nil {
		return err
	}
	began := time.Now()
	var meter *progress.Meter
	phase := ""
	res, err := bulkload.Load(ctx, cfg, sink, func(p string, done, total int) {
		if p != phase {
			if meter != nil {
				meter.Done()
			}
			phase, meter = p, progress.New(stderr, progress.Terminal(stderr), "bulkload: "+p, int64(total))
		}
		meter.Set(int64(done))
	})
	if meter != nil {
		meter.Done()
	}
	if err != nil {
		sink.Abort()
		return err
	}
	acc := loadtest.Accounts{}
	for _, u := range res.Users {
		acc.Users = append(acc.Users, loadtest.Account{Username: u, Password: *password})
	}
	for _, id := range res.Posts {
		acc.Posts = append(acc.Posts, strconv.FormatInt(id, 10))
	}
	if err := loadtest.WriteAccounts(*accountsOut, acc); err != nil {
		return fmt.Errorf("bulkload: %w", err)
	}
	fmt.Fprintf(stdout, "loaded %d accounts, %d follows and %d photos into %s in %s; %d accounts for photofeed loadtest --accounts %s\n",
		cfg.Users, res.Follows, cfg.Posts, *dataDir, time.Since(began).Round(time.Second), len(acc.Users), *accountsOut)
	return nil
}

// bulkPhoto renders the photo every post of a bulk load shows: a phone's
// portrait frame, a gradient so the variants are of a photo's size rather
// than of a flat colour's.
func bulkPhoto() (media.Variants, error) {
	const w, h = 1080, 1350
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x ^ y) & 0xff), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		return media.Variants{}, err
	}
	return media.Process(b.Bytes(), media.Limits{Pixels: w * h, Bytes: 1 << 30})
}
