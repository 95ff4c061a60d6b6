// Package app wires photofeed together: configuration, adapters, roles,
// and the order things start and stop in.
package app

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/photofeed/photofeed/internal/httpapi"
)

// Run is the whole program: main only calls it, and tests call it too.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := parseServeConfig(rest, getenv, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout, stderr)
	case "cluster":
		return clusterCmd(ctx, rest, stdout, stderr)
	case "chaos":
		return chaosCmd(ctx, rest, stdout, stderr)
	case "reindex":
		cfg, err := parseServeConfig(rest, getenv, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		if err != nil {
			return err
		}
		return reindex(ctx, cfg, stdout, stderr)
	case "plan":
		return plan(rest, stdout, stderr)
	case "loadtest":
		return loadtestCmd(ctx, rest, stdout, stderr)
	case "bulkload":
		return bulkloadCmd(ctx, rest, stdout, stderr)
	case "jobs":
		return jobsCmd(ctx, rest, getenv, stdout)
	case "users":
		return usersCmd(ctx, rest, getenv, stdout)
	case "shards":
		return shardsCmd(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "photofeed", version())
		return nil
	case "openapi":
		_, err := stdout.Write(append(httpapi.OpenAPI(), '\n'))
		return err
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q (try: photofeed help)", cmd)
}

const usage = `photofeed: a self-hostable photo-sharing service

Usage:
  photofeed [serve] [flags]   run the service (all roles, embedded engines)
  photofeed serve --roles gateway --upstreams URL[,URL...] --secret S
                              the front door of api nodes: balancing, token checks, rate limits
  photofeed cluster [flags]   the whole topology on this machine: a gateway, api and worker
                              nodes, PostgreSQL, Redis and NATS (cluster -h for the flags)
  photofeed chaos [flags]     a throwaway cluster under a workload while its parts are killed
                              and stopped; a success-ratio report and an audit (chaos -h)
  photofeed reindex [flags]   rebuild the search index from the database (server stopped)
  photofeed jobs list [--state discarded] | jobs retry <id> [--database name]
                              background jobs of every database; discarded ones are the dead letters
  photofeed users grant-admin|revoke-admin <username>
  photofeed shards list       the shard map and each logical shard's rows (PostgreSQL)
  photofeed shards move <shard> <database> [--max-pause 2s]
                              move a logical shard to another database, online
  photofeed plan [flags]      capacity plan: back-of-envelope estimates, the nines, a sized deployment
  photofeed loadtest --target URL [flags]
                              seed a dataset through the API, load it open or closed loop,
                              print p50/p99/p99.9 per operation (loadtest -h)
  photofeed bulkload [flags]  write a large synthetic dataset into a new data directory, without
                              the API, and its accounts file for loadtest (bulkload -h)
  photofeed version           print the version
  photofeed openapi           print the OpenAPI document the server serves at /openapi.json
  photofeed serve -h          list the serve flags

Every flag can also be set as PHOTOFEED_<FLAG> (e.g. PHOTOFEED_ADDR).
`

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// loadSecret returns the configured secret or the one kept in the data
// directory, creating it on first start. One that is there but too short
// is an error, not replaced: a new secret would log everyone out and
// invalidate every cursor, and a cut-off file is worth a look.
func loadSecret(cfg Config) ([]byte, error) {
	if cfg.Secret != "" {
		return []byte(cfg.Secret), nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err == nil {
		return nil, fmt.Errorf("%s is %d bytes, want at least 32: restore it, or delete it to make a new one (which logs everyone out)", path, len(b))
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	b = make([]byte, 32)
	if _, err := randRead(b); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("write secret: %w", err)
	}
	return b, nil
}

// loadNodeID returns this data directory's node id (made on first use):
// what tells apart the per-node state of instances sharing a bus.
func loadNodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node-id")
	b, err := os.ReadFile(path)
	if err == nil && len(b) == 16 {
		return string(b), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read node id: %w", err)
	}
	var raw [8]byte
	if _, err := randRead(raw[:]); err != nil {
		return "", fmt.Errorf("generate node id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	return id, nil
}
