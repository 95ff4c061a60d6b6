package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/photofeed/photofeed/internal/feed"
)

// TimelineStore implements feed.TimelineStore: the home-timeline read model
// in a table, kept by the fan-out consumer. Every consumer write also
// advances the consumer's offset in the same transaction, so replaying an
// event changes nothing and readers can tell how far the model has got.
type TimelineStore struct{ db Conn }

var _ feed.TimelineStore = (*TimelineStore)(nil)

func NewTimelineStore(db Conn) *TimelineStore { return &TimelineStore{db} }

func (s *TimelineStore) Timeline(ctx context.Context, userID, beforeID int64, limit int) ([]int64, bool, error) {
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	ids, err := (&GraphStore{s.db}).ids(ctx, `SELECT post_id FROM timelines WHERE user_id = ? AND post_id < ? ORDER BY post_id DESC LIMIT ?`,
		userID, beforeID, limit)
	if err != nil || len(ids) > 0 {
		return ids, err == nil, err
	}
	// No rows: an empty timeline, or none at all. Only then ask which.
	var built int64
	err = s.db.QueryRow(ctx, `SELECT built_at FROM timeline_state WHERE user_id = ?`, userID).Scan(&built)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("timeline state: %w", err)
	}
	return nil, true, nil
}

// followeesUpTo lists the accounts a user follows that have at most
// threshold followers, and the user: whose posts belong in the timeline.
const followeesUpTo = `
	SELECT f.followee_id FROM follows f LEFT JOIN follow_counts c ON c.user_id = f.followee_id
	WHERE f.follower_id = ?1 AND coalesce(c.followers, 0) <= ?2
	UNION ALL SELECT CAST(?1 AS BIGINT)`

// Rebuild first empties the timeline and marks it built, in its own
// transaction, and only then fills it: a post fanned out in between finds
// the mark and is inserted, and the fill adds to it (ON CONFLICT DO
// NOTHING) instead of replacing it. In one transaction the fan-out would
// not see the uncommitted mark and skip the timeline for good.
func (s *TimelineStore) Rebuild(ctx context.Context, userID int64, threshold, capN int) error {
	err := s.db.InTx(ctx, func(tx Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM timelines WHERE user_id = ?`, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO timeline_state (user_id, built_at, entries) VALUES (?, ?, 0)
			ON CONFLICT (user_id) DO UPDATE SET built_at = excluded.built_at, entries = 0`,
			userID, time.Now().UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("rebuild timeline: %w", err)
	}
	return s.db.InTx(ctx, func(tx Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO timelines (user_id, post_id, author_id)
			SELECT CAST(?1 AS BIGINT), id, author_id FROM posts WHERE author_id IN (`+followeesUpTo+`) AND status = 'ready'
			ORDER BY id DESC LIMIT ?3
			ON CONFLICT DO NOTHING`, userID, threshold, capN); err != nil {
			return fmt.Errorf("rebuild timeline: %w", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE timeline_state SET entries = (SELECT count(*) FROM timelines WHERE user_id = ?1) WHERE user_id = ?1`, userID)
		return err
	})
}

func (s *TimelineStore) FollowedCelebrities(ctx context.Context, userID int64, threshold int) ([]int64, error) {
	return (&GraphStore{s.db}).ids(ctx, `
		SELECT c.user_id FROM follow_counts c JOIN follows f ON f.follower_id = ? AND f.followee_id = c.user_id
		WHERE c.followers > ?`, userID, threshold)
}

func (s *TimelineStore) RecentByAuthor(ctx context.Context, authorID, beforeID int64, limit int) ([]int64, error) {
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	return (&GraphStore{s.db}).ids(ctx, `SELECT id FROM posts WHERE author_id = ? AND id < ? AND status = 'ready' ORDER BY id DESC LIMIT ?`, authorID, beforeID, limit)
}

