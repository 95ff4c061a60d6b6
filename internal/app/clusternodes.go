package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/cluster"
)

// clusterNode is one photofeed process of the cluster.
type clusterNode struct {
	name, role string
	url        string
	log        string // its log file, or "stderr" with --verbose
	args       []string
	proc       *cluster.Process
}

// startNodes starts the api and worker nodes, then the gateway in front
// of the api nodes, each waited for until it is ready.
func (c *clusterRun) startNodes(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(c.dir, "media"), 0o700); err != nil {
		return fmt.Errorf("cluster: media dir: %w", err)
	}
	var apis, workers []*clusterNode
	for i := range c.cfg.API {
		apis = append(apis, &clusterNode{name: fmt.Sprintf("api-%d", i+1), role: "api"})
	}
	for i := range c.cfg.Workers {
		workers = append(workers, &clusterNode{name: fmt.Sprintf("worker-%d", i+1), role: "worker"})
	}
	// The first alone: on a fresh database it lays out the deployment
	// (the shard map, the schemas), which the others then find made.
	if err := c.launch(apis[0]); err != nil {
		return err
	}
	if err := c.waitReady(ctx, apis[0], "/readyz", false); err != nil {
		return err
	}
	rest := append(apis[1:], workers...)
	for _, n := range rest {
		if err := c.launch(n); err != nil {
			return err
		}
	}
	for _, n := range rest {
		if err := c.waitReady(ctx, n, "/readyz", false); err != nil {
			return err
		}
	}
	if c.cfg.NoGateway {
		return nil
	}
	var upstreams []string
	for _, n := range apis {
		upstreams = append(upstreams, n.url)
	}
	return c.startGateway(ctx, upstreams)
}

// nodeArgs are the serve flags of an api or worker node.
func (c *clusterRun) nodeArgs(n *clusterNode) []string {
	args := []string{"serve", "--roles", n.role, "--addr", strings.TrimPrefix(n.url, "http://"),
		"--data-dir", filepath.Join(c.dir, "nodes", n.name),
		"--db", c.engines.db, "--redis", c.engines.redis, "--nats", c.engines.nats,
		"--logical-shards", strconv.Itoa(c.cfg.LogicalShards),
		"--metrics-addr", "off", "--log-level", c.cfg.LogLevel}
	if len(c.engines.dbReplicas) > 0 {
		args = append(args, "--db-replicas", strings.Join(c.engines.dbReplicas, ","))
	}
	if n.role == "api" {
		// The gateway names the client in Forwarded; only it, on
		// loopback, is believed.
		args = append(args, "--trusted-proxies", "127.0.0.1/32", "--client-ip-header", "forwarded")
	}
	if c.cfg.RateLimits != "" {
		args = append(args, "--rate-limits", c.cfg.RateLimits)
	}
	return append(args, c.cfg.NodeArgs...)
}

// launch starts n on a free port. Its media directory is the cluster's
// one: what an api node stores, the workers read (thumbnails) and every
// api node serves.
func (c *clusterRun) launch(n *clusterNode) error {
	port, err := cluster.FreePort()
	if err != nil {
		return err
	}
	n.url = "http://127.0.0.1:" + strconv.Itoa(port)
	dataDir := filepath.Join(c.dir, "nodes", n.name)
	if err := shareMedia(dataDir, filepath.Join(c.dir, "media")); err != nil {
		return err
	}
	return c.spawn(n, c.nodeArgs(n))
}

// shareMedia makes dataDir/media a link to the cluster's media directory
// (a node keeps media in its data dir when --blobs is not set).
func shareMedia(dataDir, media string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("cluster: node data dir: %w", err)
	}
	link := filepath.Join(dataDir, "media")
	if target, err := os.Readlink(link); err == nil && target == media {
		return nil
	}
	if err := os.Symlink(media, link); err != nil {
		return fmt.Errorf("cluster: share media: %w", err)
	}
	return nil
}

// spawn starts n's process with args, its output to its log, and adds
// it to the nodes.
func (c *clusterRun) spawn(n *clusterNode, args []string) error {
	if err := c.startProcess(n, args); err != nil {
		return err
	}
	c.nodes = append(c.nodes, *n)
	return nil
}

