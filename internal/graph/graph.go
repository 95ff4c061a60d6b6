// Package graph owns who follows whom.
package graph

import (
	"context"
	"fmt"
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
