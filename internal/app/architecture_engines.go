package app

import (
	"context"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/photofeed/photofeed/internal/bleveindex"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/topology"
)

// The engines as the architecture page draws them: each probed from this
// node's own connections, and said to be unknown where it cannot see.

func upOrDown(err error) (state, detail string) {
	if err != nil {
		return topology.EngineDown, err.Error()
	}
	return topology.EngineUp, ""
}

// hostOf is a database or server URL without its credentials.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable address)"
	}
	return u.Host
}

// databaseEngines are the SQL store's boxes: the primary of each
// database with the logical shards it holds, and each replica with its
// lag, from the checks the node makes anyway.
func databaseEngines(ctx context.Context, ad *adapters) []topology.Engine {
	db := ad.db
	if db.dialect == "sqlite" {
		state, detail := upOrDown(db.Ping(ctx))
		return []topology.Engine{{ID: "db-primary", Kind: "db", Name: "SQLite (embedded)", State: state, Detail: detail}}
	}
	check := db.Writable
	if check == nil {
		check = db.Ping
	}
	err := check(ctx)
	var out []topology.Engine
	names, urls := []string{""}, []string{""}
	placement := map[string]int{}
	if c := db.cluster; c != nil {
		names, urls = c.Names(), c.URLs()
		if m := c.Map(); m != nil {
			for _, home := range m.Homes {
				placement[home]++
			}
		}
	}
	for i, name := range names {
		e := topology.Engine{ID: "db-" + name, Kind: "db", Name: "PostgreSQL primary", State: topology.EngineUp}
		if name == "" {
			e.ID = "db-primary"
		} else {
			e.Name += " " + name
		}
		if i < len(urls) && urls[i] != "" {
			e.Detail = hostOf(urls[i])
		}
		// PingPrimaries names each database whose primary failed.
		if err != nil && (len(names) == 1 || strings.Contains(err.Error(), "database "+name+":")) {
			e.State, e.Detail = topology.EngineDown, err.Error()
		}
		if n, ok := placement[name]; ok {
			e.Facts = append(e.Facts, topology.Fact{Label: "logical shards", Value: strconv.Itoa(n)})
		}
		out = append(out, e)
	}
	if db.Replicas != nil {
		for i, r := range db.Replicas() {
			e := topology.Engine{ID: "replica-" + strconv.Itoa(i+1), Kind: "replica", Name: "PostgreSQL replica", Detail: r.Addr,
				State: topology.EngineUp, Facts: []topology.Fact{{Label: "lag", Value: strconv.FormatInt(r.LagMS, 10) + " ms"}}}
			if r.Database != "" {
				e.Name += " of " + r.Database
			}
			if !r.Healthy {
				e.State = topology.EngineDown
			}
			out = append(out, e)
		}
	}
	return out
}

func redisEngine(ctx context.Context, rdb *redis.Client, addr string) topology.Engine {
	e := topology.Engine{ID: "redis", Kind: "cache", Name: "Redis"}
	if rdb == nil {
		e.State, e.Detail = topology.EngineNone, "caches and rate limits are in each node's memory"
		return e
	}
	e.State, e.Detail = upOrDown(rdb.Ping(ctx).Err())
	if e.State == topology.EngineUp {
		e.Detail = hostOf(addr)
	}
	return e
}

