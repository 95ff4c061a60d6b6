package topology

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Node states, as the page shows them.
const (
	Up   = "up"
	Lost = "lost" // its beats stopped: killed, hung or cut off
	Left = "left" // it said goodbye (a graceful shutdown)
)

// RegistryConfig sets a Registry up; every field has a default.
type RegistryConfig struct {
	// Missed is how many beats a node may miss before it is lost
	// (default 3): one late beat on a busy machine is no failure.
	Missed int
	// Interval is the beat period assumed when a beat does not say its
	// own (default 1 s).
	Interval time.Duration
	// Forget is how long a lost or departed node stays on the page
	// (default 10 min), so that the registry stays bounded as nodes
	// come and go.
	Forget time.Duration
	Now    func() time.Time // default time.Now
}

// Registry keeps the latest heartbeat of every node, and says which are
// up and which are lost. It is safe for concurrent use.
type Registry struct {
	cfg   RegistryConfig
	mu    sync.Mutex
	nodes map[string]*entry
}

type entry struct {
	beat Beat
	seen time.Time // by this registry's clock, not the sender's
}

// NewRegistry makes an empty registry.
func NewRegistry(cfg RegistryConfig) *Registry {
	if cfg.Missed <= 0 {
		cfg.Missed = 3
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Forget <= 0 {
		cfg.Forget = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Registry{cfg: cfg, nodes: map[string]*entry{}}
}

// Receive takes in a heartbeat as it came off the bus; one that cannot
// be read is dropped.
func (r *Registry) Receive(data []byte) {
	if b, err := Decode(data); err == nil {
		r.Put(b)
	}
}

// MaxNodes bounds how many nodes a registry keeps: anything that can
// publish on the bus could otherwise make it grow without end, with made-up
// node ids. A real deployment is far below it.
const MaxNodes = 1000

// Put records b as its node's latest beat. A beat of a new node when
// MaxNodes are kept first forgets those gone longer than Forget, and is
// dropped if none is.
func (r *Registry) Put(b Beat) {
	now := r.cfg.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, known := r.nodes[b.Node]; !known && len(r.nodes) >= MaxNodes {
		for id, e := range r.nodes {
			if now.Sub(e.seen) > r.cfg.Forget {
				delete(r.nodes, id)
			}
		}
		if len(r.nodes) >= MaxNodes {
			return
		}
	}
	r.nodes[b.Node] = &entry{beat: b, seen: now}
}

// Node is a node as the page shows it.
type Node struct {
	Beat
	State string  `json:"state"`
	AgoS  float64 `json:"ago_s"` // since its last beat
	Facts []Fact  `json:"facts"` // its figures, formatted for the page
}

// Nodes lists the known nodes, by role then address, each up, lost or
// left; those gone longer than Forget are dropped.
func (r *Registry) Nodes() []Node {
	now := r.cfg.Now()
	r.mu.Lock()
	out := make([]Node, 0, len(r.nodes))
	for id, e := range r.nodes {
		ago := now.Sub(e.seen)
		if ago > r.cfg.Forget {
			delete(r.nodes, id)
			continue
		}
		out = append(out, Node{Beat: e.beat, State: r.state(e, ago), AgoS: ago.Seconds(), Facts: facts(e.beat, ago)})
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Node) int {
		if c := strings.Compare(strings.Join(a.Roles, ","), strings.Join(b.Roles, ",")); c != 0 {
			return c
		}
		if c := strings.Compare(a.Addr, b.Addr); c != 0 {
			return c
		}
		return strings.Compare(a.Node, b.Node)
	})
	return out
}

func (r *Registry) state(e *entry, ago time.Duration) string {
	if e.beat.Leaving {
		return Left
	}
	interval := r.cfg.Interval
	if e.beat.Interval > 0 {
		interval = time.Duration(e.beat.Interval * float64(time.Second))
	}
	if ago > time.Duration(r.cfg.Missed)*interval {
		return Lost
	}
	return Up
}
