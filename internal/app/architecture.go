package app

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/photofeed/photofeed/internal/topology"
	"github.com/photofeed/photofeed/internal/web"
)

// architecture is what the architecture page draws on an api node: the
// nodes from their heartbeats (the registry), and the engines from this
// node's own connections, probed at most once per engineTTL however many
// pages are open.
type architecture struct {
	nodes *topology.Registry
	self  *atomic.Value // this node's listen address, once it listens
	probe func(ctx context.Context) []topology.Engine

	mu      sync.Mutex
	engines []topology.Engine
	probed  time.Time
}

var _ web.Architecture = (*architecture)(nil)

// engineTTL bounds how often the page's viewers make this node probe the
// engines: the stream ticks twice a second per viewer.
const engineTTL = time.Second

// engineProbe bounds one engine's check: a hung engine must show as down
// while the page still updates.
const engineProbe = 500 * time.Millisecond

func (a *architecture) View(ctx context.Context) topology.View {
	seen, _ := a.self.Load().(string)
	return topology.View{At: time.Now(), Seen: seen, Nodes: a.nodes.Nodes(), Engines: a.currentEngines(ctx)}
}

func (a *architecture) currentEngines(ctx context.Context) []topology.Engine {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.engines == nil || time.Since(a.probed) > engineTTL {
		a.engines, a.probed = a.probe(ctx), time.Now()
	}
	return a.engines
}

// engineProbes checks every engine this node is connected to, at once,
// each for engineProbe at most.
func engineProbes(cfg Config, ad *adapters) func(ctx context.Context) []topology.Engine {
	checks := []func(ctx context.Context) []topology.Engine{
		func(ctx context.Context) []topology.Engine { return databaseEngines(ctx, ad) },
		func(ctx context.Context) []topology.Engine {
			return []topology.Engine{redisEngine(ctx, ad.redis, cfg.Redis)}
		},
		func(ctx context.Context) []topology.Engine { return busEngines(ctx, ad.bus, cfg.NATS) },
		func(ctx context.Context) []topology.Engine { return []topology.Engine{blobsEngine(cfg, ad.blobs)} },
		func(ctx context.Context) []topology.Engine { return []topology.Engine{searchEngine(ad.index)} },
		func(ctx context.Context) []topology.Engine { return queueEngines(ctx, ad.db) },
	}
	return func(ctx context.Context) []topology.Engine {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), engineProbe)
		defer cancel()
		parts := make([][]topology.Engine, len(checks))
		var wg sync.WaitGroup
		for i, check := range checks {
			wg.Go(func() { parts[i] = check(ctx) })
		}
		wg.Wait()
		return slices.Concat(parts...)
	}
}
