package ids_test

import (
	"errors"
	"fmt"
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

// Two generators each making one id for a shard in the same millisecond
// meet about once in 1,024 pairs (they always met when every millisecond
// started at 0).
func TestRandomStartsRarelyMeet(t *testing.T) {
	at := ids.Epoch.Add(time.Hour)
	now := func() time.Time { return at }
	const pairs = 2000
	met := 0
	for range pairs {
		a, _ := ids.NewGenerator(now).Next(9)
		b, _ := ids.NewGenerator(now).Next(9)
		if a == b {
			met++
		}
	}
	if met > 20 { // about 2 expected
		t.Fatalf("%d of %d pairs of first ids met", met, pairs)
	}
}

// A millisecond started near the top of the sequence is used up after a
// few ids; the next ones go on the following millisecond, still
// increasing, at that millisecond's own start.
func TestStartNearTheTopContinuesOnNextMillisecond(t *testing.T) {
	at := ids.Epoch.Add(time.Hour)
	starts := []int{1021, 5}
	g := ids.NewGeneratorWithStart(func() time.Time { return at }, func() int {
		s := starts[0]
		starts = starts[1:]
		return s
	})
	var got []int64
	for range 5 {
		id, err := g.Next(2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	for i, id := range got {
		wantMS, wantSeq := at, int64(1021+i)
		if i >= 3 {
			wantMS, wantSeq = at.Add(time.Millisecond), int64(5+i-3)
		}
		if !ids.Time(id).Equal(wantMS) || id&(1<<ids.SeqBits-1) != wantSeq || ids.Shard(id) != 2 {
			t.Errorf("id %d: %s seq %d shard %d; want %s seq %d shard 2", i, ids.Time(id), id&(1<<ids.SeqBits-1), ids.Shard(id), wantMS, wantSeq)
		}
		if i > 0 && id <= got[i-1] {
			t.Errorf("id %d (%d) does not follow %d", i, id, got[i-1])
		}
	}
}

// Try offers fresh ids while the insert answers ErrTaken, and gives up
// after Tries; any other answer ends it at once.
func TestTry(t *testing.T) {
	g := ids.NewGenerator(nil)
	var offered []int64
	id, err := g.Try(4, func(id int64) error {
		offered = append(offered, id)
		if len(offered) < 3 {
			return fmt.Errorf("insert: %w", ids.ErrTaken)
		}
		return nil
	})
	if err != nil || len(offered) != 3 || id != offered[2] || offered[0] >= offered[1] || offered[1] >= offered[2] {
		t.Fatalf("Try = %d, %v after offering %v; want the third of three increasing ids", id, err, offered)
	}

	n := 0
	if _, err := g.Try(4, func(int64) error { n++; return ids.ErrTaken }); !errors.Is(err, ids.ErrTaken) || n != ids.Tries {
		t.Fatalf("always taken: %v after %d tries; want ErrTaken after %d", err, n, ids.Tries)
	}
	boom := errors.New("boom")
	n = 0
	if _, err := g.Try(4, func(int64) error { n++; return boom }); !errors.Is(err, boom) || n != 1 {
		t.Fatalf("other error: %v after %d tries; want boom after 1", err, n)
	}
	if _, err := g.Try(-1, func(int64) error { t.Fatal("insert called for a bad shard"); return nil }); !errors.Is(err, ids.ErrShardRange) {
		t.Fatalf("bad shard: %v", err)
	}
}
