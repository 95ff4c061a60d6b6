package gateway

import (
	"cmp"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
)

// loadFactor is c in consistent hashing with bounded loads (Mirrokni,
// Thorup and Zadimoghaddam, 2017): no upstream is given a request while it
// has ceil(c × average) in flight, so a hot key or an unlucky ring spills
// onto the next upstream on the ring instead of overloading its own. 1.25
// is the value the paper analyses and Vimeo and HAProxy (hash-balance-factor
// 125) run: within 25 % of even, while a key still stays on its upstream
// unless that one is the busiest, and an upstream joining or leaving moves
// only about 1/N of the keys.
const loadFactor = 1.25

// pointsPerUpstream places each upstream at that many points on the ring,
// enough that N upstreams own close to 1/N of the ring each.
const pointsPerUpstream = 160

// hashRing maps keys to members of an upstream set. The points depend
// only on the upstreams' URLs, so every gateway with the same list sends a
// key to the same upstream, and a change to the list moves only the keys
// of the points it adds or removes.
type hashRing struct{ points []ringPoint }

type ringPoint struct {
	hash   uint64
	member int // index in the set's list
}

func newHashRing(list []*upstream) *hashRing {
	r := &hashRing{points: make([]ringPoint, 0, len(list)*pointsPerUpstream)}
	for m, u := range list {
		for i := range pointsPerUpstream {
			r.points = append(r.points, ringPoint{hash: hashString(u.name + "#" + strconv.Itoa(i)), member: m})
		}
	}
	slices.SortFunc(r.points, func(a, b ringPoint) int {
		if a.hash != b.hash {
			return cmp.Compare(a.hash, b.hash)
		}
		return a.member - b.member
	})
	return r
}

// start is the first point at or after key's hash, wrapping around.
func (r *hashRing) start(key string) int {
	h := hashString(key)
	i, _ := slices.BinarySearchFunc(r.points, h, func(p ringPoint, h uint64) int { return cmp.Compare(p.hash, h) })
	return i % len(r.points)
}

// hashString is FNV-1a, stable across processes and releases (unlike
// maphash), mixed by splitmix64's finalizer because FNV alone spreads
// similar strings ("…#1", "…#2") poorly over the high bits.
func hashString(s string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(s))
	x := f.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// boundedHash sends a key to the first upstream clockwise from it on the
// ring that is usable and under the load bound.
type boundedHash struct{}

func (boundedHash) pick(c *choice) *upstream {
	points := c.set.ring.points
	if len(points) == 0 {
		return nil
	}
	start := c.set.ring.start(c.key)
	// Requests finishing and starting elsewhere move the bound while we
	// walk; a walk that found every upstream at a bound already passed is
	// tried again with the new one.
	lastTotal := int64(-1)
	for range 4 {
		total := c.load()
		if c.count == 0 || total == lastTotal {
			break
		}
		lastTotal = total
		bound := loadBound(total, c.count)
		for i := range points {
			if m := points[(start+i)%len(points)].member; c.take(m, bound) {
				return c.set.list[m]
			}
		}
	}
	// Only loads shifting under every walk get here: the request is
	// served off its key's upstream rather than refused.
	return leastOutstanding{}.pick(c)
}

// loadBound is how many requests an upstream may have in flight and still
// be given one more, when total are in flight on n upstreams.
func loadBound(total int64, n int) int64 {
	return int64(math.Ceil(loadFactor * float64(total+1) / float64(n)))
}

// load is the load (requests in flight, or streams) of the usable members.
func (c *choice) load() int64 {
	var total int64
	for i, u := range c.set.list {
		if c.usable[i] {
			total += c.loadOf(u)
		}
	}
	return total
}
