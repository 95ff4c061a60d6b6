package testenv

import (
	"testing"

	"github.com/photofeed/photofeed/internal/cluster"
)

// NATSCluster is a throwaway NATS JetStream cluster (nats-server as a
// library, as `photofeed cluster` runs it) on loopback ports, shut down
// when the test ends.
type NATSCluster struct {
	t testing.TB
	*cluster.NATS
}

// StartNATS starts n JetStream servers; with n > 1 they form one cluster.
func StartNATS(t testing.TB, n int) *NATSCluster {
	t.Helper()
	c, err := cluster.StartNATS(cluster.NATSConfig{Nodes: n, Dir: t.TempDir(), Name: "photofeed-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return &NATSCluster{t: t, NATS: c}
}

// Restart starts stopped node i again, on its old ports and store.
func (c *NATSCluster) Restart(i int) {
	if err := c.NATS.Restart(i); err != nil {
		c.t.Error(err)
	}
}
