// Package resilience holds the patterns that keep a failing dependency
// from taking its callers down with it. This file: retry delays.
package resilience

import (
	"math/rand/v2"
	"time"
)

// Backoff computes retry delays by exponential backoff with jitter,
//
//	delay = min(base × 2^attempt + random(0, base), max)
//
// The jitter keeps clients that failed together from retrying together and
// recreating the overload.
type Backoff struct {
	Base time.Duration // default 100ms
	Max  time.Duration // default 30s
	// Rand returns a value in [0, n); default math/rand/v2's Int64N.
	Rand func(n int64) int64
}

// Delay is the wait before retry number attempt (0 for the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	base, limit := b.Base, b.Max
	if base <= 0 {
		base = 100 * time.Millisecond
	}
	if limit <= 0 {
		limit = 30 * time.Second
	}
	rnd := b.Rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	attempt = max(0, attempt)
	d := limit
	if attempt < 62 && base <= limit>>min(attempt, 62) { // base × 2^attempt stays under max without overflow
		d = base << attempt
	}
	d += time.Duration(rnd(int64(base)))
	return min(d, limit)
}
