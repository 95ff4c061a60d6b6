package jobs

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/photofeed/photofeed/resilience"
)

// River's retries follow resilience.Backoff's formula, from when the attempt ran.
func TestRetryPolicy(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := RetryPolicy{Backoff: resilience.Backoff{Base: time.Second, Max: time.Minute}}
	for attempt, lo := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} {
		lo *= time.Second
		hi := min(lo+time.Second, time.Minute)
		for range 100 {
			next := p.NextRetry(&rivertype.JobRow{Attempt: attempt + 1, AttemptedAt: &at})
			if d := next.Sub(at); d < lo || d > hi {
				t.Fatalf("attempt %d: retry after %s, want within [%s, %s]", attempt+1, d, lo, hi)
			}
		}
	}
}
