package gateway

import (
	"context"
	"fmt"
	"slices"
)

// upstreamSet is the upstreams in service at one moment. It is never
// changed once published: a change builds a new set and swaps it in, so a
// request reads the set without a lock and keeps a consistent view of it.
type upstreamSet struct {
	list []*upstream
	ring *hashRing
}

func newUpstreamSet(list []*upstream) *upstreamSet {
	return &upstreamSet{list: list, ring: newHashRing(list)}
}

func (s *upstreamSet) find(name string) *upstream {
	for _, u := range s.list {
		if u.name == name {
			return u
		}
	}
	return nil
}

// SetUpstreams makes urls the upstream set. Upstreams already in the set
// keep their connections, health and breaker; new ones start healthy;
// those left out are drained: they get no new requests, the ones in flight
// finish, and their connections close when the last one has.
func (g *Gateway) SetUpstreams(urls []string) error {
	if len(urls) == 0 {
		return fmt.Errorf("gateway: no upstreams")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.set.Load()
	list := make([]*upstream, 0, len(urls))
	for _, raw := range urls {
		if slices.ContainsFunc(list, func(u *upstream) bool { return u.name == raw }) {
			continue
		}
		if u := old.find(raw); u != nil && !u.draining.Load() {
			list = append(list, u)
			continue
		}
		u, err := newUpstream(raw, g.cfg)
		if err != nil {
			return err
		}
		list = append(list, u)
	}
	g.set.Store(newUpstreamSet(list))
	for _, u := range old.list {
		if !slices.Contains(list, u) {
			u.drain()
		}
	}
	return nil
}

// Drain stops new requests to the upstream named url, waits until its
// requests in flight have finished (or ctx ends), and then removes it from
// the set.
func (g *Gateway) Drain(ctx context.Context, url string) error {
	u := g.set.Load().find(url)
	if u == nil {
		return fmt.Errorf("gateway: drain %s: not an upstream", url)
	}
	u.drain()
	select {
	case <-u.drained:
	case <-ctx.Done():
		return fmt.Errorf("gateway: drain %s: %w", url, ctx.Err())
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.set.Load()
	if i := slices.Index(cur.list, u); i >= 0 {
		g.set.Store(newUpstreamSet(slices.Delete(slices.Clone(cur.list), i, i+1)))
	}
	return nil
}

// Upstreams describes the upstreams in the set, in its order.
func (g *Gateway) Upstreams() []UpstreamState {
	now := g.cfg.Now()
	var out []UpstreamState
	for _, u := range g.set.Load().list {
		out = append(out, u.state(now))
	}
	return out
}
