package supervise_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/supervise"
	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/resilience"
)

// clock fires every delay at once, except Healthy's, which fires when the
// test says so: a restarted worker stays down until then.
type clock struct {
	healthy time.Duration
	fire    chan time.Time
	mu      sync.Mutex
	delays  []time.Duration // the backoff delays asked for
}

func newClock() *clock { return &clock{healthy: time.Hour, fire: make(chan time.Time)} }

func (c *clock) After(d time.Duration) <-chan time.Time {
	if d == c.healthy {
		return c.fire
	}
	c.mu.Lock()
	c.delays = append(c.delays, d)
	c.mu.Unlock()
	now := make(chan time.Time, 1)
	now <- time.Time{}
	return now
}

func (c *clock) config(restarts *atomic.Int64, logs io.Writer) supervise.Config {
	return supervise.Config{
		Backoff:   resilience.Backoff{Base: time.Millisecond, Max: time.Second, Rand: func(int64) int64 { return 0 }},
		Healthy:   c.healthy,
		OnRestart: func(string) { restarts.Add(1) },
		Logger:    slog.New(slog.NewTextHandler(logs, nil)),
		After:     c.After,
	}
}

// A worker that fails three times is restarted three times, with growing
// delays; it is down from its first failure until a restart has run for
// Healthy, and up after.
func TestRestartsAFailingWorkerWithBackoff(t *testing.T) {
	c := newClock()
	var restarts atomic.Int64
	var runs atomic.Int64
	running := make(chan struct{})
	flaky := supervise.Worker{Name: "flaky", Run: func(ctx context.Context) error {
		if runs.Add(1) <= 3 {
			return errors.New("subscription lost")
		}
		close(running)
		<-ctx.Done()
		return ctx.Err()
	}}
	steady := supervise.Worker{Name: "steady", Run: func(ctx context.Context) error { <-ctx.Done(); return nil }}
	var logs bytes.Buffer // read once Run has returned
	s := supervise.New(c.config(&restarts, &logs), flaky, steady)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	<-running
	if got := restarts.Load(); got != 3 {
		t.Errorf("restarts = %d, want 3", got)
	}
	c.mu.Lock()
	delays := c.delays
	c.mu.Unlock()
	if want := []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}; !slices.Equal(delays, want) {
		t.Errorf("delays %v, want %v", delays, want)
	}
	err := s.Down()
	if err == nil || !strings.Contains(err.Error(), "worker flaky down: subscription lost") || strings.Contains(err.Error(), "steady") {
		t.Fatalf("Down() = %v, want flaky named with its error, and only it", err)
	}
	c.fire <- time.Time{} // the restart has run for Healthy
	testenv.Eventually(t, "the restarted worker up", 5*time.Second, func() bool { return s.Down() == nil })

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := restarts.Load(); got != 3 {
		t.Errorf("restarts after stop = %d, want 3 (none for the stop)", got)
	}
	if got := strings.Count(logs.String(), `level=ERROR msg="worker failed; restarting" worker=flaky err="subscription lost"`); got != 3 {
		t.Errorf("%d restarts logged at ERROR, want 3:\n%s", got, logs.String())
	}
}

// A worker that returns nil while the node runs has stopped all the
// same: it is down and restarted.
func TestAWorkerReturningEarlyIsAFailure(t *testing.T) {
	c := newClock()
	var restarts atomic.Int64
	var runs atomic.Int64
	again := make(chan struct{})
	s := supervise.New(c.config(&restarts, io.Discard), supervise.Worker{Name: "quitter", Run: func(ctx context.Context) error {
		if runs.Add(1) == 1 {
			return nil
		}
		close(again)
		<-ctx.Done()
		return nil
	}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-again
	if err := s.Down(); err == nil || !strings.Contains(err.Error(), "quitter") {
		t.Errorf("Down() = %v, want quitter named", err)
	}
	if restarts.Load() != 1 {
		t.Errorf("restarts = %d, want 1", restarts.Load())
	}
	cancel()
	<-done
	if err := s.Down(); err != nil {
		t.Errorf("after a stop on purpose, Down() = %v", err)
	}
}

// Ending the context stops every worker — running, failing over and over,
// or waiting out a backoff delay — and Run returns only once they all
// returned, leaving no goroutine behind.
func TestCancelStopsEveryWorker(t *testing.T) {
	before := runtime.NumGoroutine()
	var active atomic.Int64
	started := make(chan struct{}, 4)
	blocking := func(ctx context.Context) error {
		active.Add(1)
		defer active.Add(-1)
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	var failures atomic.Int64
	failing := func(ctx context.Context) error {
		failures.Add(1)
		return errors.New("always")
	}
	waiting := make(chan struct{}) // the delay of a backoff that never ends
	cfg := supervise.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		After: func(time.Duration) <-chan time.Time {
			select {
			case <-waiting:
			default:
				close(waiting)
			}
			return nil
		}}
	s := supervise.New(cfg,
		supervise.Worker{Name: "a", Run: blocking}, supervise.Worker{Name: "b", Run: blocking},
		supervise.Worker{Name: "c", Run: blocking}, supervise.Worker{Name: "failing", Run: failing})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for range 3 {
		<-started
	}
	<-waiting
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if n := active.Load(); n != 0 {
		t.Fatalf("%d workers still running after Run returned", n)
	}
	if n := failures.Load(); n != 1 {
		t.Errorf("failing worker ran %d times, want 1 (its restart waits on the delay)", n)
	}
	testenv.Eventually(t, "the goroutines gone", 5*time.Second, func() bool { return runtime.NumGoroutine() <= before })
}
