package sqlite

import (
	"context"
	"math"

	"github.com/photofeed/photofeed/internal/feed"
)

// FeedStore implements feed.Store by fan-out on read: it merges the recent
// posts of everyone the user follows, through the (author_id, id) index.
type FeedStore struct{ db *DB }

var _ feed.Store = (*FeedStore)(nil)

func (db *DB) Feed() *FeedStore { return &FeedStore{db} }

func (s *FeedStore) HomeTimeline(ctx context.Context, userID, beforeID int64, limit int) ([]int64, error) {
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	return (&GraphStore{s.db}).ids(ctx, `
		SELECT id FROM posts
		WHERE author_id IN (SELECT followee_id FROM follows WHERE follower_id = ?1 UNION ALL SELECT ?1)
		  AND id < ?2
		ORDER BY id DESC LIMIT ?3`, userID, beforeID, limit)
}