// advance records the consumer's progress inside its transaction.
func advance(ctx context.Context, tx Tx, consumer string, seq int64) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO consumer_offsets (name, seq) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET seq = CASE WHEN excluded.seq > consumer_offsets.seq THEN excluded.seq ELSE consumer_offsets.seq END`, consumer, seq)
	return err
}

// Lag returns the outbox head and the consumer's offset in one read.
func (s *TimelineStore) Lag(ctx context.Context, consumer string) (head, offset int64, err error) {
	err = s.db.QueryRow(ctx, `SELECT coalesce((SELECT max(seq) FROM outbox), 0),
		coalesce((SELECT seq FROM consumer_offsets WHERE name = ?), 0)`, consumer).Scan(&head, &offset)
	return head, offset, err
}

func (s *TimelineStore) Offset(ctx context.Context, consumer string) (int64, error) {
	var seq int64
	err := s.db.QueryRow(ctx, `SELECT seq FROM consumer_offsets WHERE name = ?`, consumer).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, err
}

func (s *TimelineStore) Advance(ctx context.Context, consumer string, seq int64) error {
	return s.db.InTx(ctx, func(tx Tx) error { return advance(ctx, tx, consumer, seq) })
}

// FanOut puts a post into the timelines that exist of its author and of
// followers, unless the author has more than threshold followers (their
// posts are merged in at read time instead). One statement covers all
// followers; timelines that grew well past capN are trimmed back to it.
func (s *TimelineStore) FanOut(ctx context.Context, consumer string, seq, postID, authorID int64, threshold, capN int) error {
	return s.db.InTx(ctx, func(tx Tx) error {
		var followers int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT followers FROM follow_counts WHERE user_id = ?), 0)`, authorID).Scan(&followers); err != nil {
			return err
		}
		toFollowers := followers <= int64(threshold)
		res, err := tx.ExecContext(ctx, `
			INSERT INTO timelines (user_id, post_id, author_id)
			SELECT user_id, CAST(?2 AS BIGINT), CAST(?1 AS BIGINT) FROM timeline_state WHERE user_id = ?1
			UNION ALL
			SELECT f.follower_id, CAST(?2 AS BIGINT), CAST(?1 AS BIGINT) FROM follows f JOIN timeline_state s ON s.user_id = f.follower_id
			WHERE f.followee_id = ?1 AND CAST(?3 AS BOOLEAN)
			ON CONFLICT DO NOTHING`, authorID, postID, toFollowers)
		if err != nil {
			return fmt.Errorf("fan out post %d: %w", postID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 { // not a replay: count and trim
			if _, err := tx.ExecContext(ctx, `UPDATE timeline_state SET entries = entries + 1 WHERE user_id = ?`, authorID); err != nil {
				return err
			}
			if toFollowers {
				if _, err := tx.ExecContext(ctx, `
					UPDATE timeline_state SET entries = entries + 1
					WHERE user_id IN (SELECT follower_id FROM follows WHERE followee_id = ?)`, authorID); err != nil {
					return err
				}
			}
			if err := s.trim(ctx, tx, capN); err != nil {
				return err
			}
		}
		return advance(ctx, tx, consumer, seq)
	})
}

// trim cuts timelines that grew 64 past capN back to capN newest entries;
// the slack makes trimming rare.
func (s *TimelineStore) trim(ctx context.Context, tx Tx, capN int) error {
	rows, err := tx.QueryContext(ctx, `SELECT user_id FROM timeline_state WHERE entries > ?`, capN+64)
	if err != nil {
		return err
	}
	var over []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		over = append(over, id)
	}
	rows.Close()
	for _, uid := range over {
		if _, err := tx.ExecContext(ctx, `
			DELETE FROM timelines WHERE user_id = ?1 AND post_id < (
				SELECT post_id FROM timelines WHERE user_id = ?1 ORDER BY post_id DESC LIMIT 1 OFFSET CAST(?2 AS BIGINT) - 1)`, uid, capN); err != nil {
			return fmt.Errorf("trim timeline %d: %w", uid, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE timeline_state SET entries = (SELECT count(*) FROM timelines WHERE user_id = ?1) WHERE user_id = ?1`, uid); err != nil {
			return err
		}
	}
	return nil
}

func (s *TimelineStore) RemovePost(ctx context.Context, consumer string, seq, postID, authorID int64) error {
	return s.db.InTx(ctx, func(tx Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM timelines WHERE post_id = ?`, postID); err != nil {
			return fmt.Errorf("remove post %d from timelines: %w", postID, err)
		}
		return advance(ctx, tx, consumer, seq)
	})
}

