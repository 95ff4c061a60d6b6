// Package admission sheds load before a node saturates: it bounds the
// requests in flight with a limit that adapts to their latency, and lets
// the less important ones use only part of it, so that at saturation the
// requests it admits keep their usual latency and the rest are turned away
// at once instead of every request slowing down. It knows HTTP, nothing
// of photos or users: the caller says which requests matter.
package admission

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Class is how much a request matters when there is not room for all.
type Class int

const (
	// Critical requests may use the whole limit.
	Critical Class = iota
	// Sheddable requests may use only Config.SheddableShare of it: at
	// saturation they are turned away first.
	Sheddable
	// Exempt requests are never turned away and not counted (health
	// checks, long-lived streams).
	Exempt
)

func (c Class) String() string {
	switch c {
	case Critical:
		return "critical"
	case Sheddable:
		return "sheddable"
	default:
		return "exempt"
	}
}

// Config describes a Limiter. Zero fields take the defaults given.
type Config struct {
	// MaxLimit is the most requests in flight at once, and where the
	// limit starts (default 512).
	MaxLimit int
	// MinLimit is the lowest the limit falls (default 4).
	MinLimit int
	// Fixed keeps the limit at MaxLimit: no adapting to latency.
	Fixed bool
	// SheddableShare is the part of the limit Sheddable requests may use
	// (default 0.75).
	SheddableShare float64
	// Tolerance is how far a window's median latency may rise above the
	// unloaded one before the limit falls (default 1.3).
	Tolerance float64
	// Window is the shortest time between two changes of the limit, and
	// MinSamples the fewest completed requests it takes (defaults 100ms
	// and 10).
	Window     time.Duration
	MinSamples int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.MaxLimit <= 0 {
		c.MaxLimit = 512
	}
	if c.MinLimit <= 0 {
		c.MinLimit = 4
	}
	c.MinLimit = min(c.MinLimit, c.MaxLimit)
	if c.SheddableShare <= 0 || c.SheddableShare > 1 {
		c.SheddableShare = 0.75
	}
	if c.Tolerance <= 1 {
		c.Tolerance = 1.3
	}
	if c.Window <= 0 {
		c.Window = 100 * time.Millisecond
	}
	if c.MinSamples <= 0 {
		c.MinSamples = 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Limiter admits requests while fewer than its limit are in flight.
//
// The limit follows the latency of what it admits, in the manner of
// Netflix's gradient limiter: each window (Config.Window, at least
// MinSamples requests) compares the median latency with the unloaded
// latency, the baseline. Queueing inside the node shows as a median
// above Tolerance × baseline, and the limit falls in proportion (by half
// at most); a window within it raises the limit by a tenth. The limit
// only moves while the node is busy (at least half the limit in flight):
// an idle node's latency says nothing of its capacity. The baseline is
// the lowest busy median seen, and while the node is not busy, or the
// limit is at its floor, it follows the latency, so that a change in the
// work's own cost moves it.
type Limiter struct {
	cfg Config

	mu       sync.Mutex
	limit    float64
	inflight int
	baseline time.Duration // 0 until the first window
	win      window
}

// window is the completions since the limit last moved.
type window struct {
	start       time.Time
	rtts        []time.Duration
	maxInflight int
}

func New(cfg Config) *Limiter {
	cfg.defaults()
	return &Limiter{cfg: cfg, limit: float64(cfg.MaxLimit), win: window{start: cfg.Now()}}
}

// Ticket is an admitted request, to be given to Done or Drop.
type Ticket struct{ start time.Time }

// Acquire admits a request of class c, or reports that there is no room.
// Exempt requests are always admitted and need no Done.
func (l *Limiter) Acquire(c Class) (Ticket, bool) {
	if c == Exempt {
		return Ticket{}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	room := math.Floor(l.limit)
	if c == Sheddable {
		room = max(1, math.Floor(l.limit*l.cfg.SheddableShare))
	}
	if float64(l.inflight) >= room {
		return Ticket{}, false
	}
	l.inflight++
	l.win.maxInflight = max(l.win.maxInflight, l.inflight)
	return Ticket{start: l.cfg.Now()}, true
}

// Done ends an admitted request; its latency counts.
func (l *Limiter) Done(t Ticket) { l.release(t, true) }

// Drop ends an admitted request whose latency says nothing of the node's
// load (its client went away, say).
func (l *Limiter) Drop(t Ticket) { l.release(t, false) }

func (l *Limiter) release(t Ticket, sample bool) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	if !sample || l.cfg.Fixed {
		return
	}
	l.win.rtts = append(l.win.rtts, now.Sub(t.start))
	if len(l.win.rtts) >= l.cfg.MinSamples && now.Sub(l.win.start) >= l.cfg.Window {
		l.adapt()
		l.win = window{start: now, rtts: l.win.rtts[:0], maxInflight: l.inflight}
	}
}

// adapt moves the limit and the baseline at the end of a window.
func (l *Limiter) adapt() {
	slices.Sort(l.win.rtts)
	median := l.win.rtts[len(l.win.rtts)/2]
	busy := float64(l.win.maxInflight) >= l.limit/2
	switch {
	case l.baseline == 0:
		l.baseline = median
	case !busy:
		l.baseline += (median - l.baseline) / 5
	case l.limit <= float64(l.cfg.MinLimit):
		// At its floor the limit admits too few requests to queue: the
		// latency there is the work's own, and the baseline follows it
		// (the work got slower for good: a failover, another mix). Else
		// the limit would sit at the floor, turning most requests away.
		l.baseline += (median - l.baseline) / 5
	default:
		l.baseline = min(l.baseline, median)
	}
	if !busy {
		return
	}
	target := l.cfg.Tolerance * float64(l.baseline)
	if float64(median) > target {
		l.limit *= max(0.5, target/float64(median))
	} else {
		l.limit += l.limit / 10
	}
	l.limit = min(max(l.limit, float64(l.cfg.MinLimit)), float64(l.cfg.MaxLimit))
}

// Limit is the requests admitted in flight at once now.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// Inflight is the requests admitted and not yet done.
func (l *Limiter) Inflight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight
}
