package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// PGCluster is a throwaway PostgreSQL primary with streaming replicas on
// free loopback ports, made with the installed binaries, removed when the
// test ends.
type PGCluster struct {
	t        testing.TB
	bin, dir string
	nodes    []pgNode // [0] is the primary
}

type pgNode struct {
	data string
	port int
}

// PrimaryURL and ReplicaURLs connect as postgres (trust auth).
func (c *PGCluster) PrimaryURL() string { return c.url(0) }

func (c *PGCluster) ReplicaURLs() []string {
	var out []string
	for i := 1; i < len(c.nodes); i++ {
		out = append(out, c.url(i))
	}
	return out
}

func (c *PGCluster) url(i int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.nodes[i].port)
}

func pgBin() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
		return ""
	}
	return filepath.Dir(matches[len(matches)-1])
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// run runs a PostgreSQL binary, as the postgres user when we are root
// (initdb refuses to run as root).
func (c *PGCluster) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	if os.Geteuid() == 0 {
		quoted := []string{filepath.Join(c.bin, name)}
		for _, a := range args {
			quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
		cmd = exec.Command("su", "postgres", "-s", "/bin/sh", "-c", strings.Join(quoted, " "))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, out)
	}
	return nil
}

// StartPGCluster starts a primary and n streaming replicas, or skips when
// the binaries are missing.
func StartPGCluster(t testing.TB, replicas int) *PGCluster {
	t.Helper()
	bin := pgBin()
	if bin == "" {
		Missing(t, "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)")
	}
	dir, err := os.MkdirTemp("", "photofeed-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &PGCluster{t: t, bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			os.Chown(dir, uid, gid)
		}
	}
	t.Cleanup(c.stopAll)
	primary := pgNode{data: filepath.Join(dir, "primary"), port: freePort(t)}
	if err := c.run("initdb", "-D", primary.data, "--auth=trust", "-U", "postgres", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	c.nodes = append(c.nodes, primary)
	if err := c.start(0, "-c", "wal_level=replica", "-c", "max_wal_senders=10", "-c", "fsync=off"); err != nil {
		t.Fatal(err)
	}
	for i := range replicas {
		r := pgNode{data: filepath.Join(dir, fmt.Sprint("replica", i)), port: freePort(t)}
		if err := c.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres",
			"-D", r.data, "-R", "-X", "stream", "-c", "fast"); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, r)
		if err := c.start(len(c.nodes)-1, "-c", "fsync=off"); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *PGCluster) start(i int, extra ...string) error {
	n := c.nodes[i]
	opts := append([]string{"-p", strconv.Itoa(n.port), "-k", c.dir, "-c", "listen_addresses=127.0.0.1"}, extra...)
	return c.run("pg_ctl", "-D", n.data, "-o", strings.Join(opts, " "), "-l", n.data+".log", "-w", "start")
}

// StopPrimary stops the primary at once, as a crash would.
func (c *PGCluster) StopPrimary() {
	c.t.Helper()
	if err := c.run("pg_ctl", "-D", c.nodes[0].data, "-m", "immediate", "stop"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *PGCluster) stopAll() {
	for i := len(c.nodes) - 1; i >= 0; i-- {
		c.run("pg_ctl", "-D", c.nodes[i].data, "-m", "immediate", "stop")
	}
	os.RemoveAll(c.dir)
}
