package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/events"
	"github.com/photofeed/photofeed/internal/posts"
)

// PostStore implements posts.Store. A post lives on its author's shard
// (its id names it), with its blob references and its likes, so a like and
// the post's count change in one transaction.
type PostStore struct{ cluster }

var _ posts.Store = (*PostStore)(nil)

func NewPostStore(sh Shards) *PostStore { return &PostStore{cluster{sh}} }

func (s *PostStore) CreatePost(ctx context.Context, p posts.Post, claim idempotency.Claim) error {
	im := p.Images
	n := ids.Shard(p.ID)
	return s.write(ctx, []int64{p.ID}, func(tx Tx) error {
		if p.Status == "" {
			p.Status = posts.Ready
		}
		// A taken id is another node's post from the same millisecond:
		// DO NOTHING, so the transaction stays usable and the caller
		// learns it as ids.ErrTaken and retries with a fresh id.
		res, err := tx.ExecContext(ctx, s.q(n, `
			INSERT INTO shard.posts (id, author_id, caption, created_at,
				thumb_key, thumb_w, thumb_h, large_key, large_w, large_h, original_key, original_w, original_h, status, upload_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
			p.ID, p.AuthorID, p.Caption, ms(p.CreatedAt),
			im.Thumb.Key, im.Thumb.Width, im.Thumb.Height,
			im.Large.Key, im.Large.Width, im.Large.Height,
			im.Original.Key, im.Original.Width, im.Original.Height, p.Status, p.UploadKey)
		if err != nil {
			return fmt.Errorf("insert post: %w", err)
		}
		if rows, _ := res.RowsAffected(); rows == 0 {
			return fmt.Errorf("insert post %d: %w", p.ID, ids.ErrTaken)
		}
		keys := im.Keys()
		if p.UploadKey != "" {
			keys = append(keys, p.UploadKey)
		}
		if err := s.linkBlobs(ctx, tx, p.ID, keys); err != nil {
			return err
		}
		switch p.Status {
		case posts.Ready:
			if err := emit(ctx, tx, events.PhotoPosted, events.PhotoPostedV1{PostID: p.ID, AuthorID: p.AuthorID, Caption: p.Caption, CreatedAt: p.CreatedAt}); err != nil {
				return err
			}
		case posts.Processing:
			if err := s.sh.Databases()[s.sh.Home(n)].OnProcessing(ctx, tx, p.ID); err != nil {
				return fmt.Errorf("enqueue thumbnails: %w", err)
			}
		}
		return markCommitted(ctx, tx, s.sh.Prefix(n), claim, posts.Created(p.ID))
	})
}

const postCols = `id, author_id, caption, created_at, thumb_key, thumb_w, thumb_h,
	large_key, large_w, large_h, original_key, original_w, original_h, like_count, status, upload_key`

// postColsP is postCols qualified for joins, where the table is p.
var postColsP = "p." + strings.ReplaceAll(strings.Join(strings.Fields(postCols), " "), ", ", ", p.")

func scanPost(row RowScanner) (posts.Post, error) {
	var p posts.Post
	var created int64
	im := &p.Images
	err := row.Scan(&p.ID, &p.AuthorID, &p.Caption, &created,
		&im.Thumb.Key, &im.Thumb.Width, &im.Thumb.Height,
		&im.Large.Key, &im.Large.Width, &im.Large.Height,
		&im.Original.Key, &im.Original.Width, &im.Original.Height, &p.LikeCount, &p.Status, &p.UploadKey)
	p.CreatedAt = fromMS(created)
	return p, err
}

func (s *PostStore) Post(ctx context.Context, id int64) (posts.Post, error) {
	return s.post(ctx, id, Conn.QueryRow)
}

func (s *PostStore) CurrentPost(ctx context.Context, id int64) (posts.Post, error) {
	return s.post(ctx, id, Conn.QueryRowPrimary)
}

// post reads post id with query: where a read may go, or the primary.
func (s *PostStore) post(ctx context.Context, id int64, query func(Conn, context.Context, string, ...any) RowScanner) (posts.Post, error) {
	var p posts.Post
	err := s.read(ctx, id, func(db Conn, n int) error {
		var err error
		p, err = scanPost(query(db, ctx, s.q(n, `SELECT `+postCols+` FROM shard.posts WHERE id = ?`), id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return posts.Post{}, posts.ErrPostNotFound
	}
	if err != nil {
		return posts.Post{}, fmt.Errorf("select post: %w", err)
	}
	return p, nil
}

func (s *PostStore) PostsByIDs(ctx context.Context, idList []int64) ([]posts.Post, error) {
	if len(idList) == 0 {
		return nil, nil
	}
	var out []posts.Post
	for _, g := range s.groups(idList) {
		q, args := s.union(g, `SELECT `+postColsP+` FROM `+g.db.IDsJoin()+` shard.posts AS p ON p.id = j.value`,
			func(_ int, ids []int64) []any { return []any{g.db.IDs(ids)} })
		list, err := s.list(ctx, g.db, q, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	if len(out) > 1 {
		order := make(map[int64]int, len(idList))
		for i, id := range idList {
			order[id] = i
		}
		slices.SortStableFunc(out, func(a, b posts.Post) int { return order[a.ID] - order[b.ID] })
	}
	return out, nil
}

func (s *PostStore) PostsByAuthor(ctx context.Context, authorID int64, offset, limit int) ([]posts.Post, error) {
	var out []posts.Post
	err := s.read(ctx, authorID, func(db Conn, n int) error {
		var err error
		out, err = s.list(ctx, db, s.q(n, `SELECT `+postCols+` FROM shard.posts WHERE author_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`), authorID, limit, offset)
		return err
	})
	return out, err
}

func (s *PostStore) list(ctx context.Context, db Conn, q string, args ...any) ([]posts.Post, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("select posts: %w", err)
	}
	defer rows.Close()
	var out []posts.Post
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, fmt.Errorf("scan post: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *PostStore) CountByAuthor(ctx context.Context, authorID int64) (int64, error) {
	var count int64
	err := s.read(ctx, authorID, func(db Conn, n int) error {
		return db.QueryRow(ctx, s.q(n, `SELECT count(*) FROM shard.posts WHERE author_id = ?`), authorID).Scan(&count)
	})
	if err != nil {
		return 0, fmt.Errorf("count posts: %w", err)
	}
	return count, nil
}

func (s *PostStore) DeletePost(ctx context.Context, id, authorID int64) (posts.Post, error) {
	var p posts.Post
	n := ids.Shard(id)
	err := s.write(ctx, []int64{id}, func(tx Tx) error {
		var err error
		p, err = scanPost(tx.QueryRowContext(ctx, s.q(n, `SELECT `+postCols+` FROM shard.posts WHERE id = ? AND author_id = ?`), id, authorID))
		if errors.Is(err, sql.ErrNoRows) {
			return posts.ErrPostNotFound
		}
		if err != nil {
			return fmt.Errorf("select post: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(n, `DELETE FROM shard.posts WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete post: %w", err)
		}
		return emit(ctx, tx, events.PhotoDeleted, events.PhotoDeletedV1{PostID: id, AuthorID: authorID, MediaKeys: p.Images.Keys()})
	})
	return p, err
}

func (s *PostStore) Like(ctx context.Context, postID, userID int64, at time.Time) error {
	n := ids.Shard(postID)
	return s.write(ctx, []int64{postID}, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, s.q(n, `
			INSERT INTO shard.likes (post_id, user_id, created_at)
			SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM shard.posts WHERE id = ?)
			ON CONFLICT DO NOTHING`), postID, userID, ms(at), postID)
		if err != nil {
			return fmt.Errorf("insert like: %w", err)
		}
		if changed, _ := res.RowsAffected(); changed == 1 {
			if _, err = tx.ExecContext(ctx, s.q(n, `UPDATE shard.posts SET like_count = like_count + 1 WHERE id = ?`), postID); err != nil {
				return err
			}
			return emit(ctx, tx, events.PostLiked, events.LikeV1{PostID: postID, UserID: userID})
		}
		return s.mustExist(ctx, tx, n, postID)
	})
}

