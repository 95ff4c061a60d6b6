package cluster_test

import (
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
	ping := func() error {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
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
