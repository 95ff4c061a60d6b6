package gateway

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
)

// Balancing policies, as Config.Policy and Route.Policy name them.
const (
	PolicyRoundRobin       = "round-robin"
	PolicyLeastOutstanding = "least-outstanding"
	PolicyP2C              = "p2c" // power of two choices
	PolicyHash             = "hash"
)

// balancer picks the upstream for one attempt. It reserves the upstream
// through c.take, which may refuse (full bulkhead, breaker probe taken);
// it then tries another, and returns nil when none would take it.
type balancer interface {
	pick(c *choice) *upstream
}

func newBalancer(policy string) (balancer, error) {
	switch policy {
	case PolicyRoundRobin:
		return &roundRobin{}, nil
	case PolicyLeastOutstanding:
		return leastOutstanding{}, nil
	case PolicyP2C:
		return powerOfTwo{}, nil
	case PolicyHash:
		return boundedHash{}, nil
	}
	return nil, fmt.Errorf("gateway: unknown balancing policy %q (want %s, %s, %s or %s)",
		policy, PolicyRoundRobin, PolicyLeastOutstanding, PolicyP2C, PolicyHash)
}

// choice is one attempt's view of the upstream set: which members may be
// offered the request, and how to reserve one.
type choice struct {
	set    *upstreamSet
	usable []bool // by index in set.list
	count  int    // how many are usable
	key    string // for the hash policy
	limit  int64  // the bulkhead, or the stream limit
	stream bool   // an event stream: balanced by, and counted in, streams held
	// reserve takes a slot on u under limit in-flight requests, and its
	// breaker's permission.
	reserve func(u *upstream, limit int64) bool
}

// loadOf is what the policies compare: u's requests in flight, or for a
// stream its streams held open, which say nothing of each other.
func (c *choice) loadOf(u *upstream) int64 {
	if c.stream {
		return u.streams.Load()
	}
	return u.inflight.Load()
}

// take reserves member i under limit, or marks it unusable for the rest
// of the choice.
func (c *choice) take(i int, limit int64) bool {
	if !c.usable[i] {
		return false
	}
	u := c.set.list[i]
	if c.reserve(u, min(limit, c.limit)) {
		return true
	}
	if limit < c.limit && c.loadOf(u) >= limit {
		return false // only over a load bound below the bulkhead: it may take the request once others carry more
	}
	c.usable[i] = false
	c.count--
	return false
}

type roundRobin struct{ next atomic.Uint64 }

func (rr *roundRobin) pick(c *choice) *upstream {
	n := uint64(len(c.set.list))
	start := rr.next.Add(1) - 1
	for i := range n {
		if j := int((start + i) % n); c.take(j, c.limit) {
			return c.set.list[j]
		}
	}
	return nil
}

// leastOutstanding sends the request where the fewest are in flight: the
// best spread when request costs differ, at the price of a scan.
type leastOutstanding struct{}

func (leastOutstanding) pick(c *choice) *upstream {
	for c.count > 0 {
		best := -1
		for i, u := range c.set.list {
			if c.usable[i] && (best < 0 || c.loadOf(u) < c.loadOf(c.set.list[best])) {
				best = i
			}
		}
		if c.take(best, c.limit) {
			return c.set.list[best]
		}
	}
	return nil
}

// powerOfTwo compares two random upstreams and takes the less loaded:
// nearly the spread of least-outstanding without every gateway herding
// onto the one instance that looks idle (Mitzenmacher's "power of two
// choices").
type powerOfTwo struct{}

func (powerOfTwo) pick(c *choice) *upstream {
	if c.count >= 2 {
		pa, pb := rand.IntN(c.count), rand.IntN(c.count-1)
		if pb >= pa {
			pb++ // two different ones
		}
		a, b := c.nthUsable(pa), c.nthUsable(pb)
		if c.loadOf(c.set.list[b]) < c.loadOf(c.set.list[a]) {
			a, b = b, a
		}
		if c.take(a, c.limit) {
			return c.set.list[a]
		}
		if c.take(b, c.limit) {
			return c.set.list[b]
		}
	}
	return leastOutstanding{}.pick(c)
}

// nthUsable is the index of the n-th usable member (from 0).
func (c *choice) nthUsable(n int) int {
	for i, ok := range c.usable {
		if ok {
			if n == 0 {
				return i
			}
			n--
		}
	}
	return -1
}
