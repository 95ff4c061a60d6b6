package cluster

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATS is a NATS JetStream cluster run in this process (nats-server as a
// library) on loopback ports.
type NATS struct {
	servers []*server.Server
	opts    []*server.Options
}

// NATSConfig says how many nodes to start and where they keep their
// streams.
type NATSConfig struct {
	Nodes int    // default 1; with more they form one cluster
	Dir   string // each node's store is Dir/<node name>; required
	Name  string // cluster and node name prefix, default "photofeed"
}

// StartNATS starts the nodes and waits until they take connections and,
// clustered, have elected a JetStream meta leader (streams cannot be
// made before). On error what started is shut down.
func StartNATS(cfg NATSConfig) (_ *NATS, err error) {
	if cfg.Nodes < 1 {
		cfg.Nodes = 1
	}
	if cfg.Name == "" {
		cfg.Name = "photofeed"
	}
	if cfg.Dir == "" {
		return nil, errors.New("nats: a store directory is required")
	}
	routes, clusterPorts, err := natsRoutes(cfg.Nodes)
	if err != nil {
		return nil, err
	}
	c := &NATS{}
	defer func() {
		if err != nil {
			c.Shutdown()
		}
	}()
	for i := range cfg.Nodes {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%s-nats-%d", cfg.Name, i+1)
		o := &server.Options{
			ServerName: name, Host: "127.0.0.1", Port: port,
			// Sized explicitly: by default JetStream claims a share of the
			// host's memory and disk.
			JetStream: true, StoreDir: filepath.Join(cfg.Dir, name), JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 1 << 30,
			NoSigs: true, NoLog: true,
		}
		if cfg.Nodes > 1 {
			o.Cluster = server.ClusterOpts{Name: cfg.Name, Host: "127.0.0.1", Port: clusterPorts[i]}
			o.Routes = server.RoutesFromStr(routes)
		}
		s, err := server.NewServer(o)
		if err != nil {
			return nil, fmt.Errorf("nats server %s: %w", name, err)
		}
		s.Start()
		c.servers = append(c.servers, s)
		c.opts = append(c.opts, o)
	}
	return c, c.waitReady(20 * time.Second)
}

func natsRoutes(n int) (routes string, ports []int, err error) {
	if n < 2 {
		return "", nil, nil
	}
	var urls []string
	for range n {
		p, err := FreePort()
		if err != nil {
			return "", nil, err
		}
		ports = append(ports, p)
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	return strings.Join(urls, ","), ports, nil
}

func (c *NATS) waitReady(timeout time.Duration) error {
	for i, s := range c.servers {
		if !s.ReadyForConnections(timeout) {
			return fmt.Errorf("nats server %d not ready after %s", i+1, timeout)
		}
	}
	if len(c.servers) == 1 {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for !c.hasMetaLeader() {
		if time.Now().After(deadline) {
			return fmt.Errorf("nats cluster: no JetStream meta leader after %s", timeout)
		}
		time.Sleep(50 * time.Millisecond) // the server offers no leader notification
	}
	return nil
}

func (c *NATS) hasMetaLeader() bool {
	for _, s := range c.servers {
		if s.Running() && s.JetStreamIsLeader() {
			return true
		}
	}
	return false
}

// URL lists every node, comma-separated, as --nats takes it.
func (c *NATS) URL() string {
	urls := make([]string, len(c.opts))
	for i := range c.opts {
		urls[i] = c.NodeURL(i)
	}
	return strings.Join(urls, ",")
}

// NodeURL is node i's client URL.
func (c *NATS) NodeURL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port) }

// Len is the number of nodes.
func (c *NATS) Len() int { return len(c.opts) }

// Stop shuts node i down and waits for it.
func (c *NATS) Stop(i int) {
	c.servers[i].Shutdown()
	c.servers[i].WaitForShutdown()
}

// Restart starts stopped node i again, on its old ports and store.
func (c *NATS) Restart(i int) error {
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		return fmt.Errorf("restart nats server %d: %w", i+1, err)
	}
	s.Start()
	c.servers[i] = s
	return nil
}

// StopStreamLeader shuts down the node leading stream (in the default
// account) and returns its index, or -1 if no running node leads it.
func (c *NATS) StopStreamLeader(stream string) int {
	for i, s := range c.servers {
		if s.Running() && s.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			c.Stop(i)
			return i
		}
	}
	return -1
}

// Shutdown stops every node.
func (c *NATS) Shutdown() {
	for _, s := range c.servers {
		s.Shutdown()
		s.WaitForShutdown()
	}
}
