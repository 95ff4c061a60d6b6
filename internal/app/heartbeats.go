package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/topology"
	"github.com/photofeed/photofeed/internal/web"
)

// heartbeats sets up the node's announcements on the bus (started by
// serve once the node listens, for its address) and, on an api node,
// the registry of every node's announcements that the architecture page
// draws, which it returns (nil on a worker). The beats carry the node's
// own counters (collectors), read once a second off the request path.
func (n *node) heartbeats(cfg Config, ad *adapters, collectors []prometheus.Collector) (web.Architecture, error) {
	started := time.Now()
	figures := newBeatFigures(collectors, func(f *topology.Figures) {
		if ad.db.Replicas != nil {
			f.ReplicaLagMS = map[string]int64{}
			for _, r := range ad.db.Replicas() {
				f.ReplicaLagMS[r.Addr] = r.LagMS
			}
		}
		if n.workers != nil {
			f.Workers = workersDown(n.workers.Down)
		}
		f.Breakers = ad.breakers.snapshot()
	})
	self := &atomic.Value{}
	n.announce = heartbeater(beatSelf(cfg, ad.nodeID, started), ad.bus.Broadcast, figures, self, n.log)
	if !cfg.hasRole("api") {
		return nil, nil
	}
	nodes := topology.NewRegistry(topology.RegistryConfig{})
	stop, err := ad.bus.Listen(topology.Subject, nodes.Receive)
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, func() error { stop(); return nil })
	return &architecture{nodes: nodes, self: self, probe: engineProbes(cfg, ad)}, nil
}

// heartbeater is a node's announce: heartbeats from me at its listen
// address (also stored in self), sent with send.
func heartbeater(me topology.Beat, send func(string, []byte) error, figures *beatFigures, self *atomic.Value, log *slog.Logger) func(ctx context.Context, addr string) func() {
	return func(ctx context.Context, addr string) func() {
		addr = advertised(addr)
		self.Store(addr)
		me.Addr = addr
		p := topology.NewPublisher(topology.PublisherConfig{Send: send, Self: me, Figures: figures.figures, Logger: log})
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); p.Run(ctx) }()
		return func() { cancel(); <-done }
	}
}

// gatewayHeartbeats announces a gateway with --nats on the bus, with its
// upstreams as it sees them; a gateway without --nats is not drawn on the
// architecture page (it has no other use for the bus).
func (n *node) gatewayHeartbeats(cfg Config, gw *gateway.Gateway, breakers *breakerStates, collectors []prometheus.Collector) error {
	if cfg.NATS == "" {
		return nil
	}
	bus, err := natsbus.DialAnnouncer(cfg.NATS)
	if err != nil {
		return err
	}
	n.closers = append(n.closers, bus.Close)
	figures := newBeatFigures(collectors, func(f *topology.Figures) {
		f.Breakers = breakers.snapshot()
		for _, u := range gw.Upstreams() {
			f.Upstreams = append(f.Upstreams, topology.Upstream{URL: u.URL, Usable: usableNow(u), InFlight: u.InFlight, Breaker: u.Breaker})
		}
	})
	// A gateway keeps no data dir of its own: its id is made at start.
	id := make([]byte, 8)
	rand.Read(id)
	n.announce = heartbeater(beatSelf(cfg, "gateway-"+hex.EncodeToString(id), time.Now()), bus.Broadcast, figures, &atomic.Value{}, n.log)
	return nil
}

// advertised is the address a node announces for its listener: a
// listener on every interface (":8080", as in a container) is named by
// the host's name, which tells nodes apart where "[::]:8080" would not.
func advertised(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil && name != "" {
			return net.JoinHostPort(name, port)
		}
	}
	return listen
}

// beatSelf is who this node says it is in its heartbeats.
func beatSelf(cfg Config, nodeID string, started time.Time) topology.Beat {
	var roles []string
	for _, r := range strings.Split(cfg.Roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, r)
		}
	}
	return topology.Beat{Node: nodeID, Roles: roles, Version: version(), Started: started}
}

// workersDown lists the background work that is down, for a heartbeat.
func workersDown(down func() error) map[string]string {
	err := down()
	if err == nil {
		return nil
	}
	return map[string]string{"workers": fmt.Sprint(err)}
}
