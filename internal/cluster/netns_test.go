package cluster_test

import (
	"errors"
	"net"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/cluster"
)

// A partition makes connections to the engine time out (not fail at
// once, as a stopped one's would), and healing it lets them through.
func TestPartitionCutsRedisOff(t *testing.T) {
	if err := cluster.NetNSAvailable(); err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("no redis-server")
	}
	ns, err := cluster.NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Error(err)
		}
	})
	rd, err := cluster.StartRedisIn(t.Context(), t.TempDir(), true, ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rd.Stop)
	u, err := url.Parse(rd.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != ns.PeerIP {
		t.Fatalf("Redis at %s, want the namespace's %s", u.Host, ns.PeerIP)
	}
	ping := func() error { return redisPing(u.Host) }
	if err := ping(); err != nil {
		t.Fatalf("before the partition: %v", err)
	}
	if err := ns.Partition(); err != nil {
		t.Fatal(err)
	}
	err = ping()
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("across the partition: %v, want a timeout", err)
	}
	if err := ns.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := ping(); err != nil {
		t.Errorf("after healing: %v", err)
	}
}

func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	b := make([]byte, 7)
	_, err = c.Read(b)
	return err
}

// redisInNetNS starts a throwaway Redis in a namespace of its own and
// returns the namespace and the server's address.
func redisInNetNS(t *testing.T) (*cluster.NetNS, string) {
	t.Helper()
	if err := cluster.NetNSAvailable(); err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("no redis-server")
	}
	ns := newNetNS(t)
	rd, err := cluster.StartRedisIn(t.Context(), t.TempDir(), true, ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rd.Stop)
	u, err := url.Parse(rd.URL())
	if err != nil {
		t.Fatal(err)
	}
	return ns, u.Host
}

// Loss drops packets at random, both ways; at a probability near one
// nothing gets through, and once it stops everything does again.
func TestLossDropsPacketsAndStops(t *testing.T) {
	ns, addr := redisInNetNS(t)
	const p = 0.9999
	if err := ns.Lose(p); err != nil {
		t.Fatal(err)
	}
	err := redisPing(addr)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("with %.2f%% loss: %v, want a timeout", p*100, err)
	}
	if err := ns.StopLosing(p); err != nil {
		t.Fatal(err)
	}
	if err := redisPing(addr); err != nil {
		t.Errorf("once the loss stops: %v", err)
	}
	if err := ns.StopLosing(p); err == nil {
		t.Error("stopping a loss twice: no error, as if there were rules left to remove")
	}
}

// Latency needs netem; without it NetemAvailable says so (and the chaos
// command skips the fault) rather than pretending.
func TestDelayWhereNetemExists(t *testing.T) {
	ns, addr := redisInNetNS(t)
	err := cluster.NetemAvailable()
	if errors.Is(err, cluster.ErrNoNetem) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	const d = 300 * time.Millisecond
	if err := ns.Delay(d); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := redisPing(addr); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < d {
		t.Errorf("a ping with %s of delay took %s", d, took)
	}
	if err := ns.StopDelaying(); err != nil {
		t.Fatal(err)
	}
}
