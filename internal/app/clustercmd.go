package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/photofeed/photofeed/internal/cluster"
)

// clusterConfig is what `photofeed cluster` is told: the topology, the
// engines by URL (or none, to start throwaway ones), and where state goes.
type clusterConfig struct {
	API, Workers  int
	NoGateway     bool
	DB, Redis     string // "" starts one
	NATS          string // "" starts a 3-node cluster in this process
	DataDir       string // "" a temporary directory, removed on exit
	Verbose       bool   // children's output to stderr, prefixed, instead of log files
	LogicalShards int
	RateLimits    string
	LogLevel      string
	StartTimeout  time.Duration
	NodeArgs      []string // after "--": passed to every api and worker node
	// PGReplicas is how many streaming replicas of a started PostgreSQL
	// to run; the nodes read from them.
	PGReplicas int
	// NetNS names the started engines ("postgres", "redis") that run in
	// a network namespace of their own (root only), for `photofeed chaos`
	// to cut off or degrade their link.
	NetNS []string
}

func parseClusterConfig(args []string, stderr io.Writer) (clusterConfig, error) {
	var c clusterConfig
	fs := flag.NewFlagSet("photofeed cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.API, "api", 3, "api nodes")
	fs.IntVar(&c.Workers, "workers", 2, "worker nodes")
	fs.BoolVar(&c.NoGateway, "no-gateway", false, "start no gateway: clients use the api nodes directly")
	fs.StringVar(&c.DB, "db", "", "PostgreSQL URL (default: a throwaway server from the installed binaries)")
	fs.StringVar(&c.Redis, "redis", "", "Redis URL (default: a throwaway redis-server)")
	fs.StringVar(&c.NATS, "nats", "", "NATS URLs, comma-separated (default: a 3-node JetStream cluster in this process)")
	fs.IntVar(&c.PGReplicas, "pg-replicas", 1, "streaming replicas of the started PostgreSQL (pg_basebackup), which the nodes read from; 0 for none (ignored with --db)")
	fs.StringVar(&c.DataDir, "data-dir", "", "keep everything here between runs: engines' data, nodes' data dirs, logs, the shared secret (default: a temporary directory, removed on exit)")
	fs.BoolVar(&c.Verbose, "verbose", false, "nodes' output to stderr, each line prefixed with the node's name (default: a log file per node)")
	fs.IntVar(&c.LogicalShards, "logical-shards", 1024, "logical shards of a new deployment (serve --logical-shards); fewer start faster on a fresh database")
	fs.StringVar(&c.RateLimits, "rate-limits", "", `rate-limit policy file for every node, or "off" (default: built-in policies)`)
	fs.StringVar(&c.LogLevel, "log-level", "info", "nodes' log level")
	fs.DurationVar(&c.StartTimeout, "start-timeout", 3*time.Minute, "how long a node may take to become ready (a fresh PostgreSQL lays out its shards first)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: photofeed cluster [flags] [-- serve flags for every api and worker node]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.NodeArgs = fs.Args()
	if i := len(args) - len(c.NodeArgs) - 1; len(c.NodeArgs) > 0 && (i < 0 || args[i] != "--") {
		return c, fmt.Errorf("unexpected argument %q (serve flags for the nodes go after --)", c.NodeArgs[0])
	}
	switch {
	case c.API < 1 || c.API > 64:
		return c, errors.New("--api must be from 1 to 64")
	case c.Workers < 1 || c.Workers > 64:
		return c, errors.New("--workers must be from 1 to 64")
	case c.LogicalShards < 1 || c.LogicalShards > 8192:
		return c, errors.New("--logical-shards must be from 1 to 8192")
	case c.StartTimeout <= 0:
		return c, errors.New("--start-timeout must be positive")
	case c.PGReplicas < 0 || c.PGReplicas > 8:
		return c, errors.New("--pg-replicas must be from 0 to 8")
	}
	return c, nil
}

// clusterCmd is `photofeed cluster`: the whole topology on this machine
// until ctx ends (Ctrl-C), then everything it started stopped.
func clusterCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseClusterConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := startCluster(ctx, cfg, stdout, stderr)
	if c != nil {
		defer c.stop()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting: what started is stopped
		}
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "photofeed cluster: stopping")
	return nil
}

