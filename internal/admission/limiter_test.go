package admission_test

import (
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/admission"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newLimiter(cfg admission.Config) (*admission.Limiter, *clock) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	cfg.Now = c.now
	if cfg.MinSamples == 0 {
		cfg.MinSamples = 2
	}
	if cfg.Window == 0 {
		cfg.Window = time.Millisecond
	}
	return admission.New(cfg), c
}

// saturate offers critical requests until the limiter refuses one, lets
// them all take rtt, and ends them: one busy window. It returns how many
// were admitted.
func saturate(t *testing.T, l *admission.Limiter, c *clock, rtt time.Duration) int {
	t.Helper()
	var tickets []admission.Ticket
	for {
		tk, ok := l.Acquire(admission.Critical)
		if !ok {
			break
		}
		tickets = append(tickets, tk)
		if len(tickets) > 10_000 {
			t.Fatal("the limiter admits without end")
		}
	}
	c.advance(rtt)
	for _, tk := range tickets {
		l.Done(tk)
	}
	return len(tickets)
}

func TestLimitFallsWhenLatencyRisesAndRecoversWhenItFalls(t *testing.T) {
	l, c := newLimiter(admission.Config{MaxLimit: 40, MinLimit: 2})
	for range 5 {
		saturate(t, l, c, 10*time.Millisecond)
	}
	if got := l.Limit(); got != 40 {
		t.Fatalf("at the unloaded latency the limit is %d, want the maximum 40", got)
	}
	// Queueing: the same work now takes four times as long. A window
	// closes at its first completion past Window, so each one holds the
	// batch before: the limit answers one batch late.
	prev := l.Limit()
	for range 3 {
		saturate(t, l, c, 40*time.Millisecond)
		if got := l.Limit(); got > prev {
			t.Fatalf("latency 4× the baseline: limit rose from %d to %d", prev, got)
		}
		prev = l.Limit()
	}
	if prev > 10 {
		t.Errorf("after three slow windows the limit is %d, want it at most a quarter of 40", prev)
	}
	for range 30 {
		saturate(t, l, c, 10*time.Millisecond)
	}
	if got := l.Limit(); got != 40 {
		t.Errorf("latency back to the baseline: limit %d, want it back at 40", got)
	}
}

// When the work itself gets slower for good (a dependency fails over, the
// mix changes), the latency stays up however few requests are admitted:
// the limit falls to its floor, and there the latency is the new unloaded
// one, so the limit must climb back rather than stay at the floor and
// turn most requests away.
func TestLimitRecoversWhenTheWorkItselfGetsSlower(t *testing.T) {
	l, c := newLimiter(admission.Config{MaxLimit: 40, MinLimit: 2})
	for range 5 {
		saturate(t, l, c, 10*time.Millisecond)
	}
	for range 10 {
		saturate(t, l, c, 30*time.Millisecond)
	}
	if got := l.Limit(); got > 4 {
		t.Fatalf("after ten windows at 3× the latency the limit is %d, want it near the floor", got)
	}
	for range 60 {
		saturate(t, l, c, 30*time.Millisecond) // no queueing: every request takes 30 ms, however many
	}
	if got := l.Limit(); got < 40 {
		t.Errorf("the work slower for good, without queueing: limit %d, want it back at 40", got)
	}
}

func TestLimitHoldsWithinTolerance(t *testing.T) {
	l, c := newLimiter(admission.Config{MaxLimit: 40, Tolerance: 1.5})
	saturate(t, l, c, 10*time.Millisecond)
	for range 3 {
		saturate(t, l, c, 14*time.Millisecond)
	}
	if got := l.Limit(); got != 40 {
		t.Errorf("latency 1.4× the baseline, within a tolerance of 1.5: limit %d, want 40", got)
	}
}

// An idle node's slow requests (a long upload, a cold cache) say nothing
// of its capacity: the limit stays where it is.
func TestIdleNodeKeepsItsLimit(t *testing.T) {
	l, c := newLimiter(admission.Config{MaxLimit: 40})
	for i := range 20 {
		rtt := 10 * time.Millisecond
		if i > 2 {
			rtt = time.Second
		}
		a, _ := l.Acquire(admission.Critical)
		b, _ := l.Acquire(admission.Critical)
		c.advance(rtt)
		l.Done(a)
		l.Done(b)
	}
	if got := l.Limit(); got != 40 {
		t.Errorf("two requests in flight of 40 allowed, slow ones: limit %d, want 40", got)
	}
}

func TestFixedLimitIgnoresLatency(t *testing.T) {
	l, c := newLimiter(admission.Config{MaxLimit: 8, Fixed: true})
	saturate(t, l, c, 10*time.Millisecond)
	if n := saturate(t, l, c, time.Second); n != 8 {
		t.Errorf("fixed limit 8 admitted %d", n)
	}
	if got := l.Limit(); got != 8 {
		t.Errorf("fixed limit 8 became %d", got)
	}
}

// At saturation the critical requests get the room the sheddable ones
// may not use, and a dropped request's latency does not count.
func TestCriticalAdmittedOverSheddable(t *testing.T) {
	l, _ := newLimiter(admission.Config{MaxLimit: 8, SheddableShare: 0.5, Fixed: true})
	var held []admission.Ticket
	for range 4 {
		tk, ok := l.Acquire(admission.Sheddable)
		if !ok {
			t.Fatal("a sheddable request was refused with half the limit free")
		}
		held = append(held, tk)
	}
	if _, ok := l.Acquire(admission.Sheddable); ok {
		t.Fatal("a sheddable request was admitted past its half of the limit")
	}
	for range 4 {
		tk, ok := l.Acquire(admission.Critical)
		if !ok {
			t.Fatal("a critical request was refused below the limit")
		}
		held = append(held, tk)
	}
	if _, ok := l.Acquire(admission.Critical); ok {
		t.Fatal("a critical request was admitted past the limit")
	}
	if _, ok := l.Acquire(admission.Exempt); !ok {
		t.Fatal("an exempt request was refused")
	}
	if got := l.Inflight(); got != 8 {
		t.Errorf("in flight %d, want 8 (the exempt one is not counted)", got)
	}
	for _, tk := range held {
		l.Drop(tk)
	}
	if got := l.Inflight(); got != 0 {
		t.Errorf("in flight %d after all ended, want 0", got)
	}
}
