package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/httpapi"
	"github.com/photofeed/photofeed/internal/live"
)

// The live feed (GET /v2/feed/stream): the fan-out consumer, on a worker,
// tells the api nodes of each post it writes into timelines, over the
// plain subjects internal/live describes; each api node's hub hands it to
// the streams it holds.

// fanOutTargets lists who a post by an author is written to: their
// followers, none when they have more than threshold (the SQL write
// model's FanOutTargets).
type fanOutTargets interface {
	FanOutTargets(ctx context.Context, authorID int64, threshold int) ([]int64, error)
}

// followerCounts is the graph's count of an author's followers.
type followerCounts interface {
	Counts(ctx context.Context, userID int64) (graph.Counts, error)
}

// landedTimelines is the timeline store the fan-out writes to, announcing
// each post once it is in the timelines: a reader whose stream hears of it
// and reads the feed then finds it. The announcement is best effort: one
// lost (NATS down, a crash after the write) leaves the post in the
// timeline, where the reader's next read or reconnect finds it.
type landedTimelines struct {
	feed.TimelineStore
	targets fanOutTargets
	counts  followerCounts
	bus     live.Broadcaster
	log     *slog.Logger
}

func (t landedTimelines) FanOut(ctx context.Context, consumer string, seq, postID, authorID int64, threshold, capN int) error {
	if err := t.TimelineStore.FanOut(ctx, consumer, seq, postID, authorID, threshold, capN); err != nil {
		return err
	}
	if err := t.announce(ctx, live.Post{ID: postID, Author: authorID}, threshold); err != nil {
		t.log.WarnContext(ctx, "live feed not told of a post; readers see it on their next read", "post", postID, "err", err)
	}
	return nil
}

// announce publishes the post to the readers it was written to (its
// author's own timeline included) and, for an author merged at read time,
// to every node once.
func (t landedTimelines) announce(ctx context.Context, p live.Post, threshold int) error {
	readers, err := t.targets.FanOutTargets(ctx, p.Author, threshold)
	if err != nil {
		return err
	}
	if err := live.Publish(t.bus, p, append(readers, p.Author)); err != nil {
		return err
	}
	if len(readers) > 0 {
		return nil // fanned out: not merged at read time
	}
	c, err := t.counts.Counts(ctx, p.Author)
	if err != nil {
		return err
	}
	if c.Followers <= int64(threshold) {
		return nil // no followers
	}
	return live.PublishCelebrity(t.bus, p)
}

// newLiveHub is an api node's hub. Whether a reader follows a celebrity is
// read from the reader's cached list of the authors merged at read time
// (dropped on every follow and unfollow), the same list feed reads use.
func newLiveHub(bus live.Listener, timelines feed.TimelineStore, threshold int, log *slog.Logger) (*live.Hub, error) {
	return live.NewHub(bus, live.HubConfig{Logger: log,
		Follows: func(ctx context.Context, reader, author int64) (bool, error) {
			celebs, err := timelines.FollowedCelebrities(ctx, reader, threshold)
			return slices.Contains(celebs, author), err
		}})
}

// announcingLanded wraps the timelines the fan-out writes to so that each
// post written is announced to the live streams.
func announcingLanded(ad *adapters, counts followerCounts, log *slog.Logger) (feed.TimelineStore, error) {
	targets, ok := ad.db.Timelines().(fanOutTargets)
	if !ok {
		return nil, fmt.Errorf("live feed: the timeline store %T cannot list a post's readers", ad.db.Timelines())
	}
	return landedTimelines{TimelineStore: ad.timelines, targets: targets, counts: counts, bus: ad.bus, log: log}, nil
}

// liveFeed is the hub as the API takes it: nil (503) where there is none.
func liveFeed(h *live.Hub) httpapi.LiveFeed {
	if h == nil {
		return nil
	}
	return h
}
