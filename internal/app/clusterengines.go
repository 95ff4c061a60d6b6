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
	db, redis, nats string // the URLs the nodes use
	pg              *cluster.Postgres
	rd              *cluster.Redis
	rdNS            *cluster.NetNS // where rd runs, with RedisNetNS
	bus             *cluster.NATS
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
	var err error
	if e.db == "" {
		if e.pg, err = cluster.StartPostgres(filepath.Join(dir, "postgres"), throwaway); err != nil {
			if errors.Is(err, cluster.ErrNoPostgres) {
				return fmt.Errorf("cluster: %w: install postgresql, or pass --db postgres://...", err)
			}
			return fmt.Errorf("cluster: start PostgreSQL: %w", err)
		}
		e.db = e.pg.URL()
	}
	if e.redis == "" && cfg.RedisNetNS {
		if e.rdNS, err = cluster.NewNetNS(); err != nil {
			return fmt.Errorf("cluster: Redis's network namespace: %w", err)
		}
	}
	if e.redis == "" {
		if e.rd, err = cluster.StartRedisIn(ctx, filepath.Join(dir, "redis"), throwaway, e.rdNS); err != nil {
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
	if e.rdNS != nil {
		if err := e.rdNS.Close(); err != nil {
			fmt.Fprintf(stderr, "photofeed cluster: remove Redis's network namespace: %v\n", err)
		}
	}
	if e.pg != nil {
		if err := e.pg.Stop(); err != nil {
			fmt.Fprintf(stderr, "photofeed cluster: stop PostgreSQL: %v\n", err)
		}
	}
}
