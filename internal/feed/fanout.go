package feed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/events"
)

// FanOut applies domain events to the timelines. Each handler is
// idempotent: replaying any event changes nothing.
type FanOut struct {
	store  TimelineStore
	cfg    Config
	mirror Mirror
}

// Mirror completes a follow on the followee's side (where their shard is
// on another database than the follower's).
type Mirror func(ctx context.Context, follower, followee int64) error

// NewFanOut applies events to store with the read side's cfg. mirror, if
// not nil, runs before a follow or unfollow changes the timelines.
func NewFanOut(store TimelineStore, cfg Config, mirror Mirror) *FanOut {
	return &FanOut{store: store, cfg: cfg.withDefaults(), mirror: mirror}
}

// Handle applies one event published on subject; seq is its position in
// the outbox of database source ("" where there is one database). Once the
// position is recorded it is announced (Config.Announce), waking the feed
// reads that wait for it.
func (f *FanOut) Handle(ctx context.Context, subject string, data []byte, source string, seq int64) error {
	if err := f.apply(ctx, subject, data, source, seq); err != nil {
		return err
	}
	if f.cfg.Announce != nil {
		f.cfg.Announce(source, seq)
	}
	return nil
}

func (f *FanOut) apply(ctx context.Context, subject string, data []byte, source string, seq int64) error {
	consumer := ConsumerName
	if source != "" {
		consumer += "@" + source // positions are per outbox
	}
	switch strings.TrimPrefix(subject, events.SubjectPrefix) {
	case events.PhotoPosted:
		var p events.PhotoPostedV1
		e, err := events.Decode(data, &p)
		if err != nil {
			return err
		}
		if err := f.store.FanOut(ctx, consumer, seq, p.PostID, p.AuthorID, f.cfg.Threshold, f.cfg.Cap); err != nil {
			return err
		}
		if f.cfg.FannedOut != nil {
			f.cfg.FannedOut(time.Since(e.OccurredAt))
		}
		return nil
	case events.PhotoDeleted:
		var p events.PhotoDeletedV1
		if _, err := events.Decode(data, &p); err != nil {
			return err
		}
		return f.store.RemovePost(ctx, consumer, seq, p.PostID, p.AuthorID)
	case events.UserFollowed:
		var p events.FollowV1
		if _, err := events.Decode(data, &p); err != nil {
			return err
		}
		if err := f.mirrorFollow(ctx, p); err != nil {
			return err
		}
		return f.store.Backfill(ctx, consumer, seq, p.FollowerID, p.FolloweeID, f.cfg.Threshold, f.cfg.Cap)
	case events.UserUnfollowed:
		var p events.FollowV1
		if _, err := events.Decode(data, &p); err != nil {
			return err
		}
		if err := f.mirrorFollow(ctx, p); err != nil {
			return err
		}
		return f.store.RemoveAuthor(ctx, consumer, seq, p.FollowerID, p.FolloweeID)
	default:
		// Not the timelines' business, but the offset still moves, so
		// readers waiting for "everything before my read" are not stuck.
		if err := f.store.Advance(ctx, consumer, seq); err != nil {
			return fmt.Errorf("advance fan-out offset: %w", err)
		}
		return nil
	}
}

// mirrorFollow brings the followee's side of a follow up to date before
// the timelines change: a post fanned out after this event then finds the
// follower, and one fanned out before it is found by the backfill.
func (f *FanOut) mirrorFollow(ctx context.Context, p events.FollowV1) error {
	if f.mirror == nil {
		return nil
	}
	if err := f.mirror(ctx, p.FollowerID, p.FolloweeID); err != nil {
		return fmt.Errorf("mirror follow: %w", err)
	}
	return nil
}