// startProcess starts n's process with args, its output to its log.
func (c *clusterRun) startProcess(n *clusterNode, args []string) error {
	var out io.Writer
	if c.cfg.Verbose {
		out, n.log = cluster.NewPrefixWriter(c.stderr, &c.stderrMu, n.name+" | "), "stderr"
	} else {
		if err := os.MkdirAll(filepath.Join(c.dir, "logs"), 0o700); err != nil {
			return fmt.Errorf("cluster: logs dir: %w", err)
		}
		n.log = filepath.Join(c.dir, "logs", n.name+".log")
		f, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("cluster: log file: %w", err)
		}
		c.logs = append(c.logs, f)
		out = f
	}
	p, err := c.sup.Start(cluster.Child{Name: n.name, Path: c.self, Args: args, Log: out,
		// In the environment, not the arguments, which every user can list.
		Env: []string{"PHOTOFEED_SECRET=" + c.secret}})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	n.proc, n.args = p, args
	return nil
}

// waitReady polls n's path until it answers 200 (or anything, with
// anyStatus), n exits, ctx ends or --start-timeout passes.
func (c *clusterRun) waitReady(ctx context.Context, n *clusterNode, path string, anyStatus bool) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.StartTimeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		resp, err := client.Get(n.url + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || anyStatus {
				return nil
			}
			last = resp.Status
		}
		select {
		case <-n.proc.Done():
			return fmt.Errorf("cluster: %s exited while starting (%v); its output ends with:\n%s", n.name, n.proc.Err(), lastLines(n.proc.Tail(), 10))
		case <-ctx.Done():
			return fmt.Errorf("cluster: %s not ready at %s%s after %s (%s); see %s", n.name, n.url, path, c.cfg.StartTimeout, last, n.log)
		case <-tick.C:
		}
	}
}

// startGateway starts the gateway in front of upstreams. A build without
// the gateway role refuses it at once; the cluster then runs without
// one, clients using the api nodes directly.
func (c *clusterRun) startGateway(ctx context.Context, upstreams []string) error {
	n := &clusterNode{name: "gateway", role: "gateway"}
	port, err := cluster.FreePort()
	if err != nil {
		return err
	}
	n.url = "http://127.0.0.1:" + strconv.Itoa(port)
	args := []string{"serve", "--roles", "gateway", "--addr", strings.TrimPrefix(n.url, "http://"),
		"--data-dir", filepath.Join(c.dir, "nodes", n.name), "--upstreams", strings.Join(upstreams, ","),
		"--redis", c.engines.redis, "--nats", c.engines.nats, // for its heartbeats only
		"--metrics-addr", "off", "--log-level", c.cfg.LogLevel}
	if c.cfg.RateLimits != "" {
		args = append(args, "--rate-limits", c.cfg.RateLimits)
	}
	if err := c.spawn(n, args); err != nil {
		return err
	}
	// The gateway's own readiness follows its upstreams' health checks;
	// an HTTP answer of any kind says it is up.
	err = c.waitReady(ctx, n, "/healthz", true)
	if err == nil {
		c.gateway = n.proc
		return nil
	}
	select {
	case <-n.proc.Done():
		if refusedRole(n.proc.Tail()) {
			c.nodes = c.nodes[:len(c.nodes)-1]
			fmt.Fprintln(c.stdout, "photofeed cluster: this build has no gateway role (serve --roles gateway refused); running without a gateway: use the api URLs")
			return nil
		}
	default:
	}
	return err
}

// refusedRole reports whether output ends with serve's refusal of the
// gateway role: its last line, the error main prints, is about --roles,
// or about --upstreams, the role's own flag, being unknown (flags are
// read before the roles are checked). Any other failure is not taken for
// a missing role.
func refusedRole(output string) bool {
	lines := strings.Split(strings.TrimSpace(output), "\n")
	last := lines[len(lines)-1]
	return strings.Contains(last, "--roles") || strings.Contains(last, `role "gateway"`) ||
		strings.Contains(last, "flag provided but not defined: -upstreams")
}
