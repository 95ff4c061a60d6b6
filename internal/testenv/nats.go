package testenv

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSCluster is a throwaway NATS JetStream cluster (nats-server as a
// library) on loopback ports, shut down when the test ends.
type NATSCluster struct {
	t       testing.TB
	servers []*server.Server
	opts    []*server.Options
}

// StartNATS starts n JetStream servers; with n > 1 they form one cluster.
func StartNATS(t testing.TB, n int) *NATSCluster {
	t.Helper()
	c := &NATSCluster{t: t}
	clusterPorts := make([]int, n)
	for i := range clusterPorts {
		clusterPorts[i] = freePort(t)
	}
	var routes []string
	for _, p := range clusterPorts {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("photofeed-test-%d", i), Host: "127.0.0.1", Port: freePort(t),
			JetStream: true, StoreDir: t.TempDir(), JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 256 << 20,
			NoSigs: true, NoLog: true,
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "photofeed-test", Host: "127.0.0.1", Port: clusterPorts[i]}
			o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		}
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatalf("nats server %d: %v", i, err)
		}
		s.Start()
		c.servers = append(c.servers, s)
		c.opts = append(c.opts, o)
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			s.Shutdown()
			s.WaitForShutdown()
		}
	})
	for i, s := range c.servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("nats server %d not ready", i)
		}
	}
	if n > 1 { // JetStream needs a meta leader before streams can be made
		deadline := time.Now().Add(20 * time.Second)
		for !c.hasMetaLeader() {
			if time.Now().After(deadline) {
				t.Fatal("nats cluster: no JetStream meta leader after 20s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

func (c *NATSCluster) hasMetaLeader() bool {
	for _, s := range c.servers {
		if s.Running() && s.JetStreamIsLeader() {
			return true
		}
	}
	return false
}

// URL lists every node, for --nats.
func (c *NATSCluster) URL() string {
	var urls []string
	for _, o := range c.opts {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(urls, ",")
}

// Stop shuts node i down.
func (c *NATSCluster) Stop(i int) {
	c.servers[i].Shutdown()
	c.servers[i].WaitForShutdown()
}

// Restart starts stopped node i again, on its old ports and store.
func (c *NATSCluster) Restart(i int) {
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		c.t.Errorf("restart nats server %d: %v", i, err)
		return
	}
	s.Start()
	c.servers[i] = s
}

// StopStreamLeader shuts down the node leading stream (in the default
// account) and returns its index, or -1 if no running node leads it.
func (c *NATSCluster) StopStreamLeader(stream string) int {
	for i, s := range c.servers {
		if s.Running() && s.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			c.Stop(i)
			return i
		}
	}
	return -1
}
