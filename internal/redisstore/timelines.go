package redisstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
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

// Timelines keeps home timelines in Redis, behind the feed's
// TimelineStore port: one packed string of post ids per user (packed.go),
// capped, rebuilt from the write model when missing or a day old, and read
// from the write model directly while Redis cannot be reached. A second
// key marks a timeline as built, so an empty timeline is still a timeline.
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

// The timeline and its built marker share a hash tag: one cluster slot,
// so the scripts may touch both.
//
// "tlp" (packed) and not "tl": the sorted sets of earlier versions, under
// prefix + "tl:{id}", are left to expire with their TTL (a day; those an
// add created had none, and the README says to unlink them), and the
// packed timelines are built from the write model on first read, like any
// missing timeline; no key is read in two layouts. While workers of an
// earlier version still fan out, they write the old sets only: the README
// ("Upgrading without downtime") says to drop the new markers once the
// last of them is upgraded.
func (t *Timelines) keys(userID int64) (timeline, built string) {
	base := t.prefix + "tlp:{" + strconv.FormatInt(userID, 10) + "}"
	return base, base + ":built"
}

// Redis has no replicas: every read is current; the write model's
// fallback is read as asked.
func (t *Timelines) Timeline(ctx context.Context, userID, beforeID int64, limit int, current bool) ([]int64, bool, error) {
	var out []int64
	exists := false
	err := t.g.Do(ctx, func(ctx context.Context) error {
		var page string
		var err error
		page, exists, err = t.page(ctx, userID, beforeID, max(limit, 0))
		if err != nil {
			return err
		}
		if out, err = unpackIDs(page); err != nil {
			return fmt.Errorf("timeline %d: %w", userID, err)
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

// page reads the packed ids of a page and whether the timeline is built.
// The first page (most reads) is a GETRANGE of its head; a page before an
// id searches for its start in a read-only script.
func (t *Timelines) page(ctx context.Context, userID, beforeID int64, limit int) (string, bool, error) {
	timeline, built := t.keys(userID)
	if beforeID <= 0 && limit > 0 {
		pipe := t.rdb.Pipeline()
		head := pipe.GetRange(ctx, timeline, 0, int64(limit)*8-1)
		mark := pipe.Exists(ctx, built)
		if _, err := pipe.Exec(ctx); err != nil {
			return "", false, err
		}
		return head.Val(), mark.Val() == 1, nil
	}
	bound := int64(math.MaxInt64)
	if beforeID > 0 {
		bound = beforeID - 1
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(bound))
	res, err := pageScript.Run(ctx, t.rdb, []string{timeline, built}, string(b[:]), limit).Slice()
	if err != nil {
		return "", false, err
	}
	if len(res) != 2 {
		return "", false, fmt.Errorf("timeline %d: page script answered %d values", userID, len(res))
	}
	mark, _ := res[0].(int64)
	page, _ := res[1].(string)
	return page, mark == 1, nil
}

// Rebuild empties the timeline and marks it built first, and only then
// reads the write model: a post fanned out meanwhile is added to the
// timeline (the fan-out sees the mark) and kept (the rebuild adds, it does not
// replace). A post deleted meanwhile may be added back; feed reads load
// posts by id and skip those that no longer exist.
func (t *Timelines) Rebuild(ctx context.Context, userID int64, threshold, capN int) error {
	timeline, built := t.keys(userID)
	err := t.g.Do(ctx, func(ctx context.Context) error {
		_, err := t.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, timeline)
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
	packed, err := packIDs(ids)
	if err != nil {
		t.g.Do(ctx, func(ctx context.Context) error { return t.rdb.Del(ctx, built).Err() })
		return fmt.Errorf("rebuild timeline: %w", err)
	}
	if len(packed) == 0 {
		return nil
	}
	// The script gives the timeline its marker's expiry.
	err = t.g.Do(ctx, func(ctx context.Context) error {
		return addScript.Run(ctx, t.rdb, []string{timeline, built}, capN, packed).Err()
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

// addTo adds posts to the built timelines among users, one pipelined
// script call per user.
func (t *Timelines) addTo(ctx context.Context, users []int64, postIDs []int64, capN int) error {
	packed, err := packIDs(postIDs)
	if err != nil || len(packed) == 0 {
		return err
	}
	return t.scripted(ctx, users, addScript, capN, packed)
}

// removeFrom deletes posts from the timelines of users.
func (t *Timelines) removeFrom(ctx context.Context, users []int64, postIDs []int64) error {
	packed, err := packIDs(postIDs)
	if err != nil || len(packed) == 0 {
		return err
	}
	return t.scripted(ctx, users, removeScript, packed)
}

// scripted runs the script on each user's timeline (and its marker) in
// pipelines of 500.
func (t *Timelines) scripted(ctx context.Context, users []int64, s *redis.Script, args ...any) error {
	for start := 0; start < len(users); start += 500 {
		batch := users[start:min(start+500, len(users))]
		err := t.g.Do(ctx, func(ctx context.Context) error { return t.evalBatch(ctx, batch, s, args) })
		if err != nil {
			return fmt.Errorf("timelines in Redis: %w", err)
		}
	}
	return nil
}

// evalBatch sends EVALSHA, not EVAL: a fan-out pipeline would otherwise
// carry the script's source (over a kilobyte) once per follower, and
// Redis would hash each copy to find it compiled. A Redis that forgot the
// script (restarted, SCRIPT FLUSH) answers NOSCRIPT to those calls, which
// a pipeline cannot retry itself: they are sent again as EVAL, which
// loads it. Every call is idempotent, so a repeat is harmless either way.
func (t *Timelines) evalBatch(ctx context.Context, users []int64, s *redis.Script, args []any) error {
	again, err := t.evalPipeline(ctx, users, s, args, false)
	if err != nil || len(again) == 0 {
		return err
	}
	_, err = t.evalPipeline(ctx, again, s, args, true)
	return err
}

// evalPipeline answers the users whose EVALSHA found no script.
func (t *Timelines) evalPipeline(ctx context.Context, users []int64, s *redis.Script, args []any, source bool) ([]int64, error) {
	p := t.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(users))
	for i, u := range users {
		timeline, built := t.keys(u)
		if source {
			cmds[i] = s.Eval(ctx, p, []string{timeline, built}, args...)
		} else {
			cmds[i] = s.EvalSha(ctx, p, []string{timeline, built}, args...)
		}
	}
	p.Exec(ctx) // each command's own error is checked below
	var again []int64
	for i, c := range cmds {
		switch err := c.Err(); {
		case err == nil:
		case !source && redis.HasErrorPrefix(err, "NOSCRIPT"):
			again = append(again, users[i])
		default:
			return nil, err
		}
	}
	return again, nil
}

// The consumer's writes go to Redis first and then advance the offset in
// SQL: a crash between the two replays the event, and every write is
// idempotent (the scripts skip ids a timeline holds or lacks).

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
	if err := t.removeFrom(ctx, append(followers, authorID), []int64{postID}); err != nil {
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

// RemoveAuthor drops the unfollowed author's posts: the timeline's ids
// (at most the cap) are checked against the write model, since an id does
// not say who wrote it.
func (t *Timelines) RemoveAuthor(ctx context.Context, consumer string, seq, follower, followee int64) error {
	timeline, _ := t.keys(follower)
	var packed string
	err := t.g.Do(ctx, func(ctx context.Context) error {
		var err error
		packed, err = t.rdb.Get(ctx, timeline).Result()
		if err == redis.Nil {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("timelines in Redis: %w", err)
	}
	held, err := unpackIDs(packed)
	if err != nil {
		return fmt.Errorf("timeline %d: %w", follower, err)
	}
	theirs, err := t.sql.ByAuthorAmong(ctx, followee, held)
	if err != nil {
		return err
	}
	if err := t.removeFrom(ctx, []int64{follower}, theirs); err != nil {
		return err
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
