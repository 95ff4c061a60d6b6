// Package ratelimit decides whether a request may proceed, with the three
// classic rate-limiting algorithms behind one interface:
//
//   - token bucket: tokens refill at Limit per Window up to Limit; bursts up
//     to the bucket size.
//   - sliding window log: a timestamp per request in the last Window;
//     exact, and memory grows with Limit.
//   - sliding window counter: this window's count plus the previous window's
//     weighted by how much of it still overlaps (Cloudflare's approximation);
//     two counters per key.
//
// Every decision says whether the request is allowed, what remains, exactly
// how long until the next request would be allowed, and when the quota is
// whole again, so servers can send truthful Retry-After and RateLimit
// headers. The package knows nothing of HTTP routes or users: callers pick
// the key.
package ratelimit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Algorithm names one of the three algorithms.
type Algorithm string

const (
	TokenBucket          Algorithm = "token_bucket"
	SlidingWindowLog     Algorithm = "sliding_window_log"
	SlidingWindowCounter Algorithm = "sliding_window_counter"
)

// Valid reports whether a is a known algorithm.
func (a Algorithm) Valid() bool {
	return a == TokenBucket || a == SlidingWindowLog || a == SlidingWindowCounter
}

// Limit is a quota: Requests per Window, enforced by Algorithm.
type Limit struct {
	Requests  int
	Window    time.Duration
	Algorithm Algorithm
}

func (l Limit) validate() error {
	if l.Requests < 1 || l.Window <= 0 || !l.Algorithm.Valid() {
		return fmt.Errorf("ratelimit: invalid limit %d per %s (%q)", l.Requests, l.Window, l.Algorithm)
	}
	return nil
}

// Decision is the outcome of asking for n requests.
type Decision struct {
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is, for a denied request, exactly how long until it would
	// be allowed; 0 when allowed.
	RetryAfter time.Duration
	// Reset is how long until the quota is whole again if no more requests
	// come.
	Reset time.Duration
}

// Limiter decides for a key. AllowN with n = 0 only looks: Allowed then says
// whether one more request would pass, and nothing is consumed. AllowN with
// n < 0 gives back -n requests taken earlier (the newest ones), for callers
// that reserve a request before knowing whether it counts: it is always
// allowed and never leaves more than a whole quota. The context and error
// are for backends that cross a network.
type Limiter interface {
	AllowN(ctx context.Context, key string, l Limit, n int) (Decision, error)
}

// Allow is AllowN for one request.
func Allow(ctx context.Context, lim Limiter, key string, l Limit) (Decision, error) {
	return lim.AllowN(ctx, key, l, 1)
}

// Policy is a named limit, as configured and as advertised in headers.
type Policy struct {
	Name string
	Limit
}

// policyJSON is a policy as written in configuration files.
type policyJSON struct {
	Limit     int       `json:"limit"`
	Window    string    `json:"window"`
	Algorithm Algorithm `json:"algorithm"`
}

// UnmarshalJSON reads {"limit": 300, "window": "5m", "algorithm": "token_bucket"};
// the algorithm defaults to the sliding window counter.
func (l *Limit) UnmarshalJSON(b []byte) error {
	var p policyJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	w, err := time.ParseDuration(p.Window)
	if err != nil {
		return fmt.Errorf("window %q: %w", p.Window, err)
	}
	if p.Algorithm == "" {
		p.Algorithm = SlidingWindowCounter
	}
	*l = Limit{Requests: p.Limit, Window: w, Algorithm: p.Algorithm}
	return l.validate()
}

// MarshalJSON writes the form UnmarshalJSON reads.
func (l Limit) MarshalJSON() ([]byte, error) {
	return json.Marshal(policyJSON{Limit: l.Requests, Window: l.Window.String(), Algorithm: l.Algorithm})
}
