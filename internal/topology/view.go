package topology

import "time"

// Engine states. Unknown is said when the serving node has no way to
// tell (an engine it is not connected to, or one it only writes to).
const (
	EngineUp      = "up"
	EngineDown    = "down"
	EngineUnknown = "unknown"
	EngineNone    = "not configured"
)

// Engine is a box of the drawing that is not a photofeed node: a
// database, Redis, a NATS server, the object store, the search index.
type Engine struct {
	ID     string `json:"id"`   // stable, for the page's boxes: "db-primary", "redis", "nats-1", ...
	Kind   string `json:"kind"` // db, replica, shard, cache, bus, blobs, search, queue
	Name   string `json:"name"`
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"` // in words: an address, why it is unknown
	Facts  []Fact `json:"facts,omitempty"`
}

// Fact is one labelled figure of a box, formatted for the page.
type Fact struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// View is the whole drawing at one moment, as the node serving the page
// sees it.
type View struct {
	At      time.Time `json:"at"`
	Seen    string    `json:"seen_by"` // the serving node's address
	Nodes   []Node    `json:"nodes"`
	Engines []Engine  `json:"engines"`
}

// Role lists the nodes having role.
func (v View) Role(role string) []Node {
	var out []Node
	for _, n := range v.Nodes {
		for _, r := range n.Roles {
			if r == role {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// Kind lists the engines of kind.
func (v View) Kind(kind string) []Engine {
	var out []Engine
	for _, e := range v.Engines {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}
