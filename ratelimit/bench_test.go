package ratelimit_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/ratelimit"
)

// BenchmarkAllow is the cost of one decision: single goroutine over 1,000
// keys, and all goroutines over 1,000 keys (-cpu sets how many). The
// "fixed" clock variants leave out reading the system clock, which
// BenchmarkClock measures on its own (it costs as much as a decision on
// some virtual machines).
func BenchmarkAllow(b *testing.B) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	var next atomic.Int64
	for _, alg := range []ratelimit.Algorithm{ratelimit.TokenBucket, ratelimit.SlidingWindowLog, ratelimit.SlidingWindowCounter} {
		l := ratelimit.Limit{Requests: 1500, Window: 5 * time.Minute, Algorithm: alg}
		ctx := context.Background()
		fixed := time.Now()
		b.Run(string(alg)+"/fixed-clock/1", func(b *testing.B) {
			m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: func() time.Time { return fixed }})
			i := 0
			for b.Loop() {
				m.AllowN(ctx, keys[i%len(keys)], l, 1)
				i++
			}
		})
		b.Run(string(alg)+"/fixed-clock/parallel", func(b *testing.B) {
			m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: func() time.Time { return fixed }})
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(397)) // goroutines walk the keys out of step
				for pb.Next() {
					m.AllowN(ctx, keys[i%len(keys)], l, 1)
					i++
				}
			})
		})
		b.Run(string(alg)+"/1", func(b *testing.B) {
			m := ratelimit.NewMemory(ratelimit.MemoryConfig{})
			i := 0
			for b.Loop() {
				m.AllowN(ctx, keys[i%len(keys)], l, 1)
				i++
			}
		})
		b.Run(string(alg)+"/parallel", func(b *testing.B) {
			m := ratelimit.NewMemory(ratelimit.MemoryConfig{})
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(397)) // goroutines walk the keys out of step
				for pb.Next() {
					m.AllowN(ctx, keys[i%len(keys)], l, 1)
					i++
				}
			})
		})
	}
}

func BenchmarkClock(b *testing.B) {
	b.Run("time.Now", func(b *testing.B) {
		for b.Loop() {
			time.Now()
		}
	})
	epoch := time.Now()
	b.Run("time.Since", func(b *testing.B) {
		for b.Loop() {
			time.Since(epoch)
		}
	})
}