// startCluster starts the topology cfg describes and prints its table.
// The run it returns (also on error, with what did start) must be
// stopped; `photofeed chaos` keeps it to kill and restart its parts.
func startCluster(ctx context.Context, cfg clusterConfig, stdout, stderr io.Writer) (*clusterRun, error) {
	if missing := missingEngines(cfg); len(missing) > 0 {
		for _, m := range missing {
			fmt.Fprintln(stderr, m)
		}
		return nil, errors.New("cluster: engines missing (see above)")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cluster: find this program: %w", err)
	}
	c := &clusterRun{cfg: cfg, self: self, stdout: stdout, stderr: stderr}
	return c, c.start(ctx)
}

// clusterRun is one run of the cluster: what it started, to stop.
type clusterRun struct {
	cfg    clusterConfig
	self   string // this program, run again for every node
	stdout io.Writer
	stderr io.Writer

	dir       string // the cluster's data dir
	throwaway bool   // dir is removed on exit
	secret    string
	engines   engines
	sup       cluster.Supervisor
	gateway   *cluster.Process
	nodes     []clusterNode
	stderrMu  sync.Mutex // children's prefixed lines with --verbose
	logs      []io.Closer
	up        atomic.Bool // started: a node's exit now is news
}

func (c *clusterRun) start(ctx context.Context) error {
	if err := c.makeDir(); err != nil {
		return err
	}
	c.sup.OnExit = func(p *cluster.Process) {
		if !c.up.Load() {
			return // a failure while starting is start's error
		}
		c.stderrMu.Lock() // between the lines of --verbose
		defer c.stderrMu.Unlock()
		fmt.Fprintf(c.stderr, "photofeed cluster: %s (pid %d) exited: %v; its output ends with:\n%s\n", p.Name, p.PID(), p.Err(), lastLines(p.Tail(), 10))
	}
	if err := c.engines.start(ctx, c.cfg, c.dir, c.throwaway); err != nil {
		return err
	}
	if err := c.startNodes(ctx); err != nil {
		return err
	}
	c.up.Store(true)
	c.printTable()
	return nil
}

// makeDir opens the cluster's data dir, or makes a temporary one, and
// its shared secret.
func (c *clusterRun) makeDir() error {
	c.dir, c.throwaway = c.cfg.DataDir, c.cfg.DataDir == ""
	if c.throwaway {
		d, err := os.MkdirTemp("", "photofeed-cluster-")
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		c.dir = d
	} else if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("cluster: data dir: %w", err)
	}
	abs, err := filepath.Abs(c.dir)
	if err != nil {
		return fmt.Errorf("cluster: data dir: %w", err)
	}
	c.dir = abs
	if c.cfg.DB == "" && os.Geteuid() == 0 {
		// PostgreSQL runs as the postgres user, which must enter the
		// directory to reach its own; the files in it stay private.
		if err := os.Chmod(c.dir, 0o711); err != nil {
			return fmt.Errorf("cluster: data dir: %w", err)
		}
	}
	c.secret, err = clusterSecret(c.dir)
	return err
}

// clusterSecret is the secret every node shares (sessions made by one
// are valid on all), kept in the cluster's data dir.
func clusterSecret(dir string) (string, error) {
	path := filepath.Join(dir, "secret")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return string(b), nil
	}
	raw := make([]byte, 32)
	if _, err := randRead(raw); err != nil {
		return "", fmt.Errorf("cluster: generate secret: %w", err)
	}
	s := fmt.Sprintf("%x", raw)
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		return "", fmt.Errorf("cluster: write secret: %w", err)
	}
	return s, nil
}

// stop stops what start started, front to back: the gateway (no new
// requests), the nodes, then the engines; a temporary data dir goes last.
func (c *clusterRun) stop() {
	const grace = 20 * time.Second // above serve's default --shutdown-timeout
	c.up.Store(false)              // the exits from here on are asked for
	if c.gateway != nil {
		c.gateway.Stop(grace)
	}
	c.sup.StopAll(grace)
	for _, l := range c.logs {
		l.Close()
	}
	c.engines.stop(c.stderr)
	if c.throwaway && c.dir != "" {
		if err := os.RemoveAll(c.dir); err != nil {
			fmt.Fprintf(c.stderr, "photofeed cluster: remove %s: %v\n", c.dir, err)
		}
	}
}

// lastLines is the end of a node's output, enough to say why it stopped.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
