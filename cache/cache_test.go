package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/cache"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// 1,000 concurrent requests for a cold key cause one load.
func TestStampedeOneLoad(t *testing.T) {
	release := make(chan struct{})
	var loads atomic.Int32
	c := cache.New(cache.Config{}, func(ctx context.Context, k int) (string, error) {
		loads.Add(1)
		<-release // the load is slow: everyone piles up behind it
		return fmt.Sprint("value ", k), nil
	})
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	var started sync.WaitGroup
	started.Add(1000)
	for range 1000 {
		wg.Go(func() {
			started.Done()
			v, err := c.Get(context.Background(), 7)
			if err == nil && v != "value 7" {
				err = fmt.Errorf("got %q", v)
			}
			errs <- err
		})
	}
	started.Wait()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads for one cold key, want 1", n)
	}
}

// A flood of unknown ids costs one load per id per negative TTL.
func TestPenetrationBounded(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	var loads atomic.Int32
	c := cache.New(cache.Config{NegativeTTL: 5 * time.Second, Now: clk.now}, func(ctx context.Context, k int) (string, error) {
		loads.Add(1)
		return "", cache.ErrNotFound
	})
	for i := range 10_000 {
		if _, err := c.Get(context.Background(), i%100); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	}
	if n := loads.Load(); n != 100 {
		t.Fatalf("%d loads for 10,000 requests over 100 unknown ids, want 100", n)
	}
	clk.advance(6 * time.Second) // past the negative TTL and its jitter
	c.Get(context.Background(), 1)
	if n := loads.Load(); n != 101 {
		t.Fatalf("after the negative TTL: %d loads, want 101", n)
	}
}

func TestExpiryJitterInvalidateAndErrors(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	version := 0
	fail := false
	c := cache.New(cache.Config{TTL: time.Minute, Jitter: 0.5, Beta: -1, Now: clk.now, Rand: func() float64 { return 0.5 }},
		func(ctx context.Context, k string) (int, error) {
			if fail {
				return 0, errors.New("database down")
			}
			version++
			return version, nil
		})
	get := func() int {
		v, err := c.Get(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if get() != 1 {
		t.Fatal("first load")
	}
	clk.advance(74 * time.Second) // TTL 60 s + jitter 0.5 × 60 s × 0.5 = 75 s
	if get() != 1 {
		t.Fatal("expired before its jittered TTL")
	}
	clk.advance(time.Second)
	if get() != 2 {
		t.Fatal("not reloaded at its jittered TTL")
	}
	c.Invalidate("k")
	if get() != 3 {
		t.Fatal("not reloaded after Invalidate")
	}
	c.Invalidate("k")
	fail = true
	if _, err := c.Get(context.Background(), "k"); err == nil {
		t.Fatal("a failing load returned no error")
	}
	fail = false
	if get() != 4 {
		t.Fatal("a failed load was cached")
	}
}

// XFetch: far from expiry nobody refreshes early; near it, with a costly
// load, some request does.
func TestEarlyRefresh(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	r := 0.5
	loads := 0
	c := cache.New(cache.Config{TTL: 10 * time.Second, Jitter: -1, Beta: 1, Now: clk.now, Rand: func() float64 { return r }},
		func(ctx context.Context, k string) (int, error) {
			loads++
			clk.advance(2 * time.Second) // the load itself takes 2 s: δ
			return loads, nil
		})
	c.Get(context.Background(), "k") // loaded; expires 10 s after the load finished
	for range 100 {
		c.Get(context.Background(), "k")
	}
	if loads != 1 {
		t.Fatalf("%d loads far from expiry, want 1", loads)
	}
	clk.advance(9 * time.Second) // 1 s before expiry: −δ·ln(0.5) ≈ 1.39 s ≥ 1 s
	c.Get(context.Background(), "k")
	if loads != 2 {
		t.Fatalf("no early refresh 1 s before expiry with a 2 s load (loads %d)", loads)
	}
}

func TestLookupAndSetMissing(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	c := cache.New(cache.Config{TTL: time.Minute, NegativeTTL: 5 * time.Second, Now: clk.now},
		func(ctx context.Context, k int) (string, error) { return "loaded", nil })
	if _, ok, _ := c.Lookup(1); ok {
		t.Fatal("Lookup of a cold key found something")
	}
	c.Set(1, "one")
	c.SetMissing(2)
	if v, ok, missing := c.Lookup(1); !ok || missing || v != "one" {
		t.Fatalf("Lookup(1) = %q %v %v", v, ok, missing)
	}
	if _, ok, missing := c.Lookup(2); !ok || !missing {
		t.Fatalf("Lookup(2) = %v %v, want a remembered miss", ok, missing)
	}
	if _, err := c.Get(context.Background(), 2); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get of a remembered miss: %v", err)
	}
	clk.advance(6 * time.Second)
	if _, ok, _ := c.Lookup(2); ok {
		t.Fatal("a miss outlived the negative TTL")
	}
	clk.advance(time.Minute)
	if _, ok, _ := c.Lookup(1); ok {
		t.Fatal("an entry outlived its TTL and jitter")
	}
}

// mapRemote is a second level in memory; down makes it fail.
type mapRemote struct {
	mu   sync.Mutex
	m    map[string][]byte
	down bool
}

func (r *mapRemote) Get(_ context.Context, k string) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return nil, false, errors.New("down")
	}
	b, ok := r.m[k]
	return b, ok, nil
}

