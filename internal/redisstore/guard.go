package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrUnavailable is what a guarded call returns instead of trying Redis:
// its breaker is open or its bulkhead is full. Callers degrade (read the
// SQL model, skip the cache) rather than fail.
var ErrUnavailable = errors.New("redis: unavailable (breaker open or too many calls in flight)")

// guard puts every Redis call behind a timeout, a bulkhead and a circuit
// breaker: a slow or dead Redis costs a request at most the timeout, and
// after five failures in a row nothing waits on it for OpenFor.
type guard struct {
	breaker *gobreaker.CircuitBreaker[struct{}]
	slots   chan struct{}
	timeout time.Duration
}

// GuardConfig tunes the guard; zero values take the defaults.
type GuardConfig struct {
	Timeout     time.Duration // per call, default 100ms
	MaxInFlight int           // default 256
	OpenFor     time.Duration // default 5s
	// OnStateChange, if set, hears the breaker open and close.
	OnStateChange func(name, from, to string)
}

func newGuard(name string, cfg GuardConfig) *guard {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.OpenFor <= 0 {
		cfg.OpenFor = 5 * time.Second
	}
	st := gobreaker.Settings{Name: name, Timeout: cfg.OpenFor, MaxRequests: 1,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 }}
	if cfg.OnStateChange != nil {
		st.OnStateChange = func(name string, from, to gobreaker.State) { cfg.OnStateChange(name, from.String(), to.String()) }
	}
	return &guard{breaker: gobreaker.NewCircuitBreaker[struct{}](st), slots: make(chan struct{}, cfg.MaxInFlight), timeout: cfg.Timeout}
}

// do runs fn with the call timeout; fn reports only Redis failures (a
// missing key is not one).
func (g *guard) do(ctx context.Context, fn func(ctx context.Context) error) error {
	select {
	case g.slots <- struct{}{}:
		defer func() { <-g.slots }()
	default:
		return ErrUnavailable
	}
	_, err := g.breaker.Execute(func() (struct{}, error) {
		ctx, cancel := context.WithTimeout(ctx, g.timeout)
		defer cancel()
		return struct{}{}, fn(ctx)
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return ErrUnavailable
	}
	return err
}
