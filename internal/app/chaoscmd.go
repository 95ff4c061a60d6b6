package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/chaos"
	"github.com/photofeed/photofeed/internal/cluster"
)

// faultKinds are the faults `photofeed chaos` can inject, in the order
// --faults all names them.
var faultKinds = []string{"kill-api", "kill-worker", "redis-stop", "nats-stop", "postgres-stop",
	"postgres-replica-stop", "redis-partition", "postgres-partition", "packet-loss", "latency"}

// netFaults need a network namespace: root, ip and iptables; latency
// needs the kernel's netem qdisc as well.
var netFaults = []string{"redis-partition", "postgres-partition", "packet-loss", "latency"}

// faultEngines are the engines a network fault can strike: they run in
// namespaces of their own when it is asked for.
var faultEngines = map[string][]string{
	"redis-partition":    {"redis"},
	"postgres-partition": {"postgres"},
	"packet-loss":        {"redis", "postgres"},
	"latency":            {"redis", "postgres"},
}

const chaosNotBuilt = `Not built yet: a partition from NATS (its nodes run inside this process,
so no namespace can hold one of them). No fault here pretends to be one.`

type chaosConfig struct {
	cluster  clusterConfig
	duration time.Duration
	seed     int64
	faults   []string
	target   float64
	report   string
	clients  int
	rate     float64
	hold     time.Duration
	settle   time.Duration
	loss     float64
	delay    time.Duration
	skipped  []string // faults asked for that cannot run here, and why
}