func (r *mapRemote) Set(_ context.Context, k string, b []byte, _ time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return errors.New("down")
	}
	r.m[k] = b
	return nil
}

func (r *mapRemote) Delete(_ context.Context, k string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, k)
	return nil
}

// Two instances share a second level: what one loads, the other reads
// without loading; a Delete on one reaches the shared level; a failing
// second level only costs loads.
func TestSecondLevel(t *testing.T) {
	remote := &mapRemote{m: map[string][]byte{}}
	type user struct{ Name string }
	var loads atomic.Int32
	load := func(ctx context.Context, id int) (user, error) {
		loads.Add(1)
		if id == 0 {
			return user{}, cache.ErrNotFound
		}
		return user{Name: fmt.Sprint("user ", id)}, nil
	}
	a := cache.New(cache.Config{Remote: remote, Name: "users"}, load)
	b := cache.New(cache.Config{Remote: remote, Name: "users"}, load)
	ctx := context.Background()
	if v, err := a.Get(ctx, 1); err != nil || v.Name != "user 1" {
		t.Fatal(v, err)
	}
	if v, err := b.Get(ctx, 1); err != nil || v.Name != "user 1" || loads.Load() != 1 {
		t.Fatalf("second instance: %v %v after %d loads, want it from the shared level", v, err, loads.Load())
	}
	a.Get(ctx, 0)
	if _, err := b.Get(ctx, 0); !errors.Is(err, cache.ErrNotFound) || loads.Load() != 2 {
		t.Fatalf("a shared miss: %v after %d loads", err, loads.Load())
	}
	a.Delete(ctx, 1)
	b.Invalidate(1) // what the bus tells the other instance
	b.Get(ctx, 1)
	if loads.Load() != 3 {
		t.Fatalf("after Delete: %d loads, want the value loaded again", loads.Load())
	}
	remote.down = true
	c := cache.New(cache.Config{Remote: remote, Name: "users"}, load)
	if v, err := c.Get(ctx, 2); err != nil || v.Name != "user 2" {
		t.Fatalf("with the second level down: %v %v", v, err)
	}
}

// A load that read before an invalidation does not put its old value
// back: the next Get loads again.
func TestInvalidationDuringLoad(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var version atomic.Int32
	c := cache.New(cache.Config{TTL: time.Minute}, func(ctx context.Context, k int) (int32, error) {
		v := version.Load() // read the "database" first...
		if v == 0 {
			close(entered)
			<-release // ...then stall while a write lands
		}
		return v, nil
	})
	done := make(chan int32)
	go func() {
		v, _ := c.Get(context.Background(), 1)
		done <- v
	}()
	<-entered
	version.Store(1) // the write
	c.Invalidate(1)  // and its invalidation, while the load is in flight
	close(release)
	if v := <-done; v != 0 {
		t.Fatalf("the in-flight load returned %d, want the 0 it read", v)
	}
	if v, ok, _ := c.Lookup(1); ok {
		t.Fatalf("the stale load was cached: %d", v)
	}
	if v, _ := c.Get(context.Background(), 1); v != 1 {
		t.Fatalf("after the invalidation Get = %d, want 1", v)
	}
	gen := c.Generation(2)
	c.Invalidate(2)
	if c.SetAt(2, 5, gen) {
		t.Fatal("SetAt stored across an invalidation")
	}
}

// Stats count each read once: a hit when a fresh entry (or remembered
// miss) is held, a miss otherwise, by Get and Lookup alike.
func TestStats(t *testing.T) {
	clk := &clock{t: time.Unix(0, 0)}
	c := cache.New(cache.Config{TTL: time.Minute, Jitter: -1, Beta: 0, Now: clk.now}, func(ctx context.Context, k int) (int, error) {
		if k < 0 {
			return 0, cache.ErrNotFound
		}
		return k, nil
	})
	ctx := context.Background()
	c.Get(ctx, 1)  // miss
	c.Get(ctx, 1)  // hit
	c.Get(ctx, -1) // miss, remembered
	c.Get(ctx, -1) // hit
	c.Lookup(1)    // hit
	c.Lookup(2)    // miss
	clk.advance(2 * time.Minute)
	c.Get(ctx, 1) // expired: a miss
	if got, want := c.Stats(), (cache.Stats{Hits: 3, Misses: 4}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}
