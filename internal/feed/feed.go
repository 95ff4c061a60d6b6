// Package feed serves home timelines: the posts of the people a user
// follows, and their own, newest first.
//
// Timelines are a read model (CQRS) built by fan-out on write: when someone
// posts, the fan-out consumer adds the post to each follower's timeline.
// Authors with more followers than a threshold are not fanned out (a post
// would cost a write per follower); their recent posts are merged in when a
// timeline is read, so a read costs one timeline read plus one indexed query
// per followed high-follower author. A user without a timeline (new, or
// never read) gets it rebuilt from the write model on first read.
package feed

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/photofeed/photofeed/internal/cursor"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/posts"
)

// TimelineStore is the read model.
type TimelineStore interface {
	// Timeline returns up to limit post ids below beforeID (0: from the
	// newest), newest first, and whether the user has a timeline at all.
	// Timeline lists userID's home timeline, newest first, below beforeID
	// (0: from the top). With current it reads what the primary has, not
	// a replica that may not have replayed the fan-out's latest writes.
	Timeline(ctx context.Context, userID, beforeID int64, limit int, current bool) ([]int64, bool, error)
	// Rebuild makes the user's timeline from the write model.
	Rebuild(ctx context.Context, userID int64, threshold, capN int) error
	// WriteModelTimeline computes a page of what the user's timeline
	// holds from the write model, storing nothing: the page of a timeline
	// that cannot be rebuilt (the primary is down).
	WriteModelTimeline(ctx context.Context, userID, beforeID int64, threshold, limit int) ([]int64, error)
	// FollowedCelebrities lists followed authors above threshold followers.
	FollowedCelebrities(ctx context.Context, userID int64, threshold int) ([]int64, error)
	RecentByAuthor(ctx context.Context, authorID, beforeID int64, limit int) ([]int64, error)

	// The fan-out consumer's writes; each records seq as the consumer's
	// offset in the same transaction and is idempotent.
	FanOut(ctx context.Context, consumer string, seq, postID, authorID int64, threshold, capN int) error
	RemovePost(ctx context.Context, consumer string, seq, postID, authorID int64) error
	Backfill(ctx context.Context, consumer string, seq, follower, followee int64, threshold, capN int) error
	RemoveAuthor(ctx context.Context, consumer string, seq, follower, followee int64) error
	Advance(ctx context.Context, consumer string, seq int64) error
	Offset(ctx context.Context, consumer string) (int64, error)
	// Lag returns how far the write side has got (the outbox head) and
	// how far the consumer has, in one read.
	Lag(ctx context.Context, consumer string) (head, offset int64, err error)
}

// PostViews loads a page's posts as its reader sees them (the post, its
// author, whether the reader likes it), so a page leaves the feed ready to
// show and no caller loads its posts again.
type PostViews interface {
	// ViewsByIDs returns the posts that exist, in the order of ids.
	ViewsByIDs(ctx context.Context, viewerID int64, ids []int64) ([]posts.View, error)
}

var _ PostViews = (*posts.Service)(nil)

// Page is one page of a feed, as its reader sees it.
type Page struct {
	Posts []posts.View
	// Next is the cursor of the following page, "" on the last one.
	Next string
	// Stale, when set, says why this is not the current page but the one
	// served to the reader at AsOf: the stores could not be read.
	Stale error
	AsOf  time.Time
}

