package loadtest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Op is a kind of request of the workload.
type Op string

// The operations a mix can weigh.
const (
	OpFeed    Op = "feed"    // GET /v1/feed?limit=20 as a random user
	OpLike    Op = "like"    // PUT or DELETE /v1/posts/{id}/like
	OpProfile Op = "profile" // GET /v1/users/{name}
	OpUpload  Op = "upload"  // POST /v1/posts, a small JPEG
)

var ops = []Op{OpFeed, OpLike, OpProfile, OpUpload}

// DefaultMix is bench/mixed's workload.
const DefaultMix = "feed=90,like=9,profile=1"

// Weight is one operation's share of a mix.
type Weight struct {
	Op     Op  `json:"op"`
	Weight int `json:"weight"`
}

// Mix is the weights of a workload, in the order given.
type Mix []Weight

// ParseMix parses "feed=90,like=9,profile=1"; "post" is another name for
// upload.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[Op]bool{}
	total := 0
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		op := Op(strings.TrimSpace(name))
		if op == "post" {
			op = OpUpload
		}
		if !ok || !known(op) {
			return nil, fmt.Errorf("%q: want op=weight with op one of feed, like, profile, upload", part)
		}
		w, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || w < 0 || w > 1_000_000 {
			return nil, fmt.Errorf("%q: weight must be a whole number from 0 to 1000000", part)
		}
		if seen[op] {
			return nil, fmt.Errorf("%s given twice", op)
		}
		seen[op] = true
		if w > 0 {
			m = append(m, Weight{op, w})
			total += w
		}
	}
	if total == 0 {
		return nil, errors.New("no operation has a weight above 0")
	}
	return m, nil
}

func known(op Op) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// Has reports whether op has a weight in m.
func (m Mix) Has(op Op) bool {
	for _, w := range m {
		if w.Op == op {
			return true
		}
	}
	return false
}

// String is m as --mix takes it.
func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, w := range m {
		parts[i] = fmt.Sprintf("%s=%d", w.Op, w.Weight)
	}
	return strings.Join(parts, ",")
}

// pick maps n in [0, total) to an operation.
func (m Mix) pick(n int) Op {
	for _, w := range m {
		if n < w.Weight {
			return w.Op
		}
		n -= w.Weight
	}
	return m[len(m)-1].Op
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w.Weight
	}
	return t
}
