package ratelimit

import (
	"context"
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"
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
	timeout       time.Duration
	slots         chan struct{}
	breaker       *gobreaker.CircuitBreaker[Decision]
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
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.OpenFor <= 0 {
		cfg.OpenFor = 5 * time.Second
	}
	st := gobreaker.Settings{Name: "ratelimit", Timeout: cfg.OpenFor, MaxRequests: 1,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 }}
	if cfg.OnStateChange != nil {
		st.OnStateChange = func(_ string, from, to gobreaker.State) { cfg.OnStateChange(from.String(), to.String()) }
	}
	return &Fallback{shared: shared, local: local, failOpen: cfg.FailOpen, timeout: cfg.Timeout,
		slots: make(chan struct{}, cfg.MaxInFlight), breaker: gobreaker.NewCircuitBreaker[Decision](st)}
}

var _ Limiter = (*Fallback)(nil)

var errBulkheadFull = errors.New("ratelimit: too many calls to the shared limiter in flight")

func (f *Fallback) AllowN(ctx context.Context, key string, l Limit, n int) (Decision, error) {
	if err := l.validate(); err != nil {
		return Decision{}, err
	}
	d, err := f.breaker.Execute(func() (Decision, error) {
		select {
		case f.slots <- struct{}{}:
			defer func() { <-f.slots }()
		default:
			return Decision{}, errBulkheadFull
		}
		ctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		return f.shared.AllowN(ctx, key, l, n)
	})
	if err == nil {
		return d, nil
	}
	if f.failOpen {
		return Decision{Allowed: true, Remaining: l.Requests}, nil
	}
	return f.local.AllowN(ctx, key, l, n)
}
