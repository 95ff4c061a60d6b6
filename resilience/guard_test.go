package resilience_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/resilience"
)

func TestGuard(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")

	t.Run("timeout", func(t *testing.T) {
		g := resilience.NewGuard("t", resilience.GuardConfig{Timeout: 20 * time.Millisecond})
		start := time.Now()
		err := g.Do(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
			t.Fatalf("slow call: %v after %v", err, time.Since(start))
		}
	})

	t.Run("breaker opens after five failures and closes after OpenFor", func(t *testing.T) {
		var changes []string
		g := resilience.NewGuard("b", resilience.GuardConfig{OpenFor: 50 * time.Millisecond,
			OnStateChange: func(_, from, to string) { changes = append(changes, from+">"+to) }})
		calls := 0
		fail := func(context.Context) error { calls++; return boom }
		for range 5 {
			if err := g.Do(ctx, fail); !errors.Is(err, boom) {
				t.Fatalf("failure passed through as %v", err)
			}
		}
		if err := g.Do(ctx, fail); !errors.Is(err, resilience.ErrUnavailable) || calls != 5 {
			t.Fatalf("sixth call: %v, %d calls made; want the breaker open and no call", err, calls)
		}
		if !testenv.Poll(5*time.Second, func() bool {
			return g.Do(ctx, func(context.Context) error { return nil }) == nil
		}) {
			t.Fatal("the breaker never let a call through again")
		}
		if len(changes) < 2 || changes[0] != "closed>open" {
			t.Fatalf("state changes %v", changes)
		}
	})

	t.Run("calls whose caller left count for nothing", func(t *testing.T) {
		g := resilience.NewGuard("c", resilience.GuardConfig{OpenFor: time.Hour})
		left, leave := context.WithCancel(ctx)
		leave()
		for range 4 {
			g.Do(ctx, func(context.Context) error { return boom })
		}
		// Neither a failure (five in a row would open it) nor a success
		// (which would start the count again).
		for range 3 {
			if err := g.Do(left, func(ctx context.Context) error { return ctx.Err() }); !errors.Is(err, context.Canceled) {
				t.Fatalf("a call whose caller left: %v", err)
			}
		}
		if err := g.Do(ctx, func(context.Context) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("fifth failure: %v", err)
		}
		if err := g.Do(ctx, func(context.Context) error { return nil }); !errors.Is(err, resilience.ErrUnavailable) {
			t.Fatalf("after five failures with three abandoned calls between: %v, want the breaker open", err)
		}
	})

	t.Run("bulkhead", func(t *testing.T) {
		g := resilience.NewGuard("h", resilience.GuardConfig{MaxInFlight: 2, Timeout: time.Minute})
		release := make(chan struct{})
		var started, done sync.WaitGroup
		for range 2 {
			started.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				g.Do(ctx, func(context.Context) error { started.Done(); <-release; return nil })
			}()
		}
		started.Wait()
		if err := g.Do(ctx, func(context.Context) error { return nil }); !errors.Is(err, resilience.ErrUnavailable) {
			t.Fatalf("third call with two in flight: %v", err)
		}
		close(release)
		done.Wait()
		for range 10 { // a full bulkhead is load, not a fault: the breaker stays closed
			if err := g.Do(ctx, func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
	})
}
