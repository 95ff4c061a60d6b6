package ratelimit

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Memory is an in-process Limiter. Keys are spread over shards, each with
// its own lock, so decisions on different keys rarely contend. Memory is
// bounded: a shard that reaches its share of MaxKeys first drops keys idle
// long enough to be whole again (forgetting them changes nothing), then, if
// still full, arbitrary keys (which then start afresh).
type Memory struct {
	nanos    func() int64 // the clock, in ns
	seed     maphash.Seed
	shards   []memShard
	perShard int
}

// MemoryConfig configures NewMemory; zero values take the defaults.
type MemoryConfig struct {
	Shards  int              // default 64
	MaxKeys int              // default 1,000,000
	Now     func() time.Time // default: the monotonic clock (see monotonicNanos)
}

type memShard struct {
	mu   sync.Mutex
	keys map[string]*state
	_    [48]byte // pad to 64 bytes: neighbouring shards' locks on separate cache lines
}

// state is one key's counters; which fields matter depends on the algorithm.
type state struct {
	alg    Algorithm
	window int64 // ns
	last   int64 // ns of the last decision

	start     int64 // counter: start of the current window; bucket: the tat
	cur, prev int   // counter: requests in the current and previous window

	log  []int64 // log: a ring of request times, oldest at head
	head int
	n    int
}

func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.Shards <= 0 {
		cfg.Shards = 64
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 1_000_000
	}
	nanos := monotonicNanos()
	if now := cfg.Now; now != nil {
		nanos = func() int64 { return now().UnixNano() }
	}
	m := &Memory{nanos: nanos, seed: maphash.MakeSeed(), shards: make([]memShard, cfg.Shards),
		perShard: max(1, cfg.MaxKeys/cfg.Shards)}
	for i := range m.shards {
		m.shards[i].keys = make(map[string]*state)
	}
	return m
}

var _ Limiter = (*Memory)(nil)

// monotonicNanos is a clock in ns that reads only the monotonic clock:
// time.Since of a time carrying a monotonic reading makes one clock read
// where time.Now makes two (wall and monotonic), and the read is most of a
// decision's cost on a virtual machine (55 of ~100 ns on kvm-clock). The
// decisions need only differences of times, which a wall clock stepped
// by NTP would also distort.
func monotonicNanos() func() int64 {
	epoch := time.Now()
	base := epoch.UnixNano()
	return func() int64 { return base + int64(time.Since(epoch)) }
}

// Len is the number of keys held.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		m.shards[i].mu.Lock()
		n += len(m.shards[i].keys)
		m.shards[i].mu.Unlock()
	}
	return n
}

func (m *Memory) AllowN(_ context.Context, key string, l Limit, n int) (Decision, error) {
	if err := l.validate(); err != nil {
		return Decision{}, err
	}
	now := m.nanos()
	sh := &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]
	sh.mu.Lock()
	d := m.decide(sh, key, l, n, now)
	sh.mu.Unlock()
	return d, nil
}

func (m *Memory) decide(sh *memShard, key string, l Limit, n int, now int64) Decision {
	st := sh.keys[key]
	if st == nil || st.alg != l.Algorithm || st.window != int64(l.Window) {
		if n <= 0 { // a look at, or a refund to, an unknown key: a fresh quota
			return Decision{Allowed: true, Remaining: l.Requests}
		}
		if len(sh.keys) >= m.perShard {
			m.evict(sh, now)
		}
		st = newState(l, now)
		sh.keys[key] = st
	}
	st.last = now
	switch l.Algorithm {
	case TokenBucket:
		return st.tokenBucket(l, now, n)
	case SlidingWindowLog:
		return st.windowLog(l, now, n)
	default:
		return st.windowCounter(l, now, n)
	}
}

func newState(l Limit, now int64) *state {
	st := &state{alg: l.Algorithm, window: int64(l.Window), last: now}
	switch l.Algorithm {
	case TokenBucket:
		st.start = now // tat: a full bucket
	case SlidingWindowLog:
		st.log = make([]int64, l.Requests)
	default:
		st.start = now - now%st.window
	}
	return st
}

// evict makes room in a full shard: idle keys first, then any.
func (m *Memory) evict(sh *memShard, now int64) {
	for k, st := range sh.keys {
		if now-st.last >= 2*st.window {
			delete(sh.keys, k)
		}
	}
	for k := range sh.keys {
		if len(sh.keys) < m.perShard {
			break
		}
		delete(sh.keys, k)
	}
}

func dur(ns float64) time.Duration {
	if ns <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(ns))
}

