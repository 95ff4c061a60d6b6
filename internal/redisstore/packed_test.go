package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/internal/redisstore"
	"github.com/photofeed/photofeed/internal/testenv"
)

// sharedRedis is the machine's Redis with a key prefix of the test's own,
// whose keys are deleted when it ends.
func sharedRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	if err := client.Ping(context.Background()).Err(); err != nil {
		client.Close()
		testenv.Missing(t, "Redis on 127.0.0.1:6379 ("+err.Error()+")")
	}
	var b [6]byte
	rand.Read(b[:])
	prefix := "photofeed-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			client.Unlink(ctx, iter.Val())
		}
		client.Close()
	})
	return client, prefix
}

// emptyWriteModel has no posts: a rebuild only marks a timeline built.
type emptyWriteModel struct{ redisstore.WriteModel }

func (emptyWriteModel) WriteModelTimeline(context.Context, int64, int64, int, int) ([]int64, error) {
	return nil, nil
}

// packedTimelines is a Timelines on the shared Redis whose users 1 to
// built are built and empty.
func packedTimelines(t testing.TB, client redis.UniversalClient, prefix string, built int64) *redisstore.Timelines {
	t.Helper()
	tl := redisstore.NewTimelines(emptyWriteModel{}, client, redisstore.TimelinesConfig{Prefix: prefix})
	for u := int64(1); u <= built; u++ {
		if err := tl.Rebuild(context.Background(), u, 10_000, 800); err != nil {
			t.Fatal(err)
		}
	}
	return tl
}

// stored is the user's timeline as Redis holds it, checked to be whole
// ids, newest first, without repeats.
func stored(t testing.TB, client *redis.Client, tl *redisstore.Timelines, user int64) []int64 {
	t.Helper()
	raw, err := client.Get(context.Background(), tl.Key(user)).Result()
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	if len(raw)%8 != 0 {
		t.Fatalf("timeline of %d: %d bytes, not whole ids", user, len(raw))
	}
	var out []int64
	for i := 0; i < len(raw); i += 8 {
		id := int64(binary.BigEndian.Uint64([]byte(raw[i : i+8])))
		if len(out) > 0 && out[len(out)-1] <= id {
			t.Fatalf("timeline of %d not strictly newest first at %d: %v then %d", user, i/8, out, id)
		}
		out = append(out, id)
	}
	return out
}

// lowBitIDs are post ids a few ticks apart in the low bits and across
// the boundary of the halves the scripts compare, newest first.
func lowBitIDs() []int64 {
	const base = int64(0x0355_4a31_ffff_fffd) // a 2026 snowflake, 3 below a 32-bit carry
	var out []int64
	for _, d := range []int64{1 << 33, 1<<32 + 1, 1 << 32, 5, 4, 3, 2, 1, 0} {
		out = append(out, base+d)
	}
	return out
}

func TestPackedOrderAndPaging(t *testing.T) {
	client, prefix := sharedRedis(t)
	tl := packedTimelines(t, client, prefix, 1)
	ctx := t.Context()
	want := lowBitIDs()
	shuffled := []int64{want[4], want[0], want[8], want[2]}
	rest := []int64{want[1], want[3], want[5], want[6], want[7]}
	if err := tl.AddTo(ctx, []int64{1}, shuffled, 800); err != nil {
		t.Fatal(err)
	}
	for _, id := range rest {
		if err := tl.AddTo(ctx, []int64{1}, []int64{id}, 800); err != nil {
			t.Fatal(err)
		}
	}
	if got := stored(t, client, tl, 1); !slices.Equal(got, want) {
		t.Fatalf("stored %x, want %x", got, want)
	}
	var paged []int64
	before := int64(0)
	for range len(want) {
		page, exists, err := tl.Timeline(ctx, 1, before, 2, false)
		if err != nil || !exists {
			t.Fatalf("page before %d: %v %v", before, exists, err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		before = page[len(page)-1]
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged %x, want %x", paged, want)
	}
	for _, c := range []struct {
		name   string
		before int64
		limit  int
		want   []int64
	}{
		{"before an id it holds", want[2], 3, want[3:6]},
		{"before an id between two", want[2] - 1, 2, want[3:5]},
		{"before a newer id", want[0] + 1, 1, want[:1]},
		{"before the oldest", want[8], 5, nil},
		{"first page past the end", 0, 100, want},
		{"no entries asked", 0, 0, nil},
		{"no entries asked, before an id", want[1], 0, nil},
	} {
		got, exists, err := tl.Timeline(ctx, 1, c.before, c.limit, false)
		if err != nil || !exists || !slices.Equal(got, c.want) {
			t.Errorf("%s: %x %v %v, want %x", c.name, got, exists, err, c.want)
		}
	}
}

func TestPackedAddIsIdempotent(t *testing.T) {
	client, prefix := sharedRedis(t)
	tl := packedTimelines(t, client, prefix, 1)
	ctx := t.Context()
	ids := lowBitIDs()
	for range 2 { // a replayed event
		if err := tl.AddTo(ctx, []int64{1, 1}, append(slices.Clone(ids), ids[3], ids[3]), 800); err != nil {
			t.Fatal(err)
		}
	}
	if err := tl.AddTo(ctx, []int64{1}, ids[2:5], 800); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, client, tl, 1); !slices.Equal(got, ids) {
		t.Fatalf("after adding twice: %x, want %x", got, ids)
	}
	// A timeline nobody built is left alone.
	if err := tl.AddTo(ctx, []int64{2}, ids, 800); err != nil {
		t.Fatal(err)
	}
	if got, exists, err := tl.Timeline(ctx, 2, 0, 10, false); err != nil || exists || len(got) != 0 {
		t.Fatalf("unbuilt timeline after an add: %x %v %v, want nothing", got, exists, err)
	}
}

func TestPackedCap(t *testing.T) {
	client, prefix := sharedRedis(t)
	tl := packedTimelines(t, client, prefix, 1)
	ctx := t.Context()
	ids := lowBitIDs() // 9, newest first
	if err := tl.AddTo(ctx, []int64{1}, ids[1:], 5); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, client, tl, 1); !slices.Equal(got, ids[1:6]) {
		t.Fatalf("8 added to a cap of 5: %x, want the newest %x", got, ids[1:6])
	}
	if err := tl.AddTo(ctx, []int64{1}, ids[8:], 5); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, client, tl, 1); !slices.Equal(got, ids[1:6]) {
		t.Fatalf("an older id added to a full timeline: %x, want %x", got, ids[1:6])
	}
	if err := tl.AddTo(ctx, []int64{1}, ids[:1], 5); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, client, tl, 1); !slices.Equal(got, ids[:5]) {
		t.Fatalf("a newer id added to a full timeline: %x, want %x", got, ids[:5])
	}
	if err := tl.AddTo(ctx, []int64{1}, ids[:1], 3); err != nil { // a lower cap trims even when nothing is new
		t.Fatal(err)
	}
	if got := stored(t, client, tl, 1); !slices.Equal(got, ids[:3]) {
		t.Fatalf("after a lower cap: %x, want %x", got, ids[:3])
	}
}