func parseChaosConfig(args []string, stderr io.Writer) (chaosConfig, error) {
	var c chaosConfig
	var faults string
	fs := flag.NewFlagSet("photofeed chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.duration, "duration", 150*time.Second, "how long the workload runs (the faults fall between its first tenth and its last fifth: each fault of --faults all, held --hold and followed by a quiet 5 s, needs about 150 s at the default hold)")
	fs.Int64Var(&c.seed, "seed", 1, "decides the faults' order, times and targets, and the workload's choices")
	fs.StringVar(&faults, "faults", "all", "faults to inject, comma-separated, each once: "+strings.Join(faultKinds, ", ")+`; "all"; or "none" for a baseline`)
	fs.Float64Var(&c.target, "target", 0.9999, "availability objective: the share of operations that must succeed")
	fs.StringVar(&c.report, "report", "", "also write the report as JSON to this file")
	fs.IntVar(&c.clients, "clients", 3, "concurrent clients")
	fs.Float64Var(&c.rate, "rate", 15, "operations per second over all clients")
	fs.DurationVar(&c.hold, "hold", 5*time.Second, "how long an engine stays stopped (a killed node is restarted at once)")
	fs.DurationVar(&c.settle, "settle", 2*time.Minute, "how long the audit lets the system converge before it reports what is off (a killed worker's job is rescued after 90 s)")
	fs.Float64Var(&c.loss, "loss", 0.2, "packet-loss: the share of packets dropped, each way, on the engine's link")
	fs.DurationVar(&c.delay, "delay", 200*time.Millisecond, "latency: the delay added to the engine's replies (needs the kernel's netem qdisc)")
	fs.IntVar(&c.cluster.PGReplicas, "pg-replicas", 1, "streaming replicas of the cluster's PostgreSQL, which the nodes read from (postgres-replica-stop needs one)")
	fs.IntVar(&c.cluster.API, "api", 2, "api nodes")
	fs.IntVar(&c.cluster.Workers, "workers", 2, "worker nodes")
	fs.IntVar(&c.cluster.LogicalShards, "logical-shards", 16, "logical shards of the throwaway database")
	fs.StringVar(&c.cluster.RateLimits, "rate-limits", "off", `rate-limit policy file for every node, or "off": every client here is one loopback address`)
	fs.StringVar(&c.cluster.LogLevel, "log-level", "info", "nodes' log level")
	fs.StringVar(&c.cluster.DataDir, "data-dir", "", "keep the cluster's data and the nodes' logs here, to read after the run (default: a temporary directory, removed on exit)")
	fs.DurationVar(&c.cluster.StartTimeout, "start-timeout", 3*time.Minute, "how long a node may take to become ready")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: photofeed chaos [flags] [-- serve flags for every api and worker node]

Starts a throwaway cluster (as photofeed cluster: a gateway, api and worker
nodes, PostgreSQL and its replica, Redis, a 3-node NATS), drives a mixed workload through
the gateway on loopback, breaks parts of the cluster on a schedule from
--seed, and audits the end state. Prints a report (and --report writes it
as JSON); exits non-zero when the success ratio is below --target or the
audit finds anything.

`+chaosNotBuilt+"\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.cluster.NodeArgs = fs.Args()
	if i := len(args) - len(c.cluster.NodeArgs) - 1; len(c.cluster.NodeArgs) > 0 && (i < 0 || args[i] != "--") {
		return c, fmt.Errorf("unexpected argument %q (serve flags for the nodes go after --)", c.cluster.NodeArgs[0])
	}
	switch faults {
	case "all":
		c.faults = faultKinds
	case "none", "":
	default:
		for _, f := range strings.Split(faults, ",") {
			f = strings.TrimSpace(f)
			if !slices.Contains(faultKinds, f) {
				return c, fmt.Errorf("--faults: unknown fault %q (known: %s)", f, strings.Join(faultKinds, ", "))
			}
			c.faults = append(c.faults, f)
		}
	}
	skip := func(f string, why error) {
		if i := slices.Index(c.faults, f); i >= 0 {
			c.faults = slices.Delete(slices.Clone(c.faults), i, i+1)
			c.skipped = append(c.skipped, fmt.Sprintf("%s skipped: %v", f, why))
		}
	}
	if err := cluster.NetNSAvailable(); err != nil {
		for _, f := range netFaults {
			skip(f, err)
		}
	} else if slices.Contains(c.faults, "latency") {
		if err := cluster.NetemAvailable(); err != nil {
			skip("latency", err)
		}
	}
	if slices.Contains(c.faults, "postgres-replica-stop") && c.cluster.PGReplicas < 1 {
		skip("postgres-replica-stop", errors.New("--pg-replicas 0: no replica to stop"))
	}
	for _, f := range c.faults {
		for _, e := range faultEngines[f] {
			if !slices.Contains(c.cluster.NetNS, e) {
				c.cluster.NetNS = append(c.cluster.NetNS, e)
			}
		}
	}
	switch {
	case c.duration < 10*time.Second:
		return c, errors.New("--duration must be at least 10s")
	case c.target <= 0 || c.target >= 1:
		return c, errors.New("--target must be between 0 and 1 (0.9999 is four nines)")
	case c.clients < 1 || c.clients > 64:
		return c, errors.New("--clients must be from 1 to 64")
	case c.rate <= 0:
		return c, errors.New("--rate must be positive")
	case c.loss <= 0 || c.loss >= 1:
		return c, errors.New("--loss must be between 0 and 1")
	case c.delay <= 0:
		return c, errors.New("--delay must be positive")
	case c.cluster.API < 2 && slices.Contains(c.faults, "kill-api"):
		return c, errors.New("--api must be at least 2 to kill one: with one there is nothing to fail over to")
	case c.cluster.API < 1 || c.cluster.Workers < 1:
		return c, errors.New("--api and --workers must be at least 1")
	}
	return c, nil
}

// chaosCmd is `photofeed chaos`: a cluster, a workload, faults, a report.
func chaosCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseChaosConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := startCluster(ctx, cfg.cluster, stdout, stderr)
	if c != nil {
		defer c.stop()
	}
	if err != nil {
		return err
	}
	if c.gateway == nil {
		return errors.New("chaos: the cluster has no gateway, and the workload goes through one")
	}
	fmt.Fprintln(stdout, chaosNotBuilt)
	for _, s := range cfg.skipped {
		fmt.Fprintln(stdout, s)
	}
	kinds, err := c.faultKinds(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nchaos: %s of workload, seed %d, faults %v\n", cfg.duration, cfg.seed, cfg.faults)
	report, err := chaos.Run(ctx, chaos.Config{
		Entry:    c.nodes[slices.IndexFunc(c.nodes, func(n clusterNode) bool { return n.role == "gateway" })].url,
		Duration: cfg.duration, Seed: cfg.seed, Clients: cfg.clients, Rate: cfg.rate, Target: cfg.target,
		Faults: kinds, Settle: cfg.settle, DB: c.engines.db, MediaDir: filepath.Join(c.dir, "media"),
		Progress: stdout,
	})
	if report != nil {
		report.Print(stdout)
		if cfg.report != "" {
			b, _ := json.MarshalIndent(report, "", "  ")
			if werr := os.WriteFile(cfg.report, append(b, '\n'), 0o644); werr != nil {
				return fmt.Errorf("chaos: write report: %w", werr)
			}
		}
	}
	if err != nil {
		return err
	}
	if !report.Pass {
		return errors.New("chaos: the run did not pass (see the verdict above)")
	}
	return nil
}

// faultKinds binds each fault asked for to this cluster's parts.
func (c *clusterRun) faultKinds(cfg chaosConfig) ([]chaos.Kind, error) {
	var out []chaos.Kind
	for _, name := range cfg.faults {
		k := chaos.Kind{Name: name}
		switch name {
		case "kill-api", "kill-worker":
			k.Targets = c.nodeNames(strings.TrimPrefix(name, "kill-"))
			k.Inject = func(_ context.Context, t string) error { return c.killNode(t) }
			k.Restore = c.restartNode
		case "redis-stop":
			if c.engines.rd == nil {
				return nil, errors.New("chaos: redis-stop needs the cluster's own Redis")
			}
			k.Targets, k.Hold = []string{"redis"}, cfg.hold
			k.Inject = func(context.Context, string) error { c.engines.rd.Stop(); return nil }
			k.Restore = func(ctx context.Context, _ string) error { return c.engines.rd.Start(ctx) }
		case "nats-stop":
			bus := c.engines.bus
			if bus == nil {
				return nil, errors.New("chaos: nats-stop needs the cluster's own NATS")
			}
			for i := range bus.Len() {
				k.Targets = append(k.Targets, fmt.Sprintf("nats-%d", i+1))
			}
			k.Hold = cfg.hold
			k.Inject = func(_ context.Context, t string) error {
				i, err := natsIndex(t)
				if err == nil {
					bus.Stop(i)
				}
				return err
			}
			k.Restore = func(_ context.Context, t string) error {
				i, err := natsIndex(t)
				if err == nil {
					err = bus.Restart(i)
				}
				return err
			}
		case "redis-partition", "postgres-partition":
			engine := strings.TrimSuffix(name, "-partition")
			ns := c.engines.ns[engine]
			if ns == nil {
				return nil, fmt.Errorf("chaos: %s needs the cluster's own %s in a network namespace", name, engine)
			}
			k.Targets, k.Hold = []string{engine}, cfg.hold
			k.Inject = func(context.Context, string) error { return ns.Partition() }
			k.Restore = func(context.Context, string) error { return ns.Heal() }
		case "packet-loss", "latency":
			for _, e := range faultEngines[name] {
				if c.engines.ns[e] != nil {
					k.Targets = append(k.Targets, e)
				}
			}
			if len(k.Targets) == 0 {
				return nil, fmt.Errorf("chaos: %s needs one of the cluster's own engines in a network namespace", name)
			}
			k.Hold = cfg.hold
			if name == "packet-loss" {
				k.Inject = func(_ context.Context, t string) error { return c.engines.ns[t].Lose(cfg.loss) }
				k.Restore = func(_ context.Context, t string) error { return c.engines.ns[t].StopLosing(cfg.loss) }
			} else {
				k.Inject = func(_ context.Context, t string) error { return c.engines.ns[t].Delay(cfg.delay) }
				k.Restore = func(_ context.Context, t string) error { return c.engines.ns[t].StopDelaying() }
			}
		case "postgres-replica-stop":
			if len(c.engines.pgReplicas) == 0 {
				return nil, errors.New("chaos: postgres-replica-stop needs a replica of the cluster's own PostgreSQL")
			}
			for i := range c.engines.pgReplicas {
				k.Targets = append(k.Targets, fmt.Sprintf("postgres-replica-%d", i+1))
			}
			k.Hold = cfg.hold
			replica := func(t string) *cluster.Postgres {
				var i int
				fmt.Sscanf(t, "postgres-replica-%d", &i) // t is one of the Targets above
				return c.engines.pgReplicas[i-1]
			}
			k.Inject = func(_ context.Context, t string) error { return replica(t).Crash() }
			k.Restore = func(_ context.Context, t string) error { return replica(t).Start() }
		case "postgres-stop":
			pg := c.engines.pg
			if pg == nil {
				return nil, errors.New("chaos: postgres-stop needs the cluster's own PostgreSQL")
			}
			k.Targets, k.Hold = []string{"postgres"}, cfg.hold
			k.Inject = func(context.Context, string) error { return pg.Crash() }
			k.Restore = func(context.Context, string) error { return pg.Start() }
		}
		out = append(out, k)
	}
	return out, nil
}
