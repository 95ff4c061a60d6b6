package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/resilience"

	"github.com/photofeed/photofeed/internal/feed"
)

// WriteModel is what the Redis timelines read from SQL: the write model
// (follows, posts) and the consumer offsets, which stay transactional
// there.
type WriteModel interface {
	FollowedCelebrities(ctx context.Context, userID int64, threshold int) ([]int64, error)
	RecentByAuthor(ctx context.Context, authorID, beforeID int64, limit int) ([]int64, error)
	Advance(ctx context.Context, consumer string, seq int64) error
	Offset(ctx context.Context, consumer string) (int64, error)
	Lag(ctx context.Context, consumer string) (head, offset int64, err error)
	WriteModelTimeline(ctx context.Context, userID, beforeID int64, threshold, limit int) ([]int64, error)
	FanOutTargets(ctx context.Context, authorID int64, threshold int) ([]int64, error)
	ByAuthorAmong(ctx context.Context, authorID int64, postIDs []int64) ([]int64, error)
}

// Timelines keeps home timelines in Redis sorted sets, behind the feed's
// TimelineStore port: one set per user, capped, rebuilt from the write
// model when missing or a day old, and read from the write model directly
// while Redis cannot be reached.
//
// Members are post ids as 19-digit, zero-padded decimals, all with score 0,
// and pages are lexicographic ranges: a float64 score cannot hold a 64-bit
// id exactly (ids differing in the low bits would tie and page badly),
// while equal-width decimals sort as the numbers do. A second key marks a
// timeline as built, so an empty timeline is still a timeline.
type Timelines struct {
	sql       WriteModel
	rdb       redis.UniversalClient
	prefix    string
	ttl       time.Duration
	threshold int
	g         *resilience.Guard
	log       *slog.Logger
}

var _ feed.TimelineStore = (*Timelines)(nil)

// TimelinesConfig configures NewTimelines.
type TimelinesConfig struct {
	Prefix string        // key prefix, default "photofeed:"
	TTL    time.Duration // a timeline's life after its rebuild, default 24h
	// Threshold is the feed's fan-out threshold, for pages served from
	// the write model.
	Threshold int
	Guard     resilience.GuardConfig
	Logger    *slog.Logger
}

