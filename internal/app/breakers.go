package app

import (
	"maps"
	"sync"
)

// breakerStates are a node's circuit breakers as their transitions left
// them, for the heartbeats: the breakers report changes, not states, so
// each is set closed when it is made.
type breakerStates struct {
	mu sync.Mutex
	m  map[string]string
}

func (b *breakerStates) set(name, state string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]string{}
	}
	b.m[name] = state
}

// snapshot copies the states; nil with no breaker.
func (b *breakerStates) snapshot() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.m)
}
