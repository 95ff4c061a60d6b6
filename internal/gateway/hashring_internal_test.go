package gateway

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func testSet(t *testing.T, n int) *upstreamSet {
	t.Helper()
	var list []*upstream
	for i := range n {
		u, err := newUpstream(fmt.Sprintf("http://10.0.0.%d:8080", i+1), Config{})
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, u)
	}
	return newUpstreamSet(list)
}

// pickFrom picks for key from set the way a request does, keeping the
// slot (hold) or giving it back at once.
func pickFrom(set *upstreamSet, key string, hold bool) *upstream {
	c := &choice{set: set, usable: make([]bool, len(set.list)), count: len(set.list), key: key, limit: math.MaxInt64,
		reserve: func(u *upstream, limit int64) bool { return u.tryAcquire(&u.inflight, limit) }}
	for i := range c.usable {
		c.usable[i] = true
	}
	u := boundedHash{}.pick(c)
	if u != nil && !hold {
		u.release(&u.inflight)
	}
	return u
}

func keyOwners(set *upstreamSet, keys int) map[string]string {
	out := make(map[string]string, keys)
	for i := range keys {
		k := fmt.Sprintf("user-%d", i)
		out[k] = pickFrom(set, k, false).name
	}
	return out
}

// With N upstreams each owns about 1/N of the keys; one joining takes
// about 1/(N+1) of them from the others and moves no other key; one
// leaving hands on only its own keys.
func TestHashRingRemap(t *testing.T) {
	const keys, n = 20_000, 10
	ten := testSet(t, n)
	before := keyOwners(ten, keys)

	share := map[string]int{}
	for _, o := range before {
		share[o]++
	}
	for o, c := range share {
		if f := float64(c) / keys; f < 0.6/n || f > 1.4/n {
			t.Errorf("%s owns %.3f of the keys, want about %.3f", o, f, 1.0/n)
		}
	}

	eleven := testSet(t, n+1)
	joined := eleven.list[n].name
	moved := 0
	for k, o := range keyOwners(eleven, keys) {
		if o != before[k] {
			moved++
			if o != joined {
				t.Fatalf("%s moved from %s to %s, not to the new upstream", k, before[k], o)
			}
		}
	}
	if f := float64(moved) / keys; f > 1.5/(n+1) || f < 0.5/(n+1) {
		t.Errorf("joining moved %.3f of the keys, want about 1/%d = %.3f", f, n+1, 1.0/(n+1))
	} else {
		t.Logf("joining moved %.3f of keys (1/%d = %.3f)", f, n+1, 1.0/(n+1))
	}

	nine := newUpstreamSet(append(ten.list[:4:4], ten.list[5:]...))
	left := ten.list[4].name
	moved = 0
	for k, o := range keyOwners(nine, keys) {
		if o != before[k] {
			moved++
			if before[k] != left {
				t.Fatalf("%s moved from %s, which did not leave", k, before[k])
			}
		}
	}
	if f := float64(moved) / keys; f > 1.5/n {
		t.Errorf("leaving moved %.3f of the keys, want about 1/%d", f, n)
	} else {
		t.Logf("leaving moved %.3f of keys (1/%d = %.3f)", f, n, 1.0/n)
	}
}

// Under skewed keys (a few users make most requests) and requests that
// stay in flight, no upstream is ever above ceil(c × average).
func TestHashBoundedLoadSpread(t *testing.T) {
	const n, requests = 8, 2_000
	set := testSet(t, n)
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.2, 1, 10_000)
	owner := newUpstreamSet(testSet(t, n).list) // the same ring, never loaded
	spilled := 0
	for i := 1; i <= requests; i++ {
		key := fmt.Sprintf("user-%d", zipf.Uint64())
		u := pickFrom(set, key, true)
		if u == nil {
			t.Fatalf("request %d found no upstream", i)
		}
		if u.name != pickFrom(owner, key, false).name {
			spilled++
		}
		bound := int64(math.Ceil(loadFactor * float64(i) / n))
		for _, u := range set.list {
			if l := u.inflight.Load(); l > bound {
				t.Fatalf("after %d requests %s holds %d, over ceil(%.2f × %d/%d) = %d", i, u.name, l, loadFactor, i, n, bound)
			}
		}
	}
	if spilled == 0 {
		t.Fatal("no request was sent past its key's upstream: the skew never met the bound")
	}
	t.Logf("%d of %d requests spilled past their key's upstream", spilled, requests)
}
