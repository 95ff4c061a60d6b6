package resilience_test

import (
	"testing"
	"time"

	"github.com/photofeed/photofeed/resilience"
)

func TestBackoffBounds(t *testing.T) {
	b := resilience.Backoff{Base: time.Second, Max: 30 * time.Second}
	for attempt := range 100 {
		exp := time.Second
		for i := 0; i < attempt && exp < 30*time.Second; i++ {
			exp *= 2
		}
		lo := min(exp, 30*time.Second)
		hi := min(lo+time.Second, 30*time.Second)
		for range 200 {
			d := b.Delay(attempt)
			if d < lo || d > hi {
				t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, lo, hi)
			}
		}
	}
	zero := resilience.Backoff{Base: time.Second, Max: time.Minute, Rand: func(int64) int64 { return 0 }}
	for attempt, want := range []time.Duration{1, 2, 4, 8, 16, 32, 60} {
		if got := zero.Delay(attempt); got != want*time.Second {
			t.Errorf("attempt %d without jitter: %s, want %s", attempt, got, want*time.Second)
		}
	}
}

// Jitter spreads retries: delays for one attempt cover the jitter range
// rather than landing on one instant.
func TestBackoffSpread(t *testing.T) {
	b := resilience.Backoff{Base: time.Second, Max: time.Hour}
	buckets := make([]int, 10)
	for range 10_000 {
		d := b.Delay(3) - 8*time.Second // jitter part, [0, 1s)
		buckets[int(d*10/time.Second)]++
	}
	for i, n := range buckets {
		if n < 800 || n > 1200 { // 1,000 expected per tenth
			t.Errorf("jitter tenth %d has %d of 10,000: not spread evenly", i, n)
		}
	}
}