func TestPackedRemove(t *testing.T) {
	client, prefix := sharedRedis(t)
	tl := packedTimelines(t, client, prefix, 1)
	ctx := t.Context()
	ids := lowBitIDs()
	if err := tl.AddTo(ctx, []int64{1}, ids, 800); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		remove []int64
		want   []int64
	}{
		{[]int64{ids[4]}, []int64{ids[0], ids[1], ids[2], ids[3], ids[5], ids[6], ids[7], ids[8]}},
		{[]int64{ids[4], ids[0] + 1, ids[8] - 1}, []int64{ids[0], ids[1], ids[2], ids[3], ids[5], ids[6], ids[7], ids[8]}}, // none held
		{[]int64{ids[8], ids[0], ids[2]}, []int64{ids[1], ids[3], ids[5], ids[6], ids[7]}},
		{[]int64{ids[1], ids[3], ids[5], ids[6], ids[7]}, nil},
	}
	for i, s := range steps {
		if err := tl.RemoveFrom(ctx, []int64{1, 2}, s.remove); err != nil {
			t.Fatal(err)
		}
		if got := stored(t, client, tl, 1); !slices.Equal(got, s.want) {
			t.Fatalf("step %d: %x, want %x", i, got, s.want)
		}
	}
	if got, exists, err := tl.Timeline(ctx, 1, 0, 10, false); err != nil || !exists || len(got) != 0 {
		t.Fatalf("emptied timeline: %x %v %v, want built and empty", got, exists, err)
	}
}

// Two consumers fanning out to the same timelines at once leave each of
// them sorted, without repeats, holding every id.
func TestPackedConcurrentFanOut(t *testing.T) {
	client, prefix := sharedRedis(t)
	tl := packedTimelines(t, client, prefix, 3)
	ctx := t.Context()
	const base = int64(0x0355_4a31_0000_0000)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for g := range 2 {
		wg.Go(func() {
			for i := range 200 { // 0..199 and 100..299: half of them both add
				if err := tl.AddTo(ctx, []int64{1, 2, 3}, []int64{base + int64(g*100+i)}, 800); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var want []int64
	for i := 299; i >= 0; i-- {
		want = append(want, base+int64(i))
	}
	for u := int64(1); u <= 3; u++ {
		if got := stored(t, client, tl, u); !slices.Equal(got, want) {
			t.Fatalf("user %d: %d ids, want %d, newest first", u, len(got), len(want))
		}
	}
}

// A timeline created by an add expires with its marker.
func TestPackedTimelineTakesTheMarkersExpiry(t *testing.T) {
	client, prefix := sharedRedis(t)
	tl := packedTimelines(t, client, prefix, 1)
	ctx := t.Context()
	if err := tl.AddTo(ctx, []int64{1}, lowBitIDs()[:1], 800); err != nil {
		t.Fatal(err)
	}
	ttl, err := client.PTTL(ctx, tl.Key(1)).Result()
	if err != nil || ttl <= 0 {
		t.Fatalf("timeline's expiry: %v %v, want the marker's (a day)", ttl, err)
	}
}

// A Redis that forgot the scripts (restarted, SCRIPT FLUSH) answers
// NOSCRIPT to the pipelined EVALSHA; the calls are sent again whole.
func TestPackedScriptsReloaded(t *testing.T) {
	srv := testenv.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { client.Close() })
	tl := packedTimelines(t, client, "p:", 2)
	ctx := t.Context()
	ids := lowBitIDs()
	for i, id := range ids {
		if err := client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := tl.AddTo(ctx, []int64{1, 2}, []int64{id}, 800); err != nil {
			t.Fatalf("add %d after SCRIPT FLUSH: %v", i, err)
		}
	}
	client.ScriptFlush(ctx)
	if err := tl.RemoveFrom(ctx, []int64{1, 2}, ids[:1]); err != nil {
		t.Fatalf("remove after SCRIPT FLUSH: %v", err)
	}
	client.ScriptFlush(ctx)
	for u := int64(1); u <= 2; u++ {
		if got, _, err := tl.Timeline(ctx, u, ids[0], 100, false); err != nil || !slices.Equal(got, ids[1:]) {
			t.Fatalf("user %d after SCRIPT FLUSH: %x %v, want %x", u, got, err, ids[1:])
		}
	}
}
