// Package supervise runs a process's background workers together and
// keeps them running: a worker that fails is restarted with backoff, and
// the supervisor says which workers are down, for the readiness check.
//
// The policy, for a node that must not carry on with a dead part unseen:
//   - every worker starts together, and Run returns only when all stopped;
//   - a worker that returns (with an error, or nil before its context
//     ended) is logged at ERROR, counted, and restarted after
//     resilience.Backoff's delay for its run of failures;
//   - from that failure until a restart has run for Config.Healthy, the
//     worker is down: Down names it, with its last error.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/photofeed/photofeed/resilience"
	"golang.org/x/sync/errgroup"
)

// Worker is one named part of the background work. Run works until ctx
// ends; returning earlier is a failure.
type Worker struct {
	Name string
	Run  func(ctx context.Context) error
}

// Config tunes a Supervisor. The zero value is usable.
type Config struct {
	// Backoff spaces the restarts of a worker that keeps failing; its
	// defaults are resilience.Backoff's (100 ms doubling up to 30 s).
	Backoff resilience.Backoff
	// Healthy is how long a restarted worker must run before it counts
	// as up again (and its backoff starts over); default 5 s.
	Healthy time.Duration
	// OnRestart, if set, is called before each restart, e.g. to count it.
	OnRestart func(worker string)
	Logger    *slog.Logger // default slog.Default()
	// After is the clock the delays wait on; default time.After.
	After func(time.Duration) <-chan time.Time
}

// Supervisor runs workers; see the package comment for its policy.
type Supervisor struct {
	cfg     Config
	workers []Worker

	mu   sync.Mutex
	down map[string]error // worker → why it is down
}

// New returns a supervisor for workers; names must be unique, for the
// logs, the counts and Down to be read.
func New(cfg Config, workers ...Worker) *Supervisor {
	if cfg.Healthy <= 0 {
		cfg.Healthy = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	return &Supervisor{cfg: cfg, workers: slices.Clone(workers), down: map[string]error{}}
}

// Run runs every worker until ctx ends, then waits for all of them to
// return. It returns nil: the failures are handled (and reported) here.
func (s *Supervisor) Run(ctx context.Context) error {
	var g errgroup.Group
	for _, w := range s.workers {
		g.Go(func() error { s.keep(ctx, w); return nil })
	}
	return g.Wait()
}

// Down reports the workers that failed and have not yet run for Healthy
// since, each named with its last error; nil when all are up.
func (s *Supervisor) Down() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for name, err := range s.down {
		errs = append(errs, fmt.Errorf("worker %s down: %w", name, err))
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// keep runs w, restarting it after each failure, until ctx ends.
func (s *Supervisor) keep(ctx context.Context, w Worker) {
	for failures := 0; ; {
		recovered := s.runOnce(ctx, w)
		err := ctx.Err()
		if err != nil {
			s.setDown(w.Name, nil) // stopped on purpose
			return
		}
		if recovered {
			failures = 0
		}
		err = s.lastErr(w.Name)
		delay := s.cfg.Backoff.Delay(failures)
		failures++
		s.cfg.Logger.ErrorContext(ctx, "worker failed; restarting", "worker", w.Name, "err", err,
			"failures", failures, "delay", delay)
		select {
		case <-ctx.Done():
			s.setDown(w.Name, nil)
			return
		case <-s.cfg.After(delay):
		}
		if s.cfg.OnRestart != nil {
			s.cfg.OnRestart(w.Name)
		}
	}
}

// runOnce runs w once and records its failure, if it failed. recovered
// says whether, being down, it ran for Healthy and so came up again.
func (s *Supervisor) runOnce(ctx context.Context, w Worker) (recovered bool) {
	runCtx, stop := context.WithCancel(ctx)
	var watch sync.WaitGroup
	if s.isDown(w.Name) {
		watch.Go(func() {
			select {
			case <-runCtx.Done():
			case <-s.cfg.After(s.cfg.Healthy):
				s.setDown(w.Name, nil)
				recovered = true
			}
		})
	}
	err := w.Run(runCtx)
	stop()
	watch.Wait()
	switch {
	case ctx.Err() == nil:
		if err == nil {
			err = errors.New("returned before its context ended")
		}
		s.setDown(w.Name, err)
	case err != nil && !errors.Is(err, ctx.Err()):
		// Stopping is not failing, but a worker that could not stop
		// cleanly (jobs left running, say) is worth a line.
		s.cfg.Logger.ErrorContext(context.WithoutCancel(ctx), "worker stopped with an error", "worker", w.Name, "err", err)
	}
	return recovered
}

func (s *Supervisor) setDown(name string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.down, name)
	} else {
		s.down[name] = err
	}
}

func (s *Supervisor) isDown(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.down[name]
	return ok
}

func (s *Supervisor) lastErr(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down[name]
}