// Config tunes the read model; zero values take the defaults.
type Config struct {
	Threshold int // followers above which an author is merged at read time; default 10,000
	Cap       int // entries kept per timeline; default 800
	// FreshWait bounds how long a read waits for the fan-out to catch up
	// with writes committed before it (default 500ms). A fan-out that has
	// made no progress for StalledAfter (default 2s) is not waited for:
	// the feed is then served as it stands, a little stale.
	FreshWait    time.Duration
	StalledAfter time.Duration
	// Writes, if set, counts this process's committed writes. While it
	// stands where it stood when the fan-out was last seen caught up, a
	// read skips the check: nothing was written here since. MustCheck
	// names the reads that check anyway (a writer on another instance).
	Writes    func() uint64
	MustCheck func(ctx context.Context) bool
	// Progress wakes the reads waiting for the fan-out; whoever receives
	// the consumer's announcements calls its Announce. Nil: a new one,
	// which nothing announces on (a waiting read then waits to FreshWait).
	Progress *Progress
	// Announce, if set, is called by the fan-out consumer with the outbox
	// position (source, seq) it has just handled, once it is recorded.
	Announce func(source string, seq int64)
	// FannedOut, if set, is told how long after its event was created a
	// post reached its followers' timelines (the fan-out's latency, as
	// readers feel it: the relay and the bus included).
	FannedOut func(time.Duration)
	// LastPages is how many readers' last first page are kept in memory,
	// served (marked stale) when the stores cannot be read (default 1,000;
	// some 10 KB each).
	LastPages int
}

// ConsumerName is the fan-out consumer's durable name and offset key.
const ConsumerName = "fanout"

// Service pages through home feeds with signed cursors.
type Service struct {
	store  TimelineStore
	posts  PostViews
	cursor *cursor.Codec
	cfg    Config

	mu           sync.Mutex
	lastOffset   int64
	lastProgress time.Time
	caughtUp     atomic.Uint64 // Writes()+1 when the fan-out was last seen caught up; 0: never

	last *lastPages
}

func NewService(store TimelineStore, posts PostViews, cursor *cursor.Codec, cfg Config) *Service {
	cfg = cfg.withDefaults()
	return &Service{store: store, posts: posts, cursor: cursor, cfg: cfg, lastProgress: time.Now(), last: newLastPages(cfg.LastPages)}
}

