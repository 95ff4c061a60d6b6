// Package graph owns who follows whom.
package graph

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/photofeed/photofeed/internal/errkind"
)

// Counts are a user's follower and following totals.
type Counts struct {
	Followers, Following int64
}

// Store is the persistence the graph needs. Follow and Unfollow are
// idempotent and keep Counts in step in the same transaction.
type Store interface {
	Follow(ctx context.Context, follower, followee int64, at time.Time) error
	Unfollow(ctx context.Context, follower, followee int64) error
	IsFollowing(ctx context.Context, follower, followee int64) (bool, error)
	Counts(ctx context.Context, userID int64) (Counts, error)
	// Followers and Following return user ids, most recent first.
	Followers(ctx context.Context, userID int64, offset, limit int) ([]int64, error)
	Following(ctx context.Context, userID int64, offset, limit int) ([]int64, error)
}

var ErrSelfFollow = &errkind.Error{Kind: errkind.Invalid, Message: "you cannot follow yourself",
	Fields: map[string]string{"username": "is you"}}

// Service applies the graph's rules over a Store.
type Service struct {
	store Store
	now   func() time.Time
}

func NewService(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

func (s *Service) Follow(ctx context.Context, follower, followee int64) error {
	if follower == followee {
		return ErrSelfFollow
	}
	if err := s.store.Follow(ctx, follower, followee, s.now().UTC()); err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	return nil
}

func (s *Service) Unfollow(ctx context.Context, follower, followee int64) error {
	if err := s.store.Unfollow(ctx, follower, followee); err != nil {
		return fmt.Errorf("unfollow: %w", err)
	}
	return nil
}

func (s *Service) IsFollowing(ctx context.Context, follower, followee int64) (bool, error) {
	return s.store.IsFollowing(ctx, follower, followee)
}

func (s *Service) Counts(ctx context.Context, userID int64) (Counts, error) {
	return s.store.Counts(ctx, userID)
}

// Followers returns a page of follower ids and the total.
func (s *Service) Followers(ctx context.Context, userID int64, offset, limit int) ([]int64, int64, error) {
	c, err := s.store.Counts(ctx, userID)
	if err != nil {
		return nil, 0, fmt.Errorf("followers: %w", err)
	}
	list, err := s.store.Followers(ctx, userID, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("followers: %w", err)
	}
	return list, c.Followers, nil
}

// Following returns a page of followed ids and the total.
func (s *Service) Following(ctx context.Context, userID int64, offset, limit int) ([]int64, int64, error) {
	c, err := s.store.Counts(ctx, userID)
	if err != nil {
		return nil, 0, fmt.Errorf("following: %w", err)
	}
	list, err := s.store.Following(ctx, userID, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("following: %w", err)
	}
	return list, c.Following, nil
}

// How far Suggestions looks: the most recent follows of the user, and of
// each of those. Bounded so that a user following thousands costs the
// same few reads as anyone, whatever shards the follows live on.
const (
	suggestFrom    = 20  // followed users whose follows are read
	suggestEach    = 50  // follows read of each
	suggestExclude = 500 // the user's own follows read to leave out
)

// Suggestions are people followed by the people userID follows, whom
// userID does not follow yet, most shared first (then lowest id): the
// friends-of-friends rule. It reads through Following only, so it works
// the same on one database and on shards.
func (s *Service) Suggestions(ctx context.Context, userID int64, limit int) ([]int64, error) {
	mine, err := s.store.Following(ctx, userID, 0, suggestExclude)
	if err != nil {
		return nil, fmt.Errorf("suggestions: %w", err)
	}
	followed := make(map[int64]bool, len(mine))
	for _, id := range mine {
		followed[id] = true
	}
	shared := map[int64]int{}
	for _, f := range mine[:min(len(mine), suggestFrom)] {
		theirs, err := s.store.Following(ctx, f, 0, suggestEach)
		if err != nil {
			return nil, fmt.Errorf("suggestions: %w", err)
		}
		for _, c := range theirs {
			if c != userID && !followed[c] {
				shared[c]++
			}
		}
	}
	out := make([]int64, 0, len(shared))
	for id := range shared {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b int64) int {
		return cmp.Or(cmp.Compare(shared[b], shared[a]), cmp.Compare(a, b))
	})
	if len(mine) < suggestExclude {
		return out[:min(len(out), limit)], nil
	}
	// The user follows more than were read: ask about each candidate.
	var kept []int64
	for _, id := range out {
		if len(kept) == limit {
			break
		}
		if yes, err := s.store.IsFollowing(ctx, userID, id); err != nil {
			return nil, fmt.Errorf("suggestions: %w", err)
		} else if !yes {
			kept = append(kept, id)
		}
	}
	return kept, nil
}
