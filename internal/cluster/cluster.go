// Package cluster starts the parts of a photofeed deployment on one
// machine: throwaway engines (PostgreSQL and Redis from the installed
// binaries, a NATS JetStream cluster in process) and a Supervisor of the
// photofeed processes themselves. It knows nothing of photos; the
// `photofeed cluster` command (internal/app) decides what runs.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// FreePort returns a loopback TCP port nothing listens on now. Another
// process may take it before the caller binds it; on one machine with
// ports handed out at random that is rare enough for a demo and tests.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// errNotListening is waitListening's error when the deadline passes.
var errNotListening = errors.New("not listening")

// waitListening waits until addr accepts TCP connections, or ctx ends,
// or exited is closed (the process that should listen is gone).
func waitListening(ctx context.Context, addr string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w after %s", addr, errNotListening, timeout)
		case <-exited:
			return fmt.Errorf("%s: the process exited before listening", addr)
		case <-tick.C:
		}
	}
}
