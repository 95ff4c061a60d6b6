package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/photofeed/photofeed/internal/events"
	"time"

	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
)

// GraphStore implements graph.Store.
type GraphStore struct{ db Conn }

var _ graph.Store = (*GraphStore)(nil)

func NewGraphStore(db Conn) *GraphStore { return &GraphStore{db} }

func (s *GraphStore) Follow(ctx context.Context, follower, followee int64, at time.Time) error {
	return s.db.InTx(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO follows (follower_id, followee_id, created_at)
			SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)
			ON CONFLICT DO NOTHING`, follower, followee, ms(at), followee)
		if err != nil {
			return fmt.Errorf("insert follow: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return userMustExist(ctx, tx, followee)
		}
		if err := bumpCounts(ctx, tx, follower, followee, 1); err != nil {
			return err
		}
		return emit(ctx, tx, events.UserFollowed, events.FollowV1{FollowerID: follower, FolloweeID: followee})
	})
}

func (s *GraphStore) Unfollow(ctx context.Context, follower, followee int64) error {
	return s.db.InTx(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM follows WHERE follower_id = ? AND followee_id = ?`, follower, followee)
		if err != nil {
			return fmt.Errorf("delete follow: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return userMustExist(ctx, tx, followee)
		}
		if err := bumpCounts(ctx, tx, follower, followee, -1); err != nil {
			return err
		}
		return emit(ctx, tx, events.UserUnfollowed, events.FollowV1{FollowerID: follower, FolloweeID: followee})
	})
}

func bumpCounts(ctx context.Context, tx Tx, follower, followee int64, d int) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO follow_counts (user_id, following) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET following = follow_counts.following + excluded.following`, follower, d); err != nil {
		return fmt.Errorf("count following: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO follow_counts (user_id, followers) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET followers = follow_counts.followers + excluded.followers`, followee, d); err != nil {
		return fmt.Errorf("count followers: %w", err)
	}
	return nil
}

func userMustExist(ctx context.Context, tx Tx, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return identity.ErrUserNotFound
	}
	return err
}

func (s *GraphStore) IsFollowing(ctx context.Context, follower, followee int64) (bool, error) {
	var one int
	err := s.db.QueryRow(ctx, `SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ?`, follower, followee).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("select follow: %w", err)
	}
	return true, nil
}

func (s *GraphStore) Counts(ctx context.Context, userID int64) (graph.Counts, error) {
	var c graph.Counts
	err := s.db.QueryRow(ctx, `SELECT followers, following FROM follow_counts WHERE user_id = ?`, userID).
		Scan(&c.Followers, &c.Following)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return graph.Counts{}, fmt.Errorf("select counts: %w", err)
	}
	return c, nil
}

func (s *GraphStore) Followers(ctx context.Context, userID int64, offset, limit int) ([]int64, error) {
	return s.ids(ctx, `SELECT follower_id FROM follows WHERE followee_id = ?
		ORDER BY created_at DESC, follower_id DESC LIMIT ? OFFSET ?`, userID, limit, offset)
}

func (s *GraphStore) Following(ctx context.Context, userID int64, offset, limit int) ([]int64, error) {
	return s.ids(ctx, `SELECT followee_id FROM follows WHERE follower_id = ?
		ORDER BY created_at DESC, followee_id DESC LIMIT ? OFFSET ?`, userID, limit, offset)
}

func (s *GraphStore) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	return scanIDs(s.db.Query(ctx, q, args...))
}

// scanIDs reads a one-column result of ids.
func scanIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, fmt.Errorf("select ids: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
