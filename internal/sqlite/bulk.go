package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/photofeed/photofeed/internal/bulkload"
	"github.com/photofeed/photofeed/internal/posts"
)

// bulkBatch is how many rows one transaction of a bulk load holds: large
// enough that commits cost nothing next to the inserts, small enough that
// the WAL stays a few tens of megabytes.
const bulkBatch = 20_000

// Bulk writes a bulkload dataset straight into the tables: prepared
// inserts in large transactions, with none of what the stores do per row
// (the outbox event, the fan-out, the id retry). Home timelines are not
// written: each is built the first time its reader asks for it, as after
// a cache loss. Nor is the search index: `photofeed reindex` builds it.
type Bulk struct {
	db   *DB
	tx   *sql.Tx
	rows int

	user, follow, post, blob *sql.Stmt
}

var _ bulkload.Sink = (*Bulk)(nil)

// Bulk starts a bulk load. It refuses a database that holds accounts: a
// dataset is loaded into a new deployment, never mixed with real data.
func (db *DB) Bulk(ctx context.Context) (*Bulk, error) {
	var n int
	if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return nil, fmt.Errorf("bulk load: %w", err)
	}
	if n > 0 {
		return nil, fmt.Errorf("bulk load: the database already holds %d accounts; load into a new data directory", n)
	}
	b := &Bulk{db: db}
	return b, b.begin(ctx)
}

func (b *Bulk) begin(ctx context.Context) error {
	tx, err := b.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("bulk load: begin: %w", err)
	}
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(ctx, q)
		return st
	}
	b.tx = tx
	b.user = prep(`INSERT INTO users (id, username, display_name, password_hash, admin, created_at) VALUES (?, ?, ?, ?, 0, ?)`)
	b.follow = prep(`INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)`)
	b.post = prep(`INSERT INTO posts (id, author_id, caption, created_at,
		thumb_key, thumb_w, thumb_h, large_key, large_w, large_h, original_key, original_w, original_h, status, upload_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')`)
	b.blob = prep(`INSERT INTO post_blobs (blob_key, post_id) VALUES (?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("bulk load: prepare: %w", err)
	}
	return nil
}

// row counts one row, committing and starting anew every bulkBatch.
func (b *Bulk) row(ctx context.Context) error {
	if b.rows++; b.rows%bulkBatch != 0 {
		return nil
	}
	if err := b.tx.Commit(); err != nil {
		return fmt.Errorf("bulk load: commit: %w", err)
	}
	return b.begin(ctx)
}

func (b *Bulk) AddUser(ctx context.Context, u bulkload.User, hash string) error {
	if _, err := b.user.ExecContext(ctx, u.ID, u.Username, u.Username, hash, u.CreatedAt.UnixMilli()); err != nil {
		return err
	}
	return b.row(ctx)
}

func (b *Bulk) AddFollow(ctx context.Context, f bulkload.Follow) error {
	if _, err := b.follow.ExecContext(ctx, f.Follower, f.Followee, f.At.UnixMilli()); err != nil {
		return err
	}
	return b.row(ctx)
}

func (b *Bulk) AddPost(ctx context.Context, p bulkload.Post) error {
	im := p.Images
	if _, err := b.post.ExecContext(ctx, p.ID, p.AuthorID, p.Caption, p.CreatedAt.UnixMilli(),
		im.Thumb.Key, im.Thumb.Width, im.Thumb.Height, im.Large.Key, im.Large.Width, im.Large.Height,
		im.Original.Key, im.Original.Width, im.Original.Height, posts.Ready); err != nil {
		return err
	}
	for _, k := range im.Keys() {
		if _, err := b.blob.ExecContext(ctx, k, p.ID); err != nil {
			return err
		}
	}
	return b.row(ctx)
}

// Finish counts each user's followers and followings and commits.
func (b *Bulk) Finish(ctx context.Context) error {
	_, err := b.tx.ExecContext(ctx, `
		INSERT INTO follow_counts (user_id, followers, following)
		SELECT u.id,
			(SELECT count(*) FROM follows WHERE followee_id = u.id),
			(SELECT count(*) FROM follows WHERE follower_id = u.id)
		FROM users AS u WHERE true
		ON CONFLICT (user_id) DO UPDATE SET followers = excluded.followers, following = excluded.following`)
	if err != nil {
		b.tx.Rollback()
		return fmt.Errorf("follow counts: %w", err)
	}
	if err := b.tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Abort gives up a bulk load, rolling back its open transaction (what
// earlier batches committed stays).
func (b *Bulk) Abort() error {
	if err := b.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}
