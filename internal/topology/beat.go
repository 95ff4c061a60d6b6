// Package topology is the running system as one node sees it: the other
// photofeed nodes, from the heartbeats they publish on the bus, and the
// engines, from the node's own connections. The architecture page draws
// it.
package topology

import (
	"encoding/json"
	"fmt"
	"time"
)

// Subject is where heartbeats go. It is a plain NATS subject, outside
// the JetStream streams' subjects: a heartbeat is only worth anything
// while it is fresh, so it is never stored, replayed or acknowledged,
// and a node listening from now on loses nothing by missing the past.
// It sits beside photofeed.cache.invalidate under the photofeed. prefix
// the deployment's other core (non-stream) subjects use.
const Subject = "photofeed.nodes.heartbeat"

// Beat is one heartbeat: who the node is and a few figures over the
// last interval. It is small (a few hundred bytes) and made from what
// the node already counts.
type Beat struct {
	Node     string    `json:"node"`    // the node's id (kept in its data dir)
	Roles    []string  `json:"roles"`   // api, worker, gateway
	Version  string    `json:"version"` // the build's
	Addr     string    `json:"addr"`    // its public listener, host:port
	Started  time.Time `json:"started"`
	Sent     time.Time `json:"sent"`
	Interval float64   `json:"interval_s"`        // the publisher's period: lost after Missed of them
	Leaving  bool      `json:"leaving,omitempty"` // a graceful shutdown's last beat
	Figures  Figures   `json:"figures"`
}

// Figures are a node's numbers over its last interval. Zero values are
// honest zeros; what a node does not have (a worker's requests, a
// gateway's replicas) is left out.
type Figures struct {
	RequestsPerS float64            `json:"rps"`
	P99MS        float64            `json:"p99_ms"` // of the interval's requests, event streams apart; 0 with none
	InFlight     float64            `json:"in_flight"`
	LimitedPerS  float64            `json:"limited_per_s,omitempty"` // rate-limit rejections
	ShedPerS     float64            `json:"shed_per_s,omitempty"`    // load shed (503)
	Breakers     map[string]string  `json:"breakers,omitempty"`      // name → closed, open, half-open
	ReplicaLagMS map[string]int64   `json:"replica_lag_ms,omitempty"`
	Upstreams    []Upstream         `json:"upstreams,omitempty"` // a gateway's api nodes
	Workers      map[string]string  `json:"workers,omitempty"`   // background work that is down, with why
	Extra        map[string]float64 `json:"extra,omitempty"`
}

// Upstream is an api node as a gateway sees it.
type Upstream struct {
	URL      string `json:"url"`
	Usable   bool   `json:"usable"`
	InFlight int64  `json:"in_flight"`
	Breaker  string `json:"breaker"`
}

// Encode is the wire form of b.
func (b Beat) Encode() ([]byte, error) { return json.Marshal(b) }

// Decode reads a heartbeat; one without a node id is refused.
func Decode(data []byte) (Beat, error) {
	var b Beat
	if err := json.Unmarshal(data, &b); err != nil {
		return Beat{}, fmt.Errorf("heartbeat: %w", err)
	}
	if b.Node == "" {
		return Beat{}, fmt.Errorf("heartbeat without a node id")
	}
	return b, nil
}
