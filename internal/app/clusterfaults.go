package app

import (
	"context"
	"fmt"
	"strings"
)

// The parts of a running cluster `photofeed chaos` breaks and mends.

// nodeNames are the names of the nodes of role, in order.
func (c *clusterRun) nodeNames(role string) []string {
	var out []string
	for _, n := range c.nodes {
		if n.role == role {
			out = append(out, n.name)
		}
	}
	return out
}

func (c *clusterRun) nodeIndex(name string) (int, error) {
	for i, n := range c.nodes {
		if n.name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("cluster: no node %q", name)
}

// killNode kills the node as kill -9 would: no shutdown, no draining.
func (c *clusterRun) killNode(name string) error {
	i, err := c.nodeIndex(name)
	if err != nil {
		return err
	}
	c.nodes[i].proc.Kill()
	return nil
}

// restartNode starts a killed node again with its old arguments (its
// address and data dir with them) and waits until it is ready.
func (c *clusterRun) restartNode(ctx context.Context, name string) error {
	i, err := c.nodeIndex(name)
	if err != nil {
		return err
	}
	n := c.nodes[i]
	select {
	case <-n.proc.Done():
	default:
		return fmt.Errorf("cluster: %s is still running", name)
	}
	if err := c.startProcess(&n, n.args); err != nil {
		return err
	}
	c.nodes[i] = n
	path, anyStatus := "/readyz", false
	if n.role == "gateway" {
		path, anyStatus = "/healthz", true
	}
	if err := c.waitReady(ctx, &n, path, anyStatus); err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	return nil
}

// natsIndex is the index of a NATS node named nats-N.
func natsIndex(name string) (int, error) {
	var i int
	if _, err := fmt.Sscanf(strings.TrimPrefix(name, "nats-"), "%d", &i); err != nil || i < 1 {
		return 0, fmt.Errorf("cluster: no NATS node %q", name)
	}
	return i - 1, nil
}
