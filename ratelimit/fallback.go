package ratelimit

import (
	"context"
	"time"

	"github.com/photofeed/photofeed/resilience"
)

// Fallback asks a shared limiter (Redis) and, when it cannot answer, a
// local one: limits keep holding on each instance while the shared store
// is down, instead of every request failing or every request passing.
// Calls to the shared limiter go through
//
//   - a timeout, so a slow store costs at most Timeout per request;
//   - a bulkhead (at most MaxInFlight calls at once), so a slow store cannot
//     tie up every request goroutine;
//   - a circuit breaker, which stops calling a store that keeps failing and
//     tries it again after OpenFor.
type Fallback struct {
	shared, local Limiter
	failOpen      bool
	guard         *resilience.Guard
}

// FallbackConfig configures NewFallback; zero values take the defaults.
type FallbackConfig struct {
	Timeout     time.Duration // default 50ms
	MaxInFlight int           // default 256
	OpenFor     time.Duration // how long the breaker stays open; default 5s
	// FailOpen allows requests outright while the shared limiter is out,
	// instead of asking the local one.
	FailOpen bool
	// OnStateChange reports the breaker's transitions ("closed", "open",
	// "half-open").
	OnStateChange func(from, to string)
}

func NewFallback(shared, local Limiter, cfg FallbackConfig) *Fallback {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 50 * time.Millisecond
	}
	gc := resilience.GuardConfig{Timeout: cfg.Timeout, MaxInFlight: cfg.MaxInFlight, OpenFor: cfg.OpenFor}
	if cfg.OnStateChange != nil {
		gc.OnStateChange = func(_, from, to string) { cfg.OnStateChange(from, to) }
	}
	return &Fallback{shared: shared, local: local, failOpen: cfg.FailOpen, guard: resilience.NewGuard("ratelimit", gc)}
}

var _ Limiter = (*Fallback)(nil)

func (f *Fallback) AllowN(ctx context.Context, key string, l Limit, n int) (Decision, error) {
	if err := l.validate(); err != nil {
		return Decision{}, err
	}
	var d Decision
	err := f.guard.Do(ctx, func(ctx context.Context) error {
		var err error
		d, err = f.shared.AllowN(ctx, key, l, n)
		return err
	})
	if err == nil {
		return d, nil
	}
	if f.failOpen {
		return Decision{Allowed: true, Remaining: l.Requests}, nil
	}
	return f.local.AllowN(ctx, key, l, n)
}
