package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
)

// The layout the packed timelines replaced, as it was, for the
// benchmarks to compare against in the same run: a sorted set of
// 19-digit ids at score 0, paged by lexicographic ranges.
type sortedSetTimelines struct {
	rdb    *redis.Client
	prefix string
}

const sortedSetAdd = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 0, ARGV[i]) end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[1]) - 1)
return 1`

func (s sortedSetTimelines) keys(user int64) (string, string) {
	base := s.prefix + "tl:{" + strconv.FormatInt(user, 10) + "}"
	return base, base + ":built"
}

func (s sortedSetTimelines) build(ctx context.Context, user int64) error {
	_, built := s.keys(user)
	return s.rdb.Set(ctx, built, 1, 0).Err()
}

func (s sortedSetTimelines) addTo(ctx context.Context, users, postIDs []int64, capN int) error {
	args := []any{capN}
	for _, id := range postIDs {
		args = append(args, fmt.Sprintf("%019d", id))
	}
	p := s.rdb.Pipeline()
	for _, u := range users {
		set, built := s.keys(u)
		p.Eval(ctx, sortedSetAdd, []string{set, built}, args...)
	}
	_, err := p.Exec(ctx)
	return err
}

func (s sortedSetTimelines) timeline(ctx context.Context, user, beforeID int64, limit int) ([]int64, bool, error) {
	set, built := s.keys(user)
	max := "+"
	if beforeID > 0 {
		max = "(" + fmt.Sprintf("%019d", beforeID)
	}
	p := s.rdb.Pipeline()
	members := p.ZRevRangeByLex(ctx, set, &redis.ZRangeBy{Min: "-", Max: max, Count: int64(limit)})
	mark := p.Exists(ctx, built)
	if _, err := p.Exec(ctx); err != nil {
		return nil, false, err
	}
	out := make([]int64, 0, len(members.Val()))
	for _, m := range members.Val() {
		id, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			return nil, false, err
		}
		out = append(out, id)
	}
	return out, mark.Val() == 1, nil
}

// layout is one of the two, as the benchmarks drive them.
type layout struct {
	name     string
	addTo    func(ctx context.Context, users, postIDs []int64, capN int) error
	timeline func(ctx context.Context, user, beforeID int64, limit int) ([]int64, bool, error)
	key      func(user int64) string
	rdb      *redis.Client
}

// layouts are both on the shared Redis, users 1 to users built and empty.
func layouts(b *testing.B, users int64) []layout {
	client, prefix := sharedRedis(b)
	ctx := context.Background()
	old := sortedSetTimelines{rdb: client, prefix: prefix}
	packed := packedTimelines(b, client, prefix, users)
	for u := int64(1); u <= users; u++ {
		if err := old.build(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	return []layout{
		{"sorted-set", old.addTo, old.timeline, func(u int64) string { k, _ := old.keys(u); return k }, client},
		{"packed", packed.AddTo, func(ctx context.Context, user, beforeID int64, limit int) ([]int64, bool, error) {
			return packed.Timeline(ctx, user, beforeID, limit, false)
		}, packed.Key, client},
	}
}

// benchIDs are n post ids of one author a millisecond apart, oldest first.
func benchIDs(from, n int) []int64 {
	const base = int64(0x0355_4a31_0000_0000)
	out := make([]int64, n)
	for i := range out {
		out[i] = base + int64(from+i)<<23 + 17
	}
	return out
}

// fill gives each user an 800-entry timeline, one fan-out at a time.
func fill(b *testing.B, l layout, users []int64) {
	for _, id := range benchIDs(0, 800) {
		if err := l.addTo(context.Background(), users, []int64{id}, 800); err != nil {
			b.Fatal(err)
		}
	}
}

// Bytes an entry of an 800-entry timeline, as Redis's MEMORY USAGE
// counts them (the key, its value and their overhead), reported as
// B/entry; the time per op is that of MEMORY USAGE, and means nothing.
//
//	go test -run XXX -bench TimelineMemory ./internal/redisstore
func BenchmarkTimelineMemory(b *testing.B) {
	for _, l := range layouts(b, 1) {
		b.Run(l.name, func(b *testing.B) {
			fill(b, l, []int64{1})
			if got, _, err := l.timeline(context.Background(), 1, 0, 1000); err != nil || len(got) != 800 {
				b.Fatalf("%d entries, %v", len(got), err)
			}
			var bytes int64
			for b.Loop() {
				var err error
				if bytes, err = l.rdb.MemoryUsage(context.Background(), l.key(1), 0).Result(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(bytes)/800, "B/entry")
		})
	}
}

// A feed read of a full timeline: the first page, and a page from its
// middle (limit 21: the feed asks one more than it shows).
//
//	go test -run XXX -bench 'TimelineRead|FanOutAdd' -count 5 ./internal/redisstore
func BenchmarkTimelineRead(b *testing.B) {
	ctx := context.Background()
	for _, l := range layouts(b, 1) {
		fill(b, l, []int64{1})
		middle := benchIDs(400, 1)[0]
		for _, c := range []struct {
			name   string
			before int64
		}{{"first-page", 0}, {"page-before", middle}} {
			b.Run(l.name+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					if got, ok, err := l.timeline(ctx, 1, c.before, 21); err != nil || !ok || len(got) != 21 {
						b.Fatalf("%d ids, %v, %v", len(got), ok, err)
					}
				}
			})
		}
	}
}

// One new post fanned out to 100 followers whose timelines are full
// (800 entries): one pipelined script call each, adding and trimming.
func BenchmarkFanOutAdd(b *testing.B) {
	ctx := context.Background()
	followers := make([]int64, 100)
	for i := range followers {
		followers[i] = int64(i + 1)
	}
	for _, l := range layouts(b, int64(len(followers))) {
		fill(b, l, followers)
		next := 800
		b.Run(l.name, func(b *testing.B) {
			for b.Loop() {
				if err := l.addTo(ctx, followers, benchIDs(next, 1), 800); err != nil {
					b.Fatal(err)
				}
				next++
			}
		})
	}
}
