package ratelimit_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/ratelimit"
)

// flaky is a shared limiter that can be switched off.
type flaky struct {
	down  atomic.Bool
	calls atomic.Int32
	inner ratelimit.Limiter
}

func (f *flaky) AllowN(ctx context.Context, key string, l ratelimit.Limit, n int) (ratelimit.Decision, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return ratelimit.Decision{}, errors.New("connection refused")
	}
	return f.inner.AllowN(ctx, key, l, n)
}

func TestFallbackToLocalAndBreaker(t *testing.T) {
	c := newClock()
	shared := &flaky{inner: ratelimit.NewMemory(ratelimit.MemoryConfig{Now: c.now})}
	local := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: c.now})
	var states []string
	f := ratelimit.NewFallback(shared, local, ratelimit.FallbackConfig{OpenFor: 50 * time.Millisecond,
		OnStateChange: func(from, to string) { states = append(states, to) }})
	l := ratelimit.Limit{Requests: 3, Window: time.Minute, Algorithm: ratelimit.TokenBucket}
	ctx := context.Background()
	for range 3 {
		if d, err := f.AllowN(ctx, "k", l, 1); err != nil || !d.Allowed {
			t.Fatalf("shared up: %+v %v", d, err)
		}
	}
	shared.down.Store(true)
	// The local limiter takes over with its own count: 3 more, then no.
	for i, want := range []bool{true, true, true, false} {
		if d, err := f.AllowN(ctx, "k", l, 1); err != nil || d.Allowed != want {
			t.Fatalf("shared down, request %d: %+v %v", i, d, err)
		}
	}
	// After 5 consecutive failures the breaker is open: the shared limiter
	// is not called at all.
	for range 5 {
		f.AllowN(ctx, "other", l, 1)
	}
	before := shared.calls.Load()
	for range 20 {
		f.AllowN(ctx, "other", l, 1)
	}
	if shared.calls.Load() != before {
		t.Fatalf("the open breaker still called the shared limiter %d times", shared.calls.Load()-before)
	}
	// It tries again after OpenFor, and closes when that works.
	shared.down.Store(false)
	if !testenv.Poll(5*time.Second, func() bool {
		if shared.calls.Load() != before {
			return true
		}
		f.AllowN(ctx, "again", l, 1)
		return false
	}) {
		t.Fatal("the breaker never tried the shared limiter again")
	}
	if len(states) < 2 || states[0] != "open" || states[len(states)-1] != "closed" {
		t.Fatalf("breaker states %v, want open … closed", states)
	}
}

func TestFallbackFailOpen(t *testing.T) {
	shared := &flaky{}
	shared.down.Store(true)
	f := ratelimit.NewFallback(shared, nil, ratelimit.FallbackConfig{FailOpen: true})
	l := ratelimit.Limit{Requests: 1, Window: time.Minute, Algorithm: ratelimit.TokenBucket}
	for range 5 {
		if d, err := f.AllowN(context.Background(), "k", l, 1); err != nil || !d.Allowed {
			t.Fatalf("fail-open denied: %+v %v", d, err)
		}
	}
}
