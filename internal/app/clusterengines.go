package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/photofeed/photofeed/internal/cluster"
)

// engines are the cluster's PostgreSQL, Redis and NATS: given by URL, or
// started here (then the fields for them are set, for the table and to
// stop them).
type engines struct {
	db, redis, nats string   // the URLs the nodes use
	dbReplicas      []string // the replicas' URLs, for --db-replicas
	pg              *cluster.Postgres
	pgReplicas      []*cluster.Postgres
	rd              *cluster.Redis
	bus             *cluster.NATS
	// ns holds the network namespaces the engines named in NetNS run in,
	// by engine name.
	ns map[string]*cluster.NetNS
}

// missingEngines says, one line each, what must be installed (or given
// by URL) for the engines the cluster would start.
func missingEngines(cfg clusterConfig) []string {
	var out []string
	if cfg.DB == "" && cluster.PostgresBinDir() == "" {
		out = append(out, "PostgreSQL not found (initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin): install postgresql, or pass --db postgres://...")
	}
	if cfg.DB == "" && os.Geteuid() == 0 {
		if _, err := exec.LookPath("su"); err != nil {
			out = append(out, "running as root, PostgreSQL is started as the postgres user with su, which is not found: pass --db postgres://...")
		}
	}
	if _, err := exec.LookPath("redis-server"); cfg.Redis == "" && err != nil {
		out = append(out, "Redis not found (redis-server on PATH): install redis-server, or pass --redis redis://...")
	}
	return out
}

// start starts the engines not given by URL, their state under dir.
func (e *engines) start(ctx context.Context, cfg clusterConfig, dir string, throwaway bool) error {
	e.db, e.redis, e.nats = cfg.DB, cfg.Redis, cfg.NATS
	e.ns = map[string]*cluster.NetNS{}
	for _, name := range cfg.NetNS {
		if given := map[string]string{"postgres": e.db, "redis": e.redis}[name]; given != "" {
			continue // not started here: not ours to move
		}
		ns, err := cluster.NewNetNS()
		if err != nil {
			return fmt.Errorf("cluster: %s's network namespace: %w", name, err)
		}
		e.ns[name] = ns
	}
	var err error
	if e.db == "" {
		if e.pg, err = cluster.StartPostgresIn(filepath.Join(dir, "postgres"), throwaway, e.ns["postgres"]); err != nil {
			if errors.Is(err, cluster.ErrNoPostgres) {
				return fmt.Errorf("cluster: %w: install postgresql, or pass --db postgres://...", err)
			}
			return fmt.Errorf("cluster: start PostgreSQL: %w", err)
		}
		e.db = e.pg.URL()
		for i := range cfg.PGReplicas {
			r, err := e.pg.StartReplica(filepath.Join(dir, fmt.Sprintf("postgres-replica-%d", i+1)))
			if err != nil {
				return fmt.Errorf("cluster: start a PostgreSQL replica: %w", err)
			}
			e.pgReplicas = append(e.pgReplicas, r)
			e.dbReplicas = append(e.dbReplicas, r.URL())
		}
	}
	if e.redis == "" {
		if e.rd, err = cluster.StartRedisIn(ctx, filepath.Join(dir, "redis"), throwaway, e.ns["redis"]); err != nil {
			return fmt.Errorf("cluster: start Redis: %w", err)
		}
		e.redis = e.rd.URL()
	}
	if e.nats == "" {
		if e.bus, err = cluster.StartNATS(cluster.NATSConfig{Nodes: 3, Dir: filepath.Join(dir, "nats")}); err != nil {
			return fmt.Errorf("cluster: start NATS: %w", err)
		}
		e.nats = e.bus.URL()
	}
	return nil
}

// stop stops the engines started here, in the reverse order.
func (e *engines) stop(stderr io.Writer) {
	if e.bus != nil {
		e.bus.Shutdown()
	}
	if e.rd != nil {
		e.rd.Stop()
	}
	for _, r := range e.pgReplicas {
		if err := r.Stop(); err != nil {
			fmt.Fprintf(stderr, "photofeed cluster: stop a PostgreSQL replica: %v\n", err)
		}
	}
	if e.pg != nil {
		if err := e.pg.Stop(); err != nil {
			fmt.Fprintf(stderr, "photofeed cluster: stop PostgreSQL: %v\n", err)
		}
	}
	// After the engines in them: a namespace goes when its last process does.
	for name, ns := range e.ns {
		if err := ns.Close(); err != nil {
			fmt.Fprintf(stderr, "photofeed cluster: remove %s's network namespace: %v\n", name, err)
		}
	}
}
