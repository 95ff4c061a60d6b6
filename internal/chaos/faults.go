package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// planned is one fault of the schedule.
type planned struct {
	kind   Kind
	target string
	at     time.Duration // after the workload starts
}

// plan is the run's faults in order, and which are in flight now (for
// the progress line).
type plan struct {
	faults []planned
	gap    time.Duration // the least quiet time between one fault's end and the next
	lastAt time.Duration // no fault starts later in the run than this
	last   time.Time     // lastAt as a time (set by run)
	mu     sync.Mutex
	now    []string
}

// schedule spreads the faults over the middle of the run: none in the
// first tenth (the baseline) nor the last fifth (so the last one's
// recovery is seen), each in its own slot at a time, and on a target,
// the seed picks.
func schedule(cfg Config) *plan {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed))
	kinds := append([]Kind(nil), cfg.Faults...)
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	first, last := cfg.Duration/10, cfg.Duration*8/10
	p := &plan{gap: min(5*time.Second, cfg.Duration/20), lastAt: last}
	if len(kinds) == 0 {
		return p
	}
	slot := (last - first) / time.Duration(len(kinds))
	for i, k := range kinds {
		at := first + time.Duration(i)*slot + time.Duration(rng.Int64N(int64(slot)/4+1))
		target := ""
		if len(k.Targets) > 0 {
			target = k.Targets[rng.IntN(len(k.Targets))]
		}
		p.faults = append(p.faults, planned{kind: k, target: target, at: at})
	}
	return p
}

// FaultResult is what one fault did.
type FaultResult struct {
	Kind     string    `json:"kind"`
	Target   string    `json:"target,omitempty"`
	Injected time.Time `json:"injected"`
	Restored time.Time `json:"restored"`
	// InjectError or RestoreError, when the fault could not be made or
	// undone: the run is then no proof of anything about it.
	InjectError  string `json:"inject_error,omitempty"`
	RestoreError string `json:"restore_error,omitempty"`
	// Failed attempts and operations while it was the latest fault.
	FailedAttempts   int `json:"failed_attempts"`
	FailedOperations int `json:"failed_operations"`
	// FirstError to LastError is the time the fault took to be absorbed
	// (0 when no request failed: it was absorbed at once).
	FirstError *time.Time `json:"first_error,omitempty"`
	LastError  *time.Time `json:"last_error,omitempty"`
	AbsorbedMS int64      `json:"absorbed_ms"`
	// RecoveredMS is from the injection to the last error.
	RecoveredMS int64 `json:"recovered_ms"`
}

// run injects and restores each fault at its time; it returns when all
// are restored (or ctx ends, restoring the one in flight).
func (p *plan) run(ctx context.Context, start time.Time, live *liveStats) []FaultResult {
	p.last = start.Add(p.lastAt)
	var out []FaultResult
	var restored time.Time
	for _, f := range p.faults {
		// A fault that held longer than its slot pushes the next one back:
		// each is given a quiet gap after the one before, so what went
		// wrong is charged to the fault that caused it, not its successor.
		at := start.Add(f.at)
		if gap := restored.Add(p.gap); at.Before(gap) {
			at = gap
		}
		r := FaultResult{Kind: f.kind.Name, Target: f.target}
		if at.After(p.last) {
			r.Injected, r.Restored = at, at
			r.InjectError = fmt.Sprintf("no time left in the run (due at %s, the faults' part of the run ended at %s): a shorter --hold or a longer --duration",
				at.Sub(start).Round(time.Second), p.last.Sub(start).Round(time.Second))
			out = append(out, r)
			continue
		}
		select {
		case <-ctx.Done():
			return out
		case <-time.After(time.Until(at)):
		}
		r.Injected = time.Now()
		label := f.kind.Name
		if f.target != "" {
			label += "(" + f.target + ")"
		}
		p.set(label)
		if err := f.kind.Inject(context.WithoutCancel(ctx), f.target); err != nil {
			r.InjectError = err.Error()
		} else {
			if f.kind.Hold > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(f.kind.Hold):
				}
			}
			// Restored even when the run is cut short: a broken
			// deployment must not outlive the experiment.
			if err := f.kind.Restore(context.WithoutCancel(ctx), f.target); err != nil {
				r.RestoreError = err.Error()
			}
		}
		r.Restored = time.Now()
		restored = r.Restored
		p.set("")
		out = append(out, r)
	}
	return out
}

func (p *plan) set(label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if label == "" {
		p.now = nil
	} else {
		p.now = []string{label}
	}
}

func (p *plan) inFlight() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.now) == 0 {
		return "none"
	}
	return fmt.Sprint(p.now)
}