func (s *PostStore) Unlike(ctx context.Context, postID, userID int64) error {
	n := ids.Shard(postID)
	return s.write(ctx, []int64{postID}, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, s.q(n, `DELETE FROM shard.likes WHERE post_id = ? AND user_id = ?`), postID, userID)
		if err != nil {
			return fmt.Errorf("delete like: %w", err)
		}
		if changed, _ := res.RowsAffected(); changed == 1 {
			if _, err = tx.ExecContext(ctx, s.q(n, `UPDATE shard.posts SET like_count = like_count - 1 WHERE id = ?`), postID); err != nil {
				return err
			}
			return emit(ctx, tx, events.PostUnliked, events.LikeV1{PostID: postID, UserID: userID})
		}
		return s.mustExist(ctx, tx, n, postID)
	})
}

func (s *PostStore) mustExist(ctx context.Context, tx Tx, n int, postID int64) error {
	var one int
	err := tx.QueryRowContext(ctx, s.q(n, `SELECT 1 FROM shard.posts WHERE id = ?`), postID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return posts.ErrPostNotFound
	}
	return err
}

func (s *PostStore) LikedBy(ctx context.Context, userID int64, postIDs []int64) (map[int64]bool, error) {
	out := make(map[int64]bool)
	if len(postIDs) == 0 {
		return out, nil
	}
	for _, g := range s.groups(postIDs) {
		q, args := s.union(g, `SELECT l.post_id FROM `+g.db.IDsJoin()+` shard.likes AS l ON l.post_id = j.value AND l.user_id = ?`,
			func(_ int, ids []int64) []any { return []any{g.db.IDs(ids), userID} })
		liked, err := scanIDs(g.db.Query(ctx, q, args...))
		if err != nil {
			return nil, fmt.Errorf("select likes: %w", err)
		}
		for _, id := range liked {
			out[id] = true
		}
	}
	return out, nil
}

