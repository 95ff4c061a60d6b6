package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/photofeed/photofeed/internal/events"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/posts"
)

// PostStore implements posts.Store.
type PostStore struct{ db Conn }

var _ posts.Store = (*PostStore)(nil)

func NewPostStore(db Conn) *PostStore { return &PostStore{db} }

func (s *PostStore) CreatePost(ctx context.Context, p posts.Post) error {
	im := p.Images
	return s.db.InTx(ctx, func(tx Tx) error {
		if p.Status == "" {
			p.Status = posts.Ready
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO posts (id, author_id, caption, created_at,
				thumb_key, thumb_w, thumb_h, large_key, large_w, large_h, original_key, original_w, original_h, status, upload_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.AuthorID, p.Caption, ms(p.CreatedAt),
			im.Thumb.Key, im.Thumb.Width, im.Thumb.Height,
			im.Large.Key, im.Large.Width, im.Large.Height,
			im.Original.Key, im.Original.Width, im.Original.Height, p.Status, p.UploadKey)
		if err != nil {
			return fmt.Errorf("insert post: %w", err)
		}
		keys := im.Keys()
		if p.UploadKey != "" {
			keys = append(keys, p.UploadKey)
		}
		if err := linkBlobs(ctx, tx, p.ID, keys); err != nil {
			return err
		}
		switch p.Status {
		case posts.Ready:
			if err := emit(ctx, tx, events.PhotoPosted, events.PhotoPostedV1{PostID: p.ID, AuthorID: p.AuthorID, Caption: p.Caption, CreatedAt: p.CreatedAt}); err != nil {
				return err
			}
		case posts.Processing:
			if err := s.db.OnProcessing(ctx, tx, p.ID); err != nil {
				return fmt.Errorf("enqueue thumbnails: %w", err)
			}
		}
		return markCommitted(ctx, tx, fmt.Sprintf("post:%d", p.ID))
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
	p, err := scanPost(s.db.QueryRow(ctx, `SELECT `+postCols+` FROM posts WHERE id = ?`, id))
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
	return s.list(ctx, `SELECT `+postColsP+` FROM `+s.db.IDsJoin()+` posts AS p ON p.id = j.value`, s.db.IDs(idList))
}

func (s *PostStore) PostsByAuthor(ctx context.Context, authorID int64, offset, limit int) ([]posts.Post, error) {
	return s.list(ctx, `SELECT `+postCols+` FROM posts WHERE author_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`, authorID, limit, offset)
}

func (s *PostStore) list(ctx context.Context, q string, args ...any) ([]posts.Post, error) {
	rows, err := s.db.Query(ctx, q, args...)
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
	var n int64
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM posts WHERE author_id = ?`, authorID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count posts: %w", err)
	}
	return n, nil
}

func (s *PostStore) DeletePost(ctx context.Context, id, authorID int64) (posts.Post, error) {
	var p posts.Post
	err := s.db.InTx(ctx, func(tx Tx) error {
		var err error
		p, err = scanPost(tx.QueryRowContext(ctx, `SELECT `+postCols+` FROM posts WHERE id = ? AND author_id = ?`, id, authorID))
		if errors.Is(err, sql.ErrNoRows) {
			return posts.ErrPostNotFound
		}
		if err != nil {
			return fmt.Errorf("select post: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM posts WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete post: %w", err)
		}
		return emit(ctx, tx, events.PhotoDeleted, events.PhotoDeletedV1{PostID: id, AuthorID: authorID, MediaKeys: p.Images.Keys()})
	})
	return p, err
}

func (s *PostStore) Like(ctx context.Context, postID, userID int64, at time.Time) error {
	return s.db.InTx(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO likes (post_id, user_id, created_at)
			SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM posts WHERE id = ?)
			ON CONFLICT DO NOTHING`, postID, userID, ms(at), postID)
		if err != nil {
			return fmt.Errorf("insert like: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if _, err = tx.ExecContext(ctx, `UPDATE posts SET like_count = like_count + 1 WHERE id = ?`, postID); err != nil {
				return err
			}
			return emit(ctx, tx, events.PostLiked, events.LikeV1{PostID: postID, UserID: userID})
		}
		return s.mustExist(ctx, tx, postID)
	})
}

func (s *PostStore) Unlike(ctx context.Context, postID, userID int64) error {
	return s.db.InTx(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM likes WHERE post_id = ? AND user_id = ?`, postID, userID)
		if err != nil {
			return fmt.Errorf("delete like: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			if _, err = tx.ExecContext(ctx, `UPDATE posts SET like_count = like_count - 1 WHERE id = ?`, postID); err != nil {
				return err
			}
			return emit(ctx, tx, events.PostUnliked, events.LikeV1{PostID: postID, UserID: userID})
		}
		return s.mustExist(ctx, tx, postID)
	})
}

func (s *PostStore) mustExist(ctx context.Context, tx Tx, postID int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM posts WHERE id = ?`, postID).Scan(&one)
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
	rows, err := s.db.Query(ctx, `SELECT l.post_id FROM `+s.db.IDsJoin()+` likes AS l ON l.post_id = j.value AND l.user_id = ?`,
		s.db.IDs(postIDs), userID)
	if err != nil {
		return nil, fmt.Errorf("select likes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// ImageInUse asks the primary: it decides whether bytes are deleted, and
// a replica that has not replayed a new reference would say "unused".
func (s *PostStore) ImageInUse(ctx context.Context, key string) (bool, error) {
	var one int
	err := s.db.QueryRowPrimary(ctx, `SELECT 1 FROM post_blobs WHERE blob_key = ? LIMIT 1`, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("select blob use: %w", err)
	}
	return true, nil
}

func linkBlobs(ctx context.Context, tx Tx, postID int64, keys []string) error {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO post_blobs (blob_key, post_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, k, postID); err != nil {
			return fmt.Errorf("insert post blob: %w", err)
		}
	}
	return nil
}

func (s *PostStore) FinishPost(ctx context.Context, id int64, im posts.Images) (bool, error) {
	finished := false
	err := s.db.InTx(ctx, func(tx Tx) error {
		p, err := scanPost(tx.QueryRowContext(ctx, `SELECT `+postCols+` FROM posts WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && p.Status != posts.Processing) {
			return nil // deleted meanwhile, or a replayed job
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE posts SET status = ?, upload_key = '',
				thumb_key = ?, thumb_w = ?, thumb_h = ?, large_key = ?, large_w = ?, large_h = ?,
				original_key = ?, original_w = ?, original_h = ?
			WHERE id = ?`, posts.Ready,
			im.Thumb.Key, im.Thumb.Width, im.Thumb.Height, im.Large.Key, im.Large.Width, im.Large.Height,
			im.Original.Key, im.Original.Width, im.Original.Height, id); err != nil {
			return fmt.Errorf("finish post: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM post_blobs WHERE post_id = ? AND blob_key = ?`, id, p.UploadKey); err != nil {
			return err
		}
		if err := linkBlobs(ctx, tx, id, im.Keys()); err != nil {
			return err
		}
		finished = true
		return emit(ctx, tx, events.PhotoPosted, events.PhotoPostedV1{PostID: id, AuthorID: p.AuthorID, Caption: p.Caption, CreatedAt: p.CreatedAt})
	})
	return finished, err
}

func (s *PostStore) FailPost(ctx context.Context, id int64) error {
	_, err := s.db.Exec(ctx, `UPDATE posts SET status = ? WHERE id = ? AND status = ?`, posts.Failed, id, posts.Processing)
	return err
}