// withDefaults fills the zero values, for the read side and the fan-out
// alike: both must agree on Threshold and Cap.
func (cfg Config) withDefaults() Config {
	if cfg.Threshold <= 0 {
		cfg.Threshold = 10_000
	}
	if cfg.Cap <= 0 {
		cfg.Cap = 800
	}
	if cfg.FreshWait <= 0 {
		cfg.FreshWait = 500 * time.Millisecond
	}
	if cfg.StalledAfter <= 0 {
		cfg.StalledAfter = 2 * time.Second
	}
	if cfg.Progress == nil {
		cfg.Progress = NewProgress()
	}
	if cfg.LastPages <= 0 {
		cfg.LastPages = 1_000
	}
	return cfg
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Home returns a page of userID's feed after cursor ("" for the first),
// as userID sees it. If the stores cannot be read, the first page is the
// one last served to userID here, if any, marked Stale.
func (s *Service) Home(ctx context.Context, userID int64, after string, limit int) (Page, error) {
	page, err := s.home(ctx, userID, after, limit)
	if after != "" {
		return page, err
	}
	if err == nil {
		s.last.put(userID, limit, page, time.Now())
		return page, nil
	}
	if k := errkind.Of(err); k != errkind.Internal && k != errkind.Unavailable || ctx.Err() != nil {
		return page, err // the request's fault (or its client left), not the stores'
	}
	kept, at, ok := s.last.get(userID, limit)
	if !ok {
		return page, err
	}
	kept.Stale, kept.AsOf = err, at
	return kept, nil
}

func (s *Service) home(ctx context.Context, userID int64, after string, limit int) (Page, error) {
	var before int64
	if after != "" {
		var err error
		if before, err = s.cursor.Decode(after); err != nil {
			return Page{}, err
		}
	}
	s.awaitFanOut(ctx)
	// A reader who just wrote waited for the fan-out to take their write
	// in; its timeline rows are newer than the write their token names, so
	// a replica at that token may not have them yet: read the primary.
	current := s.cfg.MustCheck != nil && s.cfg.MustCheck(ctx)
	// One extra id tells whether there is a next page without a second query.
	ids, exists, err := s.store.Timeline(ctx, userID, before, limit+1, current)
	if err != nil {
		return Page{}, fmt.Errorf("load feed: %w", err)
	}
	if !exists {
		if ids, err = s.rebuild(ctx, userID, before, limit+1, current); err != nil {
			return Page{}, err
		}
	}
	celebs, err := s.store.FollowedCelebrities(ctx, userID, s.cfg.Threshold)
	if err != nil {
		return Page{}, fmt.Errorf("load feed: %w", err)
	}
	for _, a := range celebs {
		more, err := s.store.RecentByAuthor(ctx, a, before, limit+1)
		if err != nil {
			return Page{}, fmt.Errorf("load feed: %w", err)
		}
		ids = append(ids, more...)
	}
	if len(celebs) > 0 {
		slices.Sort(ids)
		ids = slices.Compact(ids)
		slices.Reverse(ids)
	}
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	list, err := s.posts.ViewsByIDs(ctx, userID, ids)
	if err != nil {
		return Page{}, fmt.Errorf("load feed: %w", err)
	}
	page := Page{Posts: list}
	if more && len(ids) > 0 {
		page.Next = s.cursor.Encode(ids[len(ids)-1])
	}
	return page, nil
}

// rebuild makes a missing timeline and reads its page. A timeline that
// cannot be stored (the primary is down) is served all the same: its
// page is computed from the write model, as a replica has it.
func (s *Service) rebuild(ctx context.Context, userID, before int64, limit int, current bool) ([]int64, error) {
	err := s.store.Rebuild(ctx, userID, s.cfg.Threshold, s.cfg.Cap)
	if errkind.Of(err) == errkind.Unavailable {
		ids, err := s.store.WriteModelTimeline(ctx, userID, before, s.cfg.Threshold, limit)
		if err != nil {
			return nil, fmt.Errorf("load feed: %w", err)
		}
		return ids, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rebuild feed: %w", err)
	}
	ids, _, err := s.store.Timeline(ctx, userID, before, limit, current)
	if err != nil {
		return nil, fmt.Errorf("load feed: %w", err)
	}
	return ids, nil
}

// awaitFanOut waits, briefly, until the fan-out has handled every event
// committed before this read, so a feed read after a write sees it. If the
// fan-out is stalled (no progress for StalledAfter), or the bus that
// brings its news is down, it does not wait at all.
// It re-reads the offsets only when the consumer announces a new position.
func (s *Service) awaitFanOut(ctx context.Context) {
	var writes uint64
	if s.cfg.Writes != nil {
		writes = s.cfg.Writes() // before the check: a write after it moves the count
		if s.caughtUp.Load() == writes+1 && (s.cfg.MustCheck == nil || !s.cfg.MustCheck(ctx)) {
			return
		}
	}
	if s.cfg.Progress.carrierDown() {
		return // nothing to wait for: no news of the fan-out can arrive
	}
	var bound <-chan time.Time
	start := time.Now()
	moved := s.cfg.Progress.Next()
	head, off, err := s.store.Lag(ctx, ConsumerName)
	for {
		if err != nil || off >= head {
			s.progress(off)
			if err == nil && s.cfg.Writes != nil {
				s.caughtUp.Store(writes + 1)
			}
			return
		}
		if s.progress(off) || s.cfg.Progress.carrierDown() {
			return
		}
		if bound == nil {
			t := time.NewTimer(s.cfg.FreshWait - time.Since(start))
			defer t.Stop()
			bound = t.C
		}
		select {
		case <-moved:
		case <-bound:
			return
		case <-ctx.Done():
			return
		}
		moved = s.cfg.Progress.Next()
		off, err = s.store.Offset(ctx, ConsumerName) // the head to reach stays the one seen at the start
	}
}

// progress records the fan-out's offset and reports whether it is stalled.
func (s *Service) progress(off int64) (stalled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if off != s.lastOffset {
		s.lastOffset, s.lastProgress = off, now
		return false
	}
	return now.Sub(s.lastProgress) > s.cfg.StalledAfter
}
