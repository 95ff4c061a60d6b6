package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/events"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
)

// GraphStore implements graph.Store. A follow is stored on both users'
// shards: the follower's row (their "following") is written with the
// follow; the followee's copy (their "followers") and follower count in
// the same transaction when both shards are on one database, and by
// Mirror, an event consumer, when they are not. Users on the same shard
// share one row.
type GraphStore struct{ cluster }

var _ graph.Store = (*GraphStore)(nil)

func NewGraphStore(sh Shards) *GraphStore { return &GraphStore{cluster{sh}} }

func (s *GraphStore) Follow(ctx context.Context, follower, followee int64, at time.Time) error {
	return s.change(ctx, follower, followee, 1, events.UserFollowed, func(tx Tx, n int) (bool, error) {
		return s.addEdge(ctx, tx, n, follower, followee, at)
	})
}

func (s *GraphStore) Unfollow(ctx context.Context, follower, followee int64) error {
	return s.change(ctx, follower, followee, -1, events.UserUnfollowed, func(tx Tx, n int) (bool, error) {
		return s.removeEdge(ctx, tx, n, follower, followee)
	})
}

// change applies a follow (d = 1) or unfollow (d = -1): edge adds or
// removes the row on a shard and reports whether it changed anything. The
// follower's side always changes in the transaction; the followee's too
// when their shard is on the same database (else Mirror does it later).
// Repeating a change is a no-op.
func (s *GraphStore) change(ctx context.Context, follower, followee int64, d int, event string, edge func(tx Tx, n int) (bool, error)) error {
	if err := s.userExists(ctx, followee); err != nil {
		return err
	}
	return s.retry(ctx, func() error {
		same := s.sameDB(follower, followee)
		owners := []int64{follower}
		if same {
			owners = append(owners, followee)
		}
		return s.writeOnce(ctx, owners, func(tx Tx) error {
			changed, err := edge(tx, ids.Shard(follower))
			if err != nil || !changed {
				return err
			}
			if err := s.bump(ctx, tx, follower, "following", d); err != nil {
				return err
			}
			if same {
				if ids.Shard(follower) != ids.Shard(followee) {
					if _, err := edge(tx, ids.Shard(followee)); err != nil {
						return err
					}
				}
				if err := s.bump(ctx, tx, followee, "followers", d); err != nil {
					return err
				}
			}
			return emit(ctx, tx, event, events.FollowV1{FollowerID: follower, FolloweeID: followee})
		})
	})
}

// Mirror brings the followee's copy of a follow in line with the
// follower's row, after a follow or unfollow between shards on different
// databases. It reads the state rather than trusting the event, so a
// replayed or late event cannot undo a newer change.
func (s *GraphStore) Mirror(ctx context.Context, follower, followee int64) error {
	if ids.Shard(follower) == ids.Shard(followee) {
		return nil
	}
	var exists bool
	var at int64
	err := s.read(ctx, follower, func(db Conn, n int) error {
		err := db.QueryRowPrimary(ctx, s.q(n, `SELECT created_at FROM shard.follows WHERE follower_id = ? AND followee_id = ?`), follower, followee).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		exists = err == nil
		return err
	})
	if err != nil {
		return fmt.Errorf("mirror follow: %w", err)
	}
	return s.write(ctx, []int64{followee}, func(tx Tx) error {
		n := ids.Shard(followee)
		var changed bool
		var err error
		d := 1
		if exists {
			changed, err = s.addEdge(ctx, tx, n, follower, followee, fromMS(at))
		} else {
			changed, err = s.removeEdge(ctx, tx, n, follower, followee)
			d = -1
		}
		if err != nil || !changed {
			return err
		}
		return s.bump(ctx, tx, followee, "followers", d)
	})
}

func (s *GraphStore) addEdge(ctx context.Context, tx Tx, n int, follower, followee int64, at time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, s.q(n, `INSERT INTO shard.follows (follower_id, followee_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
		follower, followee, ms(at))
	if err != nil {
		return false, fmt.Errorf("insert follow: %w", err)
	}
	added, _ := res.RowsAffected()
	return added == 1, nil
}

func (s *GraphStore) removeEdge(ctx context.Context, tx Tx, n int, follower, followee int64) (bool, error) {
	res, err := tx.ExecContext(ctx, s.q(n, `DELETE FROM shard.follows WHERE follower_id = ? AND followee_id = ?`), follower, followee)
	if err != nil {
		return false, fmt.Errorf("delete follow: %w", err)
	}
	removed, _ := res.RowsAffected()
	return removed == 1, nil
}

// bump adds d to one of a user's counts, on the user's shard.
func (s *GraphStore) bump(ctx context.Context, tx Tx, user int64, col string, d int) error {
	if _, err := tx.ExecContext(ctx, s.q(ids.Shard(user), `
		INSERT INTO shard.follow_counts (user_id, `+col+`) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET `+col+` = follow_counts.`+col+` + excluded.`+col), user, d); err != nil {
		return fmt.Errorf("count %s: %w", col, err)
	}
	return nil
}

// userExists asks the main database, where accounts are.
func (s *GraphStore) userExists(ctx context.Context, id int64) error {
	var one int
	err := s.sh.Main().QueryRowPrimary(ctx, `SELECT 1 FROM users WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return identity.ErrUserNotFound
	}
	return err
}

func (s *GraphStore) IsFollowing(ctx context.Context, follower, followee int64) (bool, error) {
	var found bool
	err := s.read(ctx, follower, func(db Conn, n int) error {
		var one int
		err := db.QueryRow(ctx, s.q(n, `SELECT 1 FROM shard.follows WHERE follower_id = ? AND followee_id = ?`), follower, followee).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("select follow: %w", err)
	}
	return found, nil
}

func (s *GraphStore) Counts(ctx context.Context, userID int64) (graph.Counts, error) {
	var c graph.Counts
	err := s.read(ctx, userID, func(db Conn, n int) error {
		err := db.QueryRow(ctx, s.q(n, `SELECT followers, following FROM shard.follow_counts WHERE user_id = ?`), userID).
			Scan(&c.Followers, &c.Following)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return graph.Counts{}, fmt.Errorf("select counts: %w", err)
	}
	return c, nil
}

func (s *GraphStore) Followers(ctx context.Context, userID int64, offset, limit int) ([]int64, error) {
	return s.idsOn(ctx, userID, false, `SELECT follower_id FROM shard.follows WHERE followee_id = ?
		ORDER BY created_at DESC, follower_id DESC LIMIT ? OFFSET ?`, userID, limit, offset)
}

func (s *GraphStore) Following(ctx context.Context, userID int64, offset, limit int) ([]int64, error) {
	return s.idsOn(ctx, userID, false, `SELECT followee_id FROM shard.follows WHERE follower_id = ?
		ORDER BY created_at DESC, followee_id DESC LIMIT ? OFFSET ?`, userID, limit, offset)
}

// idsOn reads a column of ids from the shard of owner, from the primary
// if primary is set.
func (c cluster) idsOn(ctx context.Context, owner int64, primary bool, stmt string, args ...any) ([]int64, error) {
	var out []int64
	err := c.read(ctx, owner, func(db Conn, n int) error {
		var err error
		if primary {
			out, err = scanIDs(db.QueryPrimary(ctx, c.q(n, stmt), args...))
		} else {
			out, err = scanIDs(db.Query(ctx, c.q(n, stmt), args...))
		}
		return err
	})
	return out, err
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