// ImageInUse asks the primary: it decides whether bytes are deleted, and
// a replica that has not replayed a new reference would say "unused".
// Keys name the shard of the posts that may share them (posts.BlobKey),
// so one shard answers.
func (s *PostStore) ImageInUse(ctx context.Context, key string) (bool, error) {
	n := posts.ShardOfKey(key) % s.sh.Count()
	var inUse bool
	err := s.retry(ctx, func() error {
		var one int
		err := s.sh.Databases()[s.sh.Home(n)].QueryRowPrimary(ctx, s.q(n, `SELECT 1 FROM shard.post_blobs WHERE blob_key = ? LIMIT 1`), key).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		inUse = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("select blob use: %w", err)
	}
	return inUse, nil
}

// DeleteIfUnused checks and deletes under an exclusive lock on the key,
// which every new reference takes shared (linkBlobs): a reference either
// commits before the check (and is seen) or waits until the bytes are gone
// (and its writer puts them again).
func (s *PostStore) DeleteIfUnused(ctx context.Context, key string, del func(context.Context) error) (bool, error) {
	n := posts.ShardOfKey(key) % s.sh.Count()
	deleted := false
	err := s.retry(ctx, func() error {
		deleted = false
		return s.writeShards(ctx, []int{n}, func(tx Tx) error {
			if err := s.lockKey(ctx, tx, n, key, false); err != nil {
				return err
			}
			var one int
			err := tx.QueryRowContext(ctx, s.q(n, `SELECT 1 FROM shard.post_blobs WHERE blob_key = ? LIMIT 1`), key).Scan(&one)
			if err == nil {
				return nil // in use
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err := del(ctx); err != nil {
				return err
			}
			deleted = true
			return nil
		})
	})
	if err != nil {
		return false, fmt.Errorf("delete unused blob %s: %w", key, err)
	}
	return deleted, nil
}

// lockKey locks a blob key in tx, on shard n's database.
func (s *PostStore) lockKey(ctx context.Context, tx Tx, n int, key string, shared bool) error {
	stmt := s.sh.Databases()[s.sh.Home(n)].LockKey(shared)
	if stmt == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, stmt, "blob:"+key)
	return err
}

func (s *PostStore) linkBlobs(ctx context.Context, tx Tx, postID int64, keys []string) error {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if err := s.lockKey(ctx, tx, ids.Shard(postID), k, true); err != nil {
			return fmt.Errorf("lock blob %s: %w", k, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(ids.Shard(postID), `INSERT INTO shard.post_blobs (blob_key, post_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), k, postID); err != nil {
			return fmt.Errorf("insert post blob: %w", err)
		}
	}
	return nil
}

func (s *PostStore) FinishPost(ctx context.Context, id int64, im posts.Images) (bool, error) {
	finished := false
	n := ids.Shard(id)
	err := s.write(ctx, []int64{id}, func(tx Tx) error {
		p, err := scanPost(tx.QueryRowContext(ctx, s.q(n, `SELECT `+postCols+` FROM shard.posts WHERE id = ?`), id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && p.Status != posts.Processing) {
			return nil // deleted meanwhile, or a replayed job
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(n, `
			UPDATE shard.posts SET status = ?, upload_key = '',
				thumb_key = ?, thumb_w = ?, thumb_h = ?, large_key = ?, large_w = ?, large_h = ?,
				original_key = ?, original_w = ?, original_h = ?
			WHERE id = ?`), posts.Ready,
			im.Thumb.Key, im.Thumb.Width, im.Thumb.Height, im.Large.Key, im.Large.Width, im.Large.Height,
			im.Original.Key, im.Original.Width, im.Original.Height, id); err != nil {
			return fmt.Errorf("finish post: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(n, `DELETE FROM shard.post_blobs WHERE post_id = ? AND blob_key = ?`), id, p.UploadKey); err != nil {
			return err
		}
		if err := s.linkBlobs(ctx, tx, id, im.Keys()); err != nil {
			return err
		}
		finished = true
		return emit(ctx, tx, events.PhotoPosted, events.PhotoPostedV1{PostID: id, AuthorID: p.AuthorID, Caption: p.Caption, CreatedAt: p.CreatedAt})
	})
	return finished, err
}

func (s *PostStore) FailPost(ctx context.Context, id int64) error {
	return s.write(ctx, []int64{id}, func(tx Tx) error {
		_, err := tx.ExecContext(ctx, s.q(ids.Shard(id), `UPDATE shard.posts SET status = ? WHERE id = ? AND status = ?`), posts.Failed, id, posts.Processing)
		return err
	})
}