// Backfill adds a newly followed author's recent posts to the follower's
// timeline, if it exists and the author is not merged at read time.
func (s *TimelineStore) Backfill(ctx context.Context, consumer string, seq, follower, followee int64, threshold, capN int) error {
	return s.db.InTx(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO timelines (user_id, post_id, author_id)
			SELECT CAST(?1 AS BIGINT), p.id, p.author_id FROM posts p
			WHERE p.author_id = ?2 AND p.status = 'ready'
			  AND EXISTS (SELECT 1 FROM timeline_state WHERE user_id = ?1)
			  AND coalesce((SELECT followers FROM follow_counts WHERE user_id = ?2), 0) <= ?3
			ORDER BY p.id DESC LIMIT ?4
			ON CONFLICT DO NOTHING`, follower, followee, threshold, capN)
		if err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE timeline_state SET entries = entries + ? WHERE user_id = ?`, n, follower); err != nil {
				return err
			}
			if err := s.trim(ctx, tx, capN); err != nil {
				return err
			}
		}
		return advance(ctx, tx, consumer, seq)
	})
}

// RemoveAuthor takes an unfollowed author's posts out of the timeline.
func (s *TimelineStore) RemoveAuthor(ctx context.Context, consumer string, seq, follower, followee int64) error {
	return s.db.InTx(ctx, func(tx Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM timelines WHERE user_id = ? AND author_id = ?`, follower, followee); err != nil {
			return fmt.Errorf("remove author from timeline: %w", err)
		}
		return advance(ctx, tx, consumer, seq)
	})
}

// The write model seen as timelines, for a read model kept elsewhere
// (Redis): what a timeline holds, and who a post fans out to.

// WriteModelTimeline computes a page of userID's timeline from posts and
// follows (fan-out on read): what a rebuild stores, and what is served
// when the read model cannot be reached.
func (s *TimelineStore) WriteModelTimeline(ctx context.Context, userID, beforeID int64, threshold, limit int) ([]int64, error) {
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	return s.primaryIDs(ctx, `
		SELECT id FROM posts WHERE author_id IN (`+followeesUpTo+`) AND status = 'ready' AND id < ?3
		ORDER BY id DESC LIMIT ?4`, userID, threshold, beforeID, limit)
}

// FanOutTargets lists the followers a post by authorID is written to:
// all of them, or none when the author has more than threshold.
func (s *TimelineStore) FanOutTargets(ctx context.Context, authorID int64, threshold int) ([]int64, error) {
	return s.primaryIDs(ctx, `
		SELECT follower_id FROM follows WHERE followee_id = ?1
		AND coalesce((SELECT followers FROM follow_counts WHERE user_id = ?1), 0) <= ?2`, authorID, threshold)
}

// primaryIDs reads a column of ids from the primary: the fan-out must see
// the follows committed before the event it handles.
func (s *TimelineStore) primaryIDs(ctx context.Context, q string, args ...any) ([]int64, error) {
	return scanIDs(s.db.QueryPrimary(ctx, q, args...))
}

// ByAuthorAmong returns which of postIDs authorID wrote.
func (s *TimelineStore) ByAuthorAmong(ctx context.Context, authorID int64, postIDs []int64) ([]int64, error) {
	if len(postIDs) == 0 {
		return nil, nil
	}
	return s.primaryIDs(ctx, `SELECT id FROM posts WHERE author_id = ? AND id IN (`+s.db.IDList()+`)`, authorID, s.db.IDs(postIDs))
}