// busEngines are the NATS servers: the one this node is connected to,
// as its connection sees it; the others it knows of, whose health it
// cannot see from here; and the fan-out's lag behind the stream.
func busEngines(ctx context.Context, bus *natsbus.Bus, given string) []topology.Engine {
	connected, known := bus.Servers()
	if given == "" {
		state, detail := upOrDown(bus.Connected())
		return []topology.Engine{withLag(ctx, bus, topology.Engine{ID: "nats-1", Kind: "bus", Name: "NATS (embedded in this node)", State: state, Detail: detail})}
	}
	slices.Sort(known)
	var out []topology.Engine
	for i, u := range known {
		e := topology.Engine{ID: "nats-" + strconv.Itoa(i+1), Kind: "bus", Name: "NATS " + hostOf(u),
			State: topology.EngineUnknown, Detail: "not this node's connection"}
		if hostOf(u) == hostOf(connected) {
			e.State, e.Detail = upOrDown(bus.Connected())
			if e.State == topology.EngineUp {
				e.Detail = "this node's connection"
			}
			e = withLag(ctx, bus, e)
		}
		out = append(out, e)
	}
	if connected == "" {
		out = append(out, topology.Engine{ID: "nats-0", Kind: "bus", Name: "NATS", State: topology.EngineDown, Detail: "this node is not connected"})
	}
	return out
}

func withLag(ctx context.Context, bus *natsbus.Bus, e topology.Engine) topology.Engine {
	if e.State != topology.EngineUp {
		return e
	}
	lags, err := bus.Lags(ctx)
	i := slices.IndexFunc(lags, func(l natsbus.ConsumerLag) bool { return l.Consumer == feed.ConsumerName })
	if err != nil || i < 0 { // no fan-out consumer yet: its worker has not started
		e.Facts = append(e.Facts, topology.Fact{Label: "fan-out lag", Value: "unknown"})
		return e
	}
	return appendFacts(e, topology.Fact{Label: "fan-out lag", Value: strconv.FormatUint(lags[i].Pending, 10) + " events"},
		topology.Fact{Label: "fan-out unacked", Value: strconv.Itoa(lags[i].AckPending)})
}

func appendFacts(e topology.Engine, f ...topology.Fact) topology.Engine {
	e.Facts = append(e.Facts, f...)
	return e
}

func blobsEngine(cfg Config, b blobs) topology.Engine {
	e := topology.Engine{ID: "blobs", Kind: "blobs", Name: "Object store"}
	if b.s3 != nil {
		e.Name, e.State = "Object store (S3)", topology.EngineUnknown
		e.Detail = "not probed: a failing store shows as failing uploads and media"
		return e
	}
	e.Name = "Object store (local directory)"
	_, err := os.Stat(cfg.DataDir)
	e.State, e.Detail = upOrDown(err)
	return e
}

func searchEngine(idx *bleveindex.Index) topology.Engine {
	e := topology.Engine{ID: "search", Kind: "search", Name: "Search index (this node's)", State: topology.EngineUp, Detail: "bleve"}
	if idx == nil {
		e.State, e.Detail = topology.EngineDown, "could not open: search answers 503 here"
	}
	return e
}

// queueDepthCap bounds the count of waiting jobs: past it the page says
// "more than", and the count stays an index scan of a bounded length.
const queueDepthCap = 1000

// queueEngines are the job queues (River, in each database): how many
// jobs wait to run (available, scheduled or to be retried).
func queueEngines(ctx context.Context, db *database) []topology.Engine {
	var out []topology.Engine
	for _, part := range db.parts {
		e := topology.Engine{ID: "jobs-" + part.name, Kind: "queue", Name: "Job queue", State: topology.EngineUp}
		if part.name == "" {
			e.ID = "jobs"
		} else {
			e.Name += " in " + part.name
		}
		var n int
		// The read pool where there is one: on SQLite the writer is the
		// one connection every write waits for.
		err := part.counts.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM river_job
			WHERE state IN ('available', 'scheduled', 'retryable') LIMIT `+strconv.Itoa(queueDepthCap+1)+`) AS waiting`).Scan(&n)
		if err != nil {
			e.State, e.Detail = topology.EngineUnknown, "depth unknown: "+err.Error()
		} else {
			depth := strconv.Itoa(n)
			if n > queueDepthCap {
				depth = "more than " + strconv.Itoa(queueDepthCap)
			}
			e.Facts = []topology.Fact{{Label: "waiting jobs", Value: depth}}
		}
		out = append(out, e)
	}
	return out
}
