package ids_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/ids"
)

func TestLayoutRoundTrip(t *testing.T) {
	at := ids.Epoch.Add(123456789 * time.Millisecond)
	g := ids.NewGenerator(func() time.Time { return at })
	for _, shard := range []int{0, 1, 1023, ids.MaxShards - 1} {
		id, err := g.Next(shard)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids.Shard(id); got != shard {
			t.Errorf("Shard(%d) = %d, want %d", id, got, shard)
		}
		if got := ids.Time(id); !got.Equal(at) {
			t.Errorf("Time(%d) = %s, want %s", id, got, at)
		}
	}
}

func TestIncreasingUnderFrozenAndBackwardClock(t *testing.T) {
	now := ids.Epoch.Add(time.Hour)
	g := ids.NewGenerator(func() time.Time { return now })
	var last int64
	for i := range 5000 { // five times the per-millisecond sequence
		if i == 2500 {
			now = now.Add(-time.Minute) // clock steps back
		}
		id, err := g.Next(7)
		if err != nil {
			t.Fatal(err)
		}
		if id <= last {
			t.Fatalf("id %d after %d is not increasing (i=%d)", id, last, i)
		}
		last = id
	}
}

func TestSortsByTimeAcrossShards(t *testing.T) {
	now := ids.Epoch.Add(time.Second)
	g := ids.NewGenerator(func() time.Time { return now })
	early, _ := g.Next(ids.MaxShards - 1)
	now = now.Add(time.Millisecond)
	late, _ := g.Next(0)
	if late <= early {
		t.Fatalf("later id %d on shard 0 sorts before earlier id %d on the last shard", late, early)
	}
}

func TestErrors(t *testing.T) {
	g := ids.NewGenerator(func() time.Time { return ids.Epoch.Add(time.Second) })
	for _, shard := range []int{-1, ids.MaxShards} {
		if _, err := g.Next(shard); !errors.Is(err, ids.ErrShardRange) {
			t.Errorf("Next(%d) err = %v, want ErrShardRange", shard, err)
		}
	}
	before := ids.NewGenerator(func() time.Time { return ids.Epoch.Add(-time.Second) })
	if _, err := before.Next(0); err == nil {
		t.Error("clock before epoch: want error")
	}
}

func TestConcurrentUnique(t *testing.T) {
	g := ids.NewGenerator(nil)
	const workers, each = 8, 2000
	out := make(chan int64, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				id, err := g.Next(3)
				if err != nil {
					t.Error(err)
					return
				}
				out <- id
			}
		})
	}
	wg.Wait()
	close(out)
	seen := make(map[int64]bool, workers*each)
	for id := range out {
		if seen[id] {
			t.Fatalf("duplicate id %d", id)
		}
		seen[id] = true
	}
}

func TestShardForKeyStableAndInRange(t *testing.T) {
	if a, b := ids.ShardForKey("alice", 1024), ids.ShardForKey("alice", 1024); a != b {
		t.Fatalf("not stable: %d vs %d", a, b)
	}
	counts := make([]int, 16)
	for i := range 16000 {
		s := ids.ShardForKey(string(rune('a'+i%26))+time.Duration(i).String(), 16)
		if s < 0 || s >= 16 {
			t.Fatalf("shard %d out of range", s)
		}
		counts[s]++
	}
	for s, c := range counts {
		if c < 500 || c > 1500 { // expected 1000 each
			t.Errorf("shard %d got %d keys: distribution badly skewed", s, c)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	g := ids.NewGenerator(nil)
	for b.Loop() {
		g.Next(42)
	}
}
