package feed

import (
	"context"
	"fmt"
	"strings"

	"github.com/photofeed/photofeed/internal/events"
)

// FanOut applies domain events to the timelines. Each handler is
// idempotent: replaying any event changes nothing.
type FanOut struct {
	store TimelineStore
	cfg   Config
}

func NewFanOut(store TimelineStore, cfg Config) *FanOut {
	s := NewService(store, nil, nil, cfg) // for the defaults
	return &FanOut{store: store, cfg: s.cfg}
}

// Handle applies one event published on subject; seq is its outbox seq.
func (f *FanOut) Handle(ctx context.Context, subject string, data []byte, seq int64) error {
	switch strings.TrimPrefix(subject, events.SubjectPrefix) {
	case events.PhotoPosted:
		var p events.PhotoPostedV1
		if _, err := events.Decode(data, &p); err != nil {
			return err
		}
		return f.store.FanOut(ctx, ConsumerName, seq, p.PostID, p.AuthorID, f.cfg.Threshold, f.cfg.Cap)
	case events.PhotoDeleted:
		var p events.PhotoDeletedV1
		if _, err := events.Decode(data, &p); err != nil {
			return err
		}
		return f.store.RemovePost(ctx, ConsumerName, seq, p.PostID, p.AuthorID)
	case events.UserFollowed:
		var p events.FollowV1
		if _, err := events.Decode(data, &p); err != nil {
			return err
		}
		return f.store.Backfill(ctx, ConsumerName, seq, p.FollowerID, p.FolloweeID, f.cfg.Threshold, f.cfg.Cap)
	case events.UserUnfollowed:
		var p events.FollowV1
		if _, err := events.Decode(data, &p); err != nil {
			return err
		}
		return f.store.RemoveAuthor(ctx, ConsumerName, seq, p.FollowerID, p.FolloweeID)
	default:
		// Not the timelines' business, but the offset still moves, so
		// readers waiting for "everything before my read" are not stuck.
		if err := f.store.Advance(ctx, ConsumerName, seq); err != nil {
			return fmt.Errorf("advance fan-out offset: %w", err)
		}
		return nil
	}
}