// tokenBucket runs the bucket as GCRA (the generic cell rate algorithm):
// instead of a token count it keeps the theoretical arrival time (tat) of
// the next request at the sustained rate, in integer nanoseconds, so every
// decision and every RetryAfter is exact. A full bucket of Requests tokens
// is a tolerance of Requests emission intervals.
func (st *state) tokenBucket(l Limit, now int64, n int) Decision {
	interval := st.window / int64(l.Requests)
	burst := interval * int64(l.Requests)
	tat := max(st.start, now) // st.start holds the tat
	if n < 0 {
		tat = max(now, tat+int64(n)*interval)
		st.start = tat
		return Decision{Allowed: true, Remaining: int((now - (tat - burst)) / interval), Reset: time.Duration(tat - now)}
	}
	need := int64(max(n, 1))
	allowAt := tat + need*interval - burst
	d := Decision{Allowed: now >= allowAt}
	if d.Allowed && n > 0 {
		tat += int64(n) * interval
		st.start = tat
	}
	if !d.Allowed {
		d.RetryAfter = time.Duration(allowAt - now)
	}
	d.Remaining = int((now - (tat - burst)) / interval)
	d.Reset = time.Duration(max(0, tat-now))
	return d
}

func (st *state) windowLog(l Limit, now int64, n int) Decision {
	// drop entries that have left the window
	for st.n > 0 && st.log[st.head] <= now-st.window {
		st.head = (st.head + 1) % len(st.log)
		st.n--
	}
	if n < 0 {
		st.n = max(0, st.n+n) // the newest entries go
	}
	need := max(n, 1)
	d := Decision{Allowed: n < 0 || st.n+need <= l.Requests}
	if d.Allowed && n > 0 {
		for range n {
			st.log[(st.head+st.n)%len(st.log)] = now
			st.n++
		}
	}
	d.Remaining = l.Requests - st.n
	switch {
	case d.Allowed:
	case need > l.Requests:
		d.RetryAfter = time.Duration(math.MaxInt64) // never fits
	default:
		// the request fits once enough of the oldest entries expire
		k := st.n + need - l.Requests
		d.RetryAfter = time.Duration(st.log[(st.head+k-1)%len(st.log)] + st.window - now)
	}
	if st.n > 0 {
		newest := st.log[(st.head+st.n-1)%len(st.log)]
		d.Reset = time.Duration(newest + st.window - now)
	}
	return d
}

func (st *state) windowCounter(l Limit, now int64, n int) Decision {
	w := st.window
	if now >= st.start+w { // roll windows forward
		if now >= st.start+2*w {
			st.prev = 0
		} else {
			st.prev = st.cur
		}
		st.cur = 0
		st.start = now - now%w
	}
	if n < 0 {
		back := min(-n, st.cur)
		st.cur -= back
		st.prev = max(0, st.prev-(-n-back)) // reserved just before the window rolled
	}
	need := max(n, 1)
	d := Decision{Allowed: n < 0 || st.fits(l.Requests, need, now-st.start)}
	if d.Allowed && n > 0 {
		st.cur += n
	}
	d.Remaining = max(0, int(math.Floor(float64(l.Requests)-st.estimate(now-st.start)+1e-9)))
	if !d.Allowed {
		d.RetryAfter = st.counterWait(l.Requests, need, now-st.start)
	}
	// whole again once both windows' counts have aged out
	if st.cur > 0 {
		d.Reset = time.Duration(st.start + 2*w - now)
	} else if st.prev > 0 {
		d.Reset = time.Duration(st.start + w - now)
	}
	return d
}

// estimate is the weighted count elapsed ns into the current window.
func (st *state) estimate(elapsed int64) float64 {
	return float64(st.prev)*(1-float64(elapsed)/float64(st.window)) + float64(st.cur)
}

// fits is the counter's one decision rule, shared by AllowN and the wait
// computation so the two always agree.
func (st *state) fits(limit, need int, elapsed int64) bool {
	return st.estimate(elapsed)+float64(need) <= float64(limit)
}

// counterWait is how long until need more requests fit, with the windows
// rolling over on the way. The closed form gives the time to within a
// rounding error; the nudges make it the exact first nanosecond at which
// fits holds.
func (st *state) counterWait(limit, need int, elapsed int64) time.Duration {
	if need > limit {
		return time.Duration(math.MaxInt64)
	}
	w := float64(st.window)
	cur, prev := float64(st.cur), float64(st.prev)
	// at wait t into the future, inside this window or the next
	at := func(t int64) bool {
		e := elapsed + t
		if e < st.window {
			return st.fits(limit, need, e)
		}
		next := state{window: st.window, prev: st.cur}
		return next.fits(limit, need, e-st.window)
	}
	var t float64
	if cur+float64(need) <= float64(limit) && prev > 0 {
		t = w*(1-(float64(limit)-cur-float64(need))/prev) - float64(elapsed)
	} else {
		t = w - float64(elapsed)
		if cur > 0 {
			t += max(0, w*(1-float64(limit-need)/cur))
		}
	}
	ns := max(1, int64(math.Ceil(t)))
	for ns > 1 && at(ns-1) {
		ns--
	}
	for !at(ns) {
		ns++
	}
	return time.Duration(ns)
}
