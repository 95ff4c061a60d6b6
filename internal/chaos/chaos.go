// Package chaos proves availability by experiment: it drives a bounded
// mixed workload through a running photofeed deployment as a real client
// would (idempotent reads and keyed writes, retried with backoff), breaks
// parts of the deployment on a schedule derived from a seed, and then
// audits what the deployment kept: every acknowledged write present
// exactly once, every post ready, feeds that agree with the follow graph,
// no orphaned blobs, no job left behind. It knows nothing of how the
// deployment was started: the faults are given to it as functions.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Config is one run.
type Config struct {
	Entry    string        // the URL clients use (the gateway)
	Duration time.Duration // how long the workload runs; faults fall inside it
	Seed     int64         // decides the schedule, the targets and the workload's choices
	Clients  int           // concurrent clients, default 4
	Rate     float64       // operations per second over all clients, default 20
	Target   float64       // the availability objective, default 0.9999
	Faults   []Kind        // injected in an order and at times the seed picks
	// Patience is how long a client keeps retrying one operation before
	// it counts as failed, default 15s.
	Patience time.Duration
	// Settle is how long the audit waits for the deployment to converge
	// (posts ready, feeds filled, jobs done) before it reports what is
	// still off, default 90s.
	Settle time.Duration
	// DB is the PostgreSQL URL, for the jobs audit; "" skips it.
	DB string
	// MediaDir is where the deployment keeps blobs, for the orphan
	// audit; "" skips it.
	MediaDir string
	Progress io.Writer // a line every few seconds; nil for none
	Now      func() time.Time
}

// Kind is one kind of fault: where it can strike and how to inject and
// undo it.
type Kind struct {
	Name    string
	Targets []string // one is picked by the seed
	// Hold is how long the fault lasts before Restore (0: restore at
	// once, as a supervisor restarting a killed process would).
	Hold    time.Duration
	Inject  func(ctx context.Context, target string) error
	Restore func(ctx context.Context, target string) error
}

func (c *Config) defaults() error {
	if c.Clients <= 0 {
		c.Clients = 4
	}
	if c.Rate <= 0 {
		c.Rate = 20
	}
	if c.Target <= 0 {
		c.Target = 0.9999
	}
	if c.Patience <= 0 {
		c.Patience = 15 * time.Second
	}
	if c.Settle <= 0 {
		c.Settle = 90 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	switch {
	case c.Entry == "":
		return errors.New("chaos: no entry URL")
	case c.Duration <= 0:
		return errors.New("chaos: the duration must be positive")
	case c.Target >= 1:
		return fmt.Errorf("chaos: a target of %v leaves no error budget: it must be below 1", c.Target)
	}
	return nil
}

// Run runs the workload with the faults, then the audit, and returns the
// report. An error means the run itself could not be made (the setup
// failed); what the deployment got wrong is in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	w := newWorkload(cfg)
	if err := w.setup(ctx); err != nil {
		return nil, fmt.Errorf("chaos: setup: %w", err)
	}
	sched := schedule(cfg)
	start := cfg.Now()
	faultsDone := make(chan []FaultResult, 1)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { faultsDone <- sched.run(runCtx, start, w.live) }()
	stopProgress := w.progress(runCtx, start, sched)
	w.drive(runCtx, start)
	faults := <-faultsDone // every fault restored before the audit
	stopProgress()
	r := w.report(start, faults)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	r.Audit = audit(ctx, cfg, w)
	r.judge()
	return r, nil
}
