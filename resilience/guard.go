package resilience

import (
	"context"
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrUnavailable is what a guarded call returns instead of trying the
// dependency: its breaker is open or its bulkhead is full. Callers degrade
// (a local answer, another source, no cache) rather than fail.
var ErrUnavailable = errors.New("unavailable: circuit open or too many calls in flight")

// Guard puts every call to a dependency (Redis, say) behind a timeout, a
// bulkhead and a circuit breaker (sony/gobreaker): a slow or dead
// dependency costs a request at most the timeout, ties up at most
// MaxInFlight goroutines, and after five failures in a row is not called
// at all for OpenFor. A full bulkhead is load, not a fault: it does not
// count towards opening the breaker.
type Guard struct {
	breaker *gobreaker.CircuitBreaker[struct{}]
	slots   chan struct{}
	timeout time.Duration
}

// GuardConfig tunes a Guard; zero values take the defaults.
type GuardConfig struct {
	Timeout     time.Duration // per call, default 100ms
	MaxInFlight int           // default 256
	OpenFor     time.Duration // default 5s
	// OnStateChange, if set, hears the breaker's transitions ("closed",
	// "open", "half-open").
	OnStateChange func(name, from, to string)
}

// NewGuard makes a Guard; name labels its breaker.
func NewGuard(name string, cfg GuardConfig) *Guard {
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
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 },
		IsExcluded:  func(err error) bool { return errors.As(err, new(callerLeft)) }}
	if cfg.OnStateChange != nil {
		st.OnStateChange = func(name string, from, to gobreaker.State) { cfg.OnStateChange(name, from.String(), to.String()) }
	}
	return &Guard{breaker: gobreaker.NewCircuitBreaker[struct{}](st), slots: make(chan struct{}, cfg.MaxInFlight), timeout: cfg.Timeout}
}

// Do runs fn with the call timeout; fn reports only the dependency's
// failures (a missing key is not one).
func (g *Guard) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	select {
	case g.slots <- struct{}{}:
		defer func() { <-g.slots }()
	default:
		return ErrUnavailable
	}
	_, err := g.breaker.Execute(func() (struct{}, error) {
		cctx, cancel := context.WithTimeout(ctx, g.timeout)
		defer cancel()
		err := fn(cctx)
		if err != nil && ctx.Err() != nil {
			return struct{}{}, callerLeft{err}
		}
		return struct{}{}, err
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return ErrUnavailable
	}
	if left, ok := errors.AsType[callerLeft](err); ok {
		return left.err
	}
	return err
}

// callerLeft is a failure of a call whose caller had given up: it says
// nothing of the dependency, and counts neither way (a half-open breaker's
// probe that ends so is not taken for a success either).
type callerLeft struct{ err error }

func (c callerLeft) Error() string { return c.err.Error() }
func (c callerLeft) Unwrap() error { return c.err }
