package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/feed"
)

// TimelineStore implements feed.TimelineStore: the home-timeline read model
// in tables on each reader's shard, kept by the fan-out consumer. The
// consumer's writes are idempotent (a replayed event inserts nothing), and
// after each it records the event's outbox position, per outbox, so
// readers can tell how far the model has got.
type TimelineStore struct{ cluster }

var _ feed.TimelineStore = (*TimelineStore)(nil)

func NewTimelineStore(sh Shards) *TimelineStore { return &TimelineStore{cluster{sh}} }

func (s *TimelineStore) Timeline(ctx context.Context, userID, beforeID int64, limit int, current bool) ([]int64, bool, error) {
	list, built, err := s.timeline(ctx, userID, beforeID, limit, current)
	if current && errors.Is(err, ErrPrimaryDown) {
		// With the primary gone the replicas are as current as the data
		// gets: the feed is served from them rather than not at all.
		return s.timeline(ctx, userID, beforeID, limit, false)
	}
	return list, built, err
}

func (s *TimelineStore) timeline(ctx context.Context, userID, beforeID int64, limit int, current bool) ([]int64, bool, error) {
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	var list []int64
	built := false
	err := s.read(ctx, userID, func(db Conn, n int) error {
		var err error
		query, queryRow := db.Query, db.QueryRow
		if current {
			query, queryRow = db.QueryPrimary, db.QueryRowPrimary
		}
		list, err = scanIDs(query(ctx, s.q(n, `SELECT post_id FROM shard.timelines WHERE user_id = ? AND post_id < ? ORDER BY post_id DESC LIMIT ?`),
			userID, beforeID, limit))
		if err != nil || len(list) > 0 {
			built = err == nil
			return err
		}
		// No rows: an empty timeline, or none at all. Only then ask which.
		var at int64
		err = queryRow(ctx, s.q(n, `SELECT built_at FROM shard.timeline_state WHERE user_id = ?`), userID).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		built = err == nil
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("timeline: %w", err)
	}
	return list, built, nil
}

// entry is a timeline row's post and author.
type entry struct{ post, author int64 }

// Rebuild first empties the timeline and marks it built, in its own
// transaction, and only then fills it: a post fanned out in between finds
// the mark and is inserted, and the fill adds to it (ON CONFLICT DO
// NOTHING) instead of replacing it. In one transaction the fan-out would
// not see the uncommitted mark and skip the timeline for good.
func (s *TimelineStore) Rebuild(ctx context.Context, userID int64, threshold, capN int) error {
	n := ids.Shard(userID)
	err := s.write(ctx, []int64{userID}, func(tx Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(n, `DELETE FROM shard.timelines WHERE user_id = ?`), userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(n, `
			INSERT INTO shard.timeline_state (user_id, built_at, entries) VALUES (?, ?, 0)
			ON CONFLICT (user_id) DO UPDATE SET built_at = excluded.built_at, entries = 0`),
			userID, time.Now().UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("rebuild timeline: %w", err)
	}
	entries, err := s.followeePosts(ctx, userID, threshold, math.MaxInt64, capN, true)
	if err != nil {
		return fmt.Errorf("rebuild timeline: %w", err)
	}
	return s.write(ctx, []int64{userID}, func(tx Tx) error {
		if err := s.insertEntries(ctx, tx, userID, entries); err != nil {
			return fmt.Errorf("rebuild timeline: %w", err)
		}
		_, err := tx.ExecContext(ctx, s.q(n, `UPDATE shard.timeline_state SET entries = (SELECT count(*) FROM shard.timelines WHERE user_id = ?) WHERE user_id = ?`), userID, userID)
		return err
	})
}

// insertEntries adds entries to userID's timeline, a few hundred rows a
// statement; entries already there are left alone.
func (s *TimelineStore) insertEntries(ctx context.Context, tx Tx, userID int64, entries []entry) error {
	for chunk := range slices.Chunk(entries, 200) {
		args := make([]any, 0, 3*len(chunk))
		for _, e := range chunk {
			args = append(args, userID, e.post, e.author)
		}
		values := strings.Repeat("(?, ?, ?), ", len(chunk))
		if _, err := tx.ExecContext(ctx, s.q(ids.Shard(userID), `INSERT INTO shard.timelines (user_id, post_id, author_id) VALUES `+
			values[:len(values)-2]+` ON CONFLICT DO NOTHING`), args...); err != nil {
			return err
		}
	}
	return nil
}

// followeePosts computes, from the write model (on the primaries, or
// where reads go), the newest posts before beforeID of the user and the
// accounts they follow that have at most threshold followers: what a
// timeline holds. Each database is asked once for the counts and once
// for the posts.
func (s *TimelineStore) followeePosts(ctx context.Context, userID int64, threshold int, beforeID int64, limit int, primary bool) ([]entry, error) {
	followees, err := s.idsOn(ctx, userID, primary, `SELECT followee_id FROM shard.follows WHERE follower_id = ?`, userID)
	if err != nil {
		return nil, err
	}
	celebs, err := s.overThreshold(ctx, followees, threshold, primary)
	if err != nil {
		return nil, err
	}
	authors := []int64{userID}
	for _, f := range followees {
		if !slices.Contains(celebs, f) {
			authors = append(authors, f)
		}
	}
	var out []entry
	for _, g := range s.groups(authors) {
		q, args := s.union(g, `SELECT * FROM (SELECT id, author_id FROM shard.posts WHERE author_id IN (`+g.db.IDList()+`)
			AND status = 'ready' AND id < ? ORDER BY id DESC LIMIT ?) AS x`,
			func(_ int, ids []int64) []any { return []any{g.db.IDs(ids), beforeID, limit} })
		query := g.db.Query
		if primary {
			query = g.db.QueryPrimary
		}
		rows, err := query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("followee posts: %w", err)
		}
		for rows.Next() {
			var e entry
			if err := rows.Scan(&e.post, &e.author); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return cmp.Compare(b.post, a.post) })
	return out[:min(len(out), limit)], nil
}

// overThreshold returns which of users have more than threshold
// followers, asking each database once.
func (c cluster) overThreshold(ctx context.Context, users []int64, threshold int, primary bool) ([]int64, error) {
	var out []int64
	for _, g := range c.groups(users) {
		q, args := c.union(g, `SELECT user_id FROM shard.follow_counts WHERE user_id IN (`+g.db.IDList()+`) AND followers > ?`,
			func(_ int, ids []int64) []any { return []any{g.db.IDs(ids), threshold} })
		var list []int64
		var err error
		if primary {
			list, err = scanIDs(g.db.QueryPrimary(ctx, q, args...))
		} else {
			list, err = scanIDs(g.db.Query(ctx, q, args...))
		}
		if err != nil {
			return nil, fmt.Errorf("follower counts: %w", err)
		}
		out = append(out, list...)
	}
	return out, nil
}

func (s *TimelineStore) FollowedCelebrities(ctx context.Context, userID int64, threshold int) ([]int64, error) {
	followees, err := s.idsOn(ctx, userID, false, `SELECT followee_id FROM shard.follows WHERE follower_id = ?`, userID)
	if err != nil {
		return nil, err
	}
	return s.overThreshold(ctx, followees, threshold, false)
}

func (s *TimelineStore) RecentByAuthor(ctx context.Context, authorID, beforeID int64, limit int) ([]int64, error) {
	if beforeID <= 0 {
		beforeID = math.MaxInt64
	}
	return s.idsOn(ctx, authorID, false, `SELECT id FROM shard.posts WHERE author_id = ? AND id < ? AND status = 'ready' ORDER BY id DESC LIMIT ?`, authorID, beforeID, limit)
}

// Consumer positions. Each outbox (one per database) numbers its events,
// so a consumer's position is kept per outbox, in that database: the
// consumer names it as "name@database" (just "name" for the first).

func (s *TimelineStore) source(consumer string) (Conn, string) {
	name, db, _ := strings.Cut(consumer, "@")
	for i, n := range s.sh.Names() {
		if n == db || (db == "" && i == 0) {
			return s.sh.Databases()[i], name
		}
	}
	return s.sh.Databases()[0], name
}

// advance records how far a consumer got in one outbox; positions only
// move forward.
func (s *TimelineStore) advance(ctx context.Context, consumer string, seq int64) error {
	db, name := s.source(consumer)
	_, err := db.Exec(ctx, `
		INSERT INTO consumer_offsets (name, seq) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET seq = CASE WHEN excluded.seq > consumer_offsets.seq THEN excluded.seq ELSE consumer_offsets.seq END`, name, seq)
	if err != nil {
		return fmt.Errorf("consumer offset: %w", err)
	}
	return nil
}

// Lag returns the outbox heads and the consumer's offsets, each summed
// over the databases: the consumer has caught up with every outbox
// exactly when the offsets reach the heads.
func (s *TimelineStore) Lag(ctx context.Context, consumer string) (head, offset int64, err error) {
	for _, db := range s.sh.Databases() {
		var h, o int64
		if err := db.QueryRow(ctx, `SELECT coalesce((SELECT max(seq) FROM outbox), 0),
			coalesce((SELECT seq FROM consumer_offsets WHERE name = ?), 0)`, consumer).Scan(&h, &o); err != nil {
			return 0, 0, err
		}
		head, offset = head+h, offset+o
	}
	return head, offset, nil
}

func (s *TimelineStore) Offset(ctx context.Context, consumer string) (int64, error) {
	var sum int64
	for _, db := range s.sh.Databases() {
		var seq int64
		err := db.QueryRow(ctx, `SELECT seq FROM consumer_offsets WHERE name = ?`, consumer).Scan(&seq)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		sum += seq
	}
	return sum, nil
}

func (s *TimelineStore) Advance(ctx context.Context, consumer string, seq int64) error {
	return s.advance(ctx, consumer, seq)
}

// followersOf lists who a post by authorID goes to: the author's followers,
// unless there are more than threshold (threshold < 0: all of them).
func (s *TimelineStore) followersOf(ctx context.Context, authorID int64, threshold int) ([]int64, error) {
	return s.idsOn(ctx, authorID, true, `
		SELECT follower_id FROM shard.follows WHERE followee_id = ?
		AND (CAST(? AS BIGINT) < 0 OR coalesce((SELECT followers FROM shard.follow_counts WHERE user_id = ?), 0) <= ?)`,
		authorID, threshold, authorID, threshold)
}

// eachShard runs fn once per shard of users, in one transaction per
// database (fenced against moves of those shards), with that shard's
// users; if a shard moved meanwhile, all of it runs again, routed anew:
// fn must be idempotent.
func (s *TimelineStore) eachShard(ctx context.Context, users []int64, fn func(tx Tx, n int, users []int64) error) error {
	return s.retry(ctx, func() error {
		for _, g := range s.groups(users) {
			var owners []int64
			for _, u := range g.shards {
				owners = append(owners, u[0])
			}
			err := s.writeOnce(ctx, owners, func(tx Tx) error {
				for n, u := range g.shards {
					if err := fn(tx, n, u); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// FanOut puts a post into the timelines that exist of its author and of
// followers, unless the author has more than threshold followers (their
// posts are merged in at read time instead): one statement per shard of
// followers, one transaction per database. Timelines that grew well past
// capN are trimmed back to it.
func (s *TimelineStore) FanOut(ctx context.Context, consumer string, seq, postID, authorID int64, threshold, capN int) error {
	targets, err := s.followersOf(ctx, authorID, threshold)
	if err != nil {
		return fmt.Errorf("fan out post %d: %w", postID, err)
	}
	targets = append(targets, authorID)
	err = s.eachShard(ctx, targets, func(tx Tx, n int, users []int64) error {
		db := s.sh.Databases()[s.sh.Home(n)]
		res, err := tx.ExecContext(ctx, s.q(n, `
			INSERT INTO shard.timelines (user_id, post_id, author_id)
			SELECT user_id, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM shard.timeline_state WHERE user_id IN (`+db.IDList()+`)
			ON CONFLICT DO NOTHING`), postID, authorID, db.IDs(users))
		if err != nil {
			return fmt.Errorf("fan out post %d: %w", postID, err)
		}
		if added, _ := res.RowsAffected(); added == 0 {
			return nil // a replay
		}
		if _, err := tx.ExecContext(ctx, s.q(n, `UPDATE shard.timeline_state SET entries = entries + 1 WHERE user_id IN (`+db.IDList()+`)`), db.IDs(users)); err != nil {
			return err
		}
		return s.trim(ctx, tx, n, users, capN)
	})
	if err != nil {
		return err
	}
	return s.advance(ctx, consumer, seq)
}

// trim cuts the timelines among users that grew 64 past capN back to the
// capN newest entries; the slack makes trimming rare.
func (s *TimelineStore) trim(ctx context.Context, tx Tx, n int, users []int64, capN int) error {
	db := s.sh.Databases()[s.sh.Home(n)]
	rows, err := tx.QueryContext(ctx, s.q(n, `SELECT user_id FROM shard.timeline_state WHERE user_id IN (`+db.IDList()+`) AND entries > ?`), db.IDs(users), capN+64)
	if err != nil {
		return err
	}
	var over []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		over = append(over, id)
	}
	rows.Close()
	for _, uid := range over {
		if _, err := tx.ExecContext(ctx, s.q(n, `
			DELETE FROM shard.timelines WHERE user_id = ?1 AND post_id < (
				SELECT post_id FROM shard.timelines WHERE user_id = ?1 ORDER BY post_id DESC LIMIT 1 OFFSET CAST(?2 AS BIGINT) - 1)`), uid, capN); err != nil {
			return fmt.Errorf("trim timeline %d: %w", uid, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(n, `UPDATE shard.timeline_state SET entries = (SELECT count(*) FROM shard.timelines WHERE user_id = ?1) WHERE user_id = ?1`), uid); err != nil {
			return err
		}
	}
	return nil
}

// RemovePost takes a deleted post out of the timelines it can be in: its
// author's and their followers'.
func (s *TimelineStore) RemovePost(ctx context.Context, consumer string, seq, postID, authorID int64) error {
	targets, err := s.followersOf(ctx, authorID, -1)
	if err != nil {
		return fmt.Errorf("remove post %d from timelines: %w", postID, err)
	}
	targets = append(targets, authorID)
	err = s.eachShard(ctx, targets, func(tx Tx, n int, users []int64) error {
		db := s.sh.Databases()[s.sh.Home(n)]
		_, err := tx.ExecContext(ctx, s.q(n, `DELETE FROM shard.timelines WHERE post_id = ? AND user_id IN (`+db.IDList()+`)`), postID, db.IDs(users))
		return err
	})
	if err != nil {
		return fmt.Errorf("remove post %d from timelines: %w", postID, err)
	}
	return s.advance(ctx, consumer, seq)
}

// Backfill adds a newly followed author's recent posts to the follower's
// timeline, if it exists and the author is not merged at read time.
func (s *TimelineStore) Backfill(ctx context.Context, consumer string, seq, follower, followee int64, threshold, capN int) error {
	celeb, err := s.overThreshold(ctx, []int64{followee}, threshold, true)
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	if len(celeb) == 0 {
		recent, err := s.idsOn(ctx, followee, true, `SELECT id FROM shard.posts WHERE author_id = ? AND status = 'ready' ORDER BY id DESC LIMIT ?`, followee, capN)
		if err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		n := ids.Shard(follower)
		err = s.write(ctx, []int64{follower}, func(tx Tx) error {
			var one int
			err := tx.QueryRowContext(ctx, s.q(n, `SELECT 1 FROM shard.timeline_state WHERE user_id = ?`), follower).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) || len(recent) == 0 {
				return nil
			}
			if err != nil {
				return err
			}
			entries := make([]entry, len(recent))
			for i, p := range recent {
				entries[i] = entry{p, followee}
			}
			if err := s.insertEntries(ctx, tx, follower, entries); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(n, `UPDATE shard.timeline_state SET entries = (SELECT count(*) FROM shard.timelines WHERE user_id = ?) WHERE user_id = ?`), follower, follower); err != nil {
				return err
			}
			return s.trim(ctx, tx, n, []int64{follower}, capN)
		})
		if err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
	}
	return s.advance(ctx, consumer, seq)
}

// RemoveAuthor takes an unfollowed author's posts out of the timeline.
func (s *TimelineStore) RemoveAuthor(ctx context.Context, consumer string, seq, follower, followee int64) error {
	err := s.write(ctx, []int64{follower}, func(tx Tx) error {
		_, err := tx.ExecContext(ctx, s.q(ids.Shard(follower), `DELETE FROM shard.timelines WHERE user_id = ? AND author_id = ?`), follower, followee)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove author from timeline: %w", err)
	}
	return s.advance(ctx, consumer, seq)
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
	entries, err := s.followeePosts(ctx, userID, threshold, beforeID, limit, true)
	if errors.Is(err, ErrPrimaryDown) {
		// A page from the replicas beats none.
		entries, err = s.followeePosts(ctx, userID, threshold, beforeID, limit, false)
	}
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(entries))
	for i, e := range entries {
		out[i] = e.post
	}
	return out, nil
}

// FanOutTargets lists the followers a post by authorID is written to:
// all of them, or none when the author has more than threshold.
func (s *TimelineStore) FanOutTargets(ctx context.Context, authorID int64, threshold int) ([]int64, error) {
	return s.followersOf(ctx, authorID, threshold)
}

// ByAuthorAmong returns which of postIDs authorID wrote.
func (s *TimelineStore) ByAuthorAmong(ctx context.Context, authorID int64, postIDs []int64) ([]int64, error) {
	if len(postIDs) == 0 {
		return nil, nil
	}
	var out []int64
	err := s.read(ctx, authorID, func(db Conn, n int) error {
		var err error
		out, err = scanIDs(db.QueryPrimary(ctx, s.q(n, `SELECT id FROM shard.posts WHERE author_id = ? AND id IN (`+db.IDList()+`)`), authorID, db.IDs(postIDs)))
		return err
	})
	return out, err
}
