package testenv

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/cluster"
)

// PGCluster is a throwaway PostgreSQL primary with streaming replicas on
// free loopback ports, made with the installed binaries.
type PGCluster struct {
	t        testing.TB // set by StartPGCluster, for StopPrimary
	bin, dir string
	nodes    []pgNode // [0] is the primary
	settings []string // the primary's server options, for StartPrimary
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

func pgBin() string { return cluster.PostgresBinDir() }

func freePort(t testing.TB) int {
	p, err := anyFreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func anyFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// run runs a PostgreSQL binary, as the postgres user when we are root
// (initdb refuses to run as root).
func (c *PGCluster) run(name string, args ...string) error {
	out, err := cluster.PostgresCommand(c.bin, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, out)
	}
	return nil
}

// StartPGCluster starts a primary (with settings, as NewPGCluster) and n
// streaming replicas, removed when the test ends, or skips when the
// binaries are missing.
func StartPGCluster(t testing.TB, replicas int, settings ...string) *PGCluster {
	t.Helper()
	if pgBin() == "" {
		Missing(t, "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)")
	}
	c, err := NewPGCluster(replicas, settings...)
	if err != nil {
		t.Fatal(err)
	}
	c.t = t
	t.Cleanup(c.Close)
	return c
}

// ErrNoPGBinaries is NewPGCluster's error on a machine without them.
var ErrNoPGBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found")

// NewPGCluster starts a primary and n streaming replicas for a caller
// that is not a test (TestMain, say); Close removes them.
//
// settings are extra server settings for the primary, e.g.
// "wal_level=logical" for a server that publishes.
func NewPGCluster(replicas int, settings ...string) (_ *PGCluster, err error) {
	bin := pgBin()
	if bin == "" {
		return nil, ErrNoPGBinaries
	}
	dir, err := os.MkdirTemp("", "photofeed-pg-")
	if err != nil {
		return nil, err
	}
	c := &PGCluster{bin: bin, dir: dir}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if err := cluster.ChownToPostgres(dir); err != nil {
		return nil, err
	}
	port, err := anyFreePort()
	if err != nil {
		return nil, err
	}
	primary := pgNode{data: filepath.Join(dir, "primary"), port: port}
	if err := c.run("initdb", "-D", primary.data, "--auth=trust", "-U", "postgres", "--no-sync"); err != nil {
		return nil, err
	}
	c.nodes = append(c.nodes, primary)
	opts := []string{"-c", "wal_level=replica", "-c", "max_wal_senders=10", "-c", "fsync=off"}
	for _, kv := range settings {
		opts = append(opts, "-c", kv)
	}
	c.settings = opts
	if err := c.start(0, opts...); err != nil {
		return nil, err
	}
	for i := range replicas {
		port, err := anyFreePort()
		if err != nil {
			return nil, err
		}
		r := pgNode{data: filepath.Join(dir, fmt.Sprint("replica", i)), port: port}
		if err := c.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres",
			"-D", r.data, "-R", "-X", "stream", "-c", "fast"); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, r)
		if err := c.start(len(c.nodes)-1, "-c", "fsync=off"); err != nil {
			return nil, err
		}
	}
	return c, nil
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

// StartPrimary starts a stopped primary again, on its old port and data,
// and waits until it takes connections.
func (c *PGCluster) StartPrimary() {
	c.t.Helper()
	if err := c.start(0, c.settings...); err != nil {
		c.t.Fatal(err)
	}
}

// StopReplicas stops every replica at once, as a crash would.
func (c *PGCluster) StopReplicas() {
	c.t.Helper()
	for i := 1; i < len(c.nodes); i++ {
		if err := c.run("pg_ctl", "-D", c.nodes[i].data, "-m", "immediate", "stop"); err != nil {
			c.t.Fatal(err)
		}
	}
}

// StartReplicas starts the stopped replicas again, with settings (as
// "recovery_target_lsn=0/3000000") if any.
func (c *PGCluster) StartReplicas(settings ...string) {
	c.t.Helper()
	opts := []string{"-c", "fsync=off"}
	for _, kv := range settings {
		opts = append(opts, "-c", kv)
	}
	for i := 1; i < len(c.nodes); i++ {
		if err := c.start(i, opts...); err != nil {
			c.t.Fatal(err)
		}
	}
}

// Close stops every server and removes their data.
func (c *PGCluster) Close() {
	for i := len(c.nodes) - 1; i >= 0; i-- {
		c.run("pg_ctl", "-D", c.nodes[i].data, "-m", "immediate", "stop")
	}
	os.RemoveAll(c.dir)
}

// Database makes a fresh database on the primary, waits until the
// replicas have it too, and returns its URL on the primary and on each
// replica; it is dropped when the test ends.
func (c *PGCluster) Database(t testing.TB) (primary string, replicas []string) {
	t.Helper()
	db, err := sql.Open("pgx", c.PrimaryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := freshDatabase(t, db, c.PrimaryURL())
	on := func(u string) string { return strings.Replace(u, "/postgres?", "/"+name+"?", 1) }
	for _, r := range c.ReplicaURLs() {
		rdb, err := sql.Open("pgx", r)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n int
			if err := rdb.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err == nil && n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("database %s did not reach the replica %s", name, r)
			}
			time.Sleep(10 * time.Millisecond)
		}
		rdb.Close()
		replicas = append(replicas, on(r))
	}
	return on(c.PrimaryURL()), replicas
}