func NewTimelines(sql WriteModel, rdb redis.UniversalClient, cfg TimelinesConfig) *Timelines {
	if cfg.Prefix == "" {
		cfg.Prefix = "photofeed:"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.Threshold <= 0 {
		cfg.Threshold = 10_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Timelines{sql: sql, rdb: rdb, prefix: cfg.Prefix, ttl: cfg.TTL, threshold: cfg.Threshold,
		g: resilience.NewGuard("timelines", cfg.Guard), log: cfg.Logger}
}

// The set and its built marker share a hash tag: one cluster slot, so the
// script may touch both.
func (t *Timelines) keys(userID int64) (set, built string) {
	base := t.prefix + "tl:{" + strconv.FormatInt(userID, 10) + "}"
	return base, base + ":built"
}

func member(id int64) string { return fmt.Sprintf("%019d", id) }

// addScript adds ARGV[2:] to a built timeline and trims it to the newest
// ARGV[1]; a timeline nobody has built is left alone (it will be built
// from the write model when first read).
const addScript = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 0, ARGV[i]) end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[1]) - 1)
return 1`

// Redis has no replicas: every read is current; the write model's
// fallback is read as asked.
func (t *Timelines) Timeline(ctx context.Context, userID, beforeID int64, limit int, current bool) ([]int64, bool, error) {
	set, built := t.keys(userID)
	max := "+"
	if beforeID > 0 {
		max = "(" + member(beforeID)
	}
	var out []int64
	exists := false
	err := t.g.Do(ctx, func(ctx context.Context) error {
		pipe := t.rdb.Pipeline()
		members := pipe.ZRevRangeByLex(ctx, set, &redis.ZRangeBy{Min: "-", Max: max, Count: int64(limit)})
		mark := pipe.Exists(ctx, built)
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		exists = mark.Val() == 1
		for _, m := range members.Val() {
			id, err := strconv.ParseInt(m, 10, 64)
			if err != nil {
				return fmt.Errorf("timeline %d: bad member %q", userID, m)
			}
			out = append(out, id)
		}
		return nil
	})
	if err != nil {
		t.log.WarnContext(ctx, "timeline read from the write model: Redis unavailable", "err", err)
		ids, err := t.sql.WriteModelTimeline(ctx, userID, beforeID, t.threshold, limit)
		return ids, err == nil, err
	}
	return out, exists, nil
}

// Rebuild empties the timeline and marks it built first, and only then
// reads the write model: a post fanned out meanwhile is added to the set
// (the fan-out sees the mark) and kept (the rebuild adds, it does not
// replace). A post deleted meanwhile may be added back; feed reads load
// posts by id and skip those that no longer exist.
func (t *Timelines) Rebuild(ctx context.Context, userID int64, threshold, capN int) error {
	set, built := t.keys(userID)
	err := t.g.Do(ctx, func(ctx context.Context) error {
		_, err := t.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, set)
			p.Set(ctx, built, 1, t.ttl)
			return nil
		})
		return err
	})
	if err != nil {
		// The read that asked falls back to the write model; nothing fails.
		t.log.WarnContext(ctx, "timeline not rebuilt: Redis unavailable", "user", userID, "err", err)
		return nil
	}
	ids, err := t.sql.WriteModelTimeline(ctx, userID, 0, threshold, capN)
	if err != nil {
		t.g.Do(ctx, func(ctx context.Context) error { return t.rdb.Del(ctx, built).Err() }) // built again on the next read
		return fmt.Errorf("rebuild timeline: %w", err)
	}
	err = t.g.Do(ctx, func(ctx context.Context) error {
		p := t.rdb.TxPipeline()
		p.Eval(ctx, addScript, []string{set, built}, addArgs(ids, capN)...)
		p.Expire(ctx, set, t.ttl)
		_, err := p.Exec(ctx)
		return err
	})
	if err != nil {
		t.log.WarnContext(ctx, "timeline not rebuilt: Redis unavailable", "user", userID, "err", err)
		t.g.Do(ctx, func(ctx context.Context) error { return t.rdb.Del(ctx, built).Err() })
	}
	return nil
}

// WriteModelTimeline reads the write model: nothing of it is in Redis.
func (t *Timelines) WriteModelTimeline(ctx context.Context, userID, beforeID int64, threshold, limit int) ([]int64, error) {
	return t.sql.WriteModelTimeline(ctx, userID, beforeID, threshold, limit)
}

// addArgs are addScript's arguments: the cap, then the members.
func addArgs(postIDs []int64, capN int) []any {
	args := make([]any, 0, len(postIDs)+1)
	args = append(args, capN)
	for _, id := range postIDs {
		args = append(args, member(id))
	}
	return args
}

// addTo adds posts to the built timelines among users, one pipelined
// script call per user.
func (t *Timelines) addTo(ctx context.Context, users []int64, postIDs []int64, capN int) error {
	if len(postIDs) == 0 {
		return nil
	}
	args := addArgs(postIDs, capN)
	return t.pipelined(ctx, users, func(ctx context.Context, p redis.Pipeliner, user int64) {
		set, built := t.keys(user)
		// EVAL, not EVALSHA: a pipeline cannot reload a script a
		// restarted Redis forgot, and the script is a few hundred bytes.
		p.Eval(ctx, addScript, []string{set, built}, args...)
	})
}

// pipelined runs one command per user in pipelines of 500.
func (t *Timelines) pipelined(ctx context.Context, users []int64, cmd func(context.Context, redis.Pipeliner, int64)) error {
	for start := 0; start < len(users); start += 500 {
		batch := users[start:min(start+500, len(users))]
		err := t.g.Do(ctx, func(ctx context.Context) error {
			p := t.rdb.Pipeline()
			for _, u := range batch {
				cmd(ctx, p, u)
			}
			_, err := p.Exec(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("timelines in Redis: %w", err)
		}
	}
	return nil
}

// The consumer's writes go to Redis first and then advance the offset in
// SQL: a crash between the two replays the event, and every write is
// idempotent (ZADD and ZREM of the same member).

func (t *Timelines) FanOut(ctx context.Context, consumer string, seq, postID, authorID int64, threshold, capN int) error {
	followers, err := t.sql.FanOutTargets(ctx, authorID, threshold)
	if err != nil {
		return err
	}
	if err := t.addTo(ctx, append(followers, authorID), []int64{postID}, capN); err != nil {
		return err
	}
	return t.sql.Advance(ctx, consumer, seq)
}

func (t *Timelines) RemovePost(ctx context.Context, consumer string, seq, postID, authorID int64) error {
	followers, err := t.sql.FanOutTargets(ctx, authorID, int(^uint(0)>>1))
	if err != nil {
		return err
	}
	m := member(postID)
	err = t.pipelined(ctx, append(followers, authorID), func(ctx context.Context, p redis.Pipeliner, user int64) {
		set, _ := t.keys(user)
		p.ZRem(ctx, set, m)
	})
	if err != nil {
		return err
	}
	return t.sql.Advance(ctx, consumer, seq)
}

func (t *Timelines) Backfill(ctx context.Context, consumer string, seq, follower, followee int64, threshold, capN int) error {
	targets, err := t.sql.FanOutTargets(ctx, followee, threshold)
	if err != nil {
		return err
	}
	if len(targets) > 0 { // the followee is fanned out to (not merged at read time)
		recent, err := t.sql.RecentByAuthor(ctx, followee, 0, capN)
		if err != nil {
			return err
		}
		if err := t.addTo(ctx, []int64{follower}, recent, capN); err != nil {
			return err
		}
	}
	return t.sql.Advance(ctx, consumer, seq)
}

// RemoveAuthor drops the unfollowed author's posts: the timeline's
// members (at most the cap) are checked against the write model, since a
// member does not say who wrote it.
func (t *Timelines) RemoveAuthor(ctx context.Context, consumer string, seq, follower, followee int64) error {
	set, _ := t.keys(follower)
	var members []string
	err := t.g.Do(ctx, func(ctx context.Context) error {
		var err error
		members, err = t.rdb.ZRange(ctx, set, 0, -1).Result()
		return err
	})
	if err != nil {
		return fmt.Errorf("timelines in Redis: %w", err)
	}
	held := make([]int64, 0, len(members))
	for _, m := range members {
		if id, err := strconv.ParseInt(m, 10, 64); err == nil {
			held = append(held, id)
		}
	}
	theirs, err := t.sql.ByAuthorAmong(ctx, followee, held)
	if err != nil {
		return err
	}
	if len(theirs) > 0 {
		ms := make([]any, len(theirs))
		for i, id := range theirs {
			ms[i] = member(id)
		}
		if err := t.g.Do(ctx, func(ctx context.Context) error { return t.rdb.ZRem(ctx, set, ms...).Err() }); err != nil {
			return fmt.Errorf("timelines in Redis: %w", err)
		}
	}
	return t.sql.Advance(ctx, consumer, seq)
}

func (t *Timelines) FollowedCelebrities(ctx context.Context, userID int64, threshold int) ([]int64, error) {
	return t.sql.FollowedCelebrities(ctx, userID, threshold)
}

func (t *Timelines) RecentByAuthor(ctx context.Context, authorID, beforeID int64, limit int) ([]int64, error) {
	return t.sql.RecentByAuthor(ctx, authorID, beforeID, limit)
}

func (t *Timelines) Advance(ctx context.Context, consumer string, seq int64) error {
	return t.sql.Advance(ctx, consumer, seq)
}

func (t *Timelines) Offset(ctx context.Context, consumer string) (int64, error) {
	return t.sql.Offset(ctx, consumer)
}

func (t *Timelines) Lag(ctx context.Context, consumer string) (int64, int64, error) {
	return t.sql.Lag(ctx, consumer)
}
