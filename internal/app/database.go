package app

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/internal/postgres"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/search"
	"github.com/photofeed/photofeed/internal/sqlite"
	"github.com/photofeed/photofeed/internal/sqlstore"
)

// The ports the application uses beyond the contexts' own Store
// interfaces: cleanup and administration.
type identityStore interface {
	identity.Store
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	SetAdmin(ctx context.Context, username string, admin bool) error
}

type outboxStore interface {
	outbox.Store
	DeleteSent(ctx context.Context, before time.Time) (int, error)
	Head(ctx context.Context) (int64, error)
	Unsent(ctx context.Context) (int64, error)
}

type idempotencyStore interface {
	idempotency.Store
	ReleaseInFlight(ctx context.Context, before time.Time) (int, error)
}

// database is the SQL store the node runs on, SQLite or PostgreSQL, seen
// through the ports: the rest of the wiring does not know which.
type database struct {
	dialect     string // "sqlite" or "postgres"
	identity    identityStore
	posts       posts.Store
	graph       graph.Store
	mirror      func(ctx context.Context, follower, followee int64) error
	timelines   feed.TimelineStore
	idempotency idempotencyStore
	search      search.Source
	// parts are the physical databases, the main one first: each has its
	// own outbox and job queue, so a write commits its event and its job
	// in its own transaction wherever its shard is.
	parts []dbPart
	// cluster is the PostgreSQL deployment (shard map, moves); nil on SQLite.
	cluster *postgres.Cluster
	shards  int // logical shards users are spread over

	Ping     func(context.Context) error     // reads can be served (by a primary or a replica)
	Writable func(context.Context) error     // writes can be taken; nil where reads and writes share one store
	Replicas func() []postgres.ReplicaStatus // nil without replicas
	Monitor  func(ctx context.Context)       // replica health checks; nil without replicas
	Close    func() error
}

// dbPart is one physical database as the node's background work sees it.
type dbPart struct {
	name   string // in the shard map; "" with one database
	outbox outboxStore
	writer *sql.DB
	// counts is where a metrics scrape counts: SQLite's read pool, so that
	// it never waits behind (or holds up) the one writer; PostgreSQL's
	// primary, whose job queue a replica may show late.
	counts  *sql.DB
	commits *sqlstore.Commits
}

func (d *database) Identity() identityStore       { return d.identity }
func (d *database) Posts() posts.Store            { return d.posts }
func (d *database) Graph() graph.Store            { return d.graph }
func (d *database) Timelines() feed.TimelineStore { return d.timelines }
func (d *database) Idempotency() idempotencyStore { return d.idempotency }
func (d *database) SearchSource() search.Source   { return d.search }

// writes counts the write transactions this process has committed, on
// every part: the feed's freshness shortcut.
func (d *database) writes() uint64 {
	var n uint64
	for _, p := range d.parts {
		n += p.commits.Count()
	}
	return n
}

// dbConfig is where the data is.
type dbConfig struct {
	URL, DataDir string
	Replicas     []string
	MaxLag       time.Duration
	ShardsFile   string // --shards
	Shards       int    // --logical-shards, for a new deployment
	Existing     bool   // administration: never lay out a new deployment
	Logger       *slog.Logger
	// OnProcessingPost enqueues a processing post's thumbnail job in the
	// transaction storing it, on database (its part's name). Nil where no
	// job queue runs: storing a processing post then fails.
	OnProcessingPost func(ctx context.Context, database string, tx *sql.Tx, postID int64) error
	// CommitObserver learns where PostgreSQL's WAL stands after the
	// commits of a request that tracks them (read-your-writes). Nil
	// where no request runs.
	CommitObserver postgres.CommitObserver
	// ReadTokens gives a read the consistency token of its request, for
	// the choice of replica. Nil: reads carry none.
	ReadTokens postgres.ReadTokens
}

func databaseConfig(cfg Config) dbConfig {
	var replicas []string
	for _, u := range strings.Split(cfg.DBReplicas, ",") {
		if u = strings.TrimSpace(u); u != "" {
			replicas = append(replicas, u)
		}
	}
	return dbConfig{URL: cfg.DB, DataDir: cfg.DataDir, Replicas: replicas, MaxLag: cfg.ReplicaMaxLag,
		ShardsFile: cfg.Shards, Shards: cfg.LogicalShards}
}

// openDatabase opens --db: a postgres:// URL, or (empty) the embedded
// SQLite file in the data directory.
func openDatabase(ctx context.Context, c dbConfig) (*database, error) {
	switch {
	case c.URL == "":
		var opts sqlite.Options
		if c.OnProcessingPost != nil {
			opts.OnProcessingPost = func(ctx context.Context, tx *sql.Tx, postID int64) error {
				return c.OnProcessingPost(ctx, "", tx, postID)
			}
		}
		db, err := sqlite.OpenWith(ctx, filepath.Join(c.DataDir, "photofeed.db"), opts)
		if err != nil {
			return nil, err
		}
		return &database{dialect: "sqlite", identity: db.Identity(), posts: db.Posts(), graph: db.Graph(), timelines: db.Timelines(),
			idempotency: db.Idempotency(), search: db.SearchSource(), shards: c.Shards,
			parts: []dbPart{{outbox: db.Outboxes()[0], writer: db.Writer(), counts: db.Reader(), commits: db.Commits()}},
			Ping:  db.Ping, Close: db.Close}, nil
	case strings.HasPrefix(c.URL, "postgres://") || strings.HasPrefix(c.URL, "postgresql://"):
		pc := postgres.Config{URL: c.URL, Replicas: c.Replicas, Shards: c.Shards, MaxLag: c.MaxLag, Existing: c.Existing, Logger: c.Logger,
			OnProcessingPost: c.OnProcessingPost, CommitObserver: c.CommitObserver, ReadTokens: c.ReadTokens}
		if c.ShardsFile != "" {
			f, err := os.Open(c.ShardsFile)
			if err != nil {
				return nil, fmt.Errorf("--shards: %w", err)
			}
			pc.Databases, err = parseShardsFile(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("--shards %s: %w", c.ShardsFile, err)
			}
		}
		cl, err := postgres.OpenCluster(ctx, pc)
		if err != nil {
			return nil, err
		}
		d := &database{dialect: "postgres", cluster: cl, mirror: cl.Graph().Mirror, identity: cl.Identity(), posts: cl.Posts(), graph: cl.Graph(), timelines: cl.Timelines(),
			idempotency: cl.Idempotency(), search: cl.SearchSource(), shards: cl.Count(),
			Ping: cl.Ping, Writable: cl.PingPrimaries, Close: cl.Close}
		outboxes := cl.Outboxes()
		for i, db := range cl.DBs() {
			part := dbPart{name: cl.Names()[i], outbox: outboxes[i], writer: db.Writer(), counts: db.Writer(), commits: db.Commits()}
			if db == cl.MainDB() {
				d.parts = append([]dbPart{part}, d.parts...)
			} else {
				d.parts = append(d.parts, part)
			}
		}
		if cl.HasReplicas() {
			d.Monitor = func(ctx context.Context) { cl.MonitorReplicas(ctx, 250*time.Millisecond) }
			d.Replicas = cl.Replicas
		}
		return d, nil
	}
	return nil, fmt.Errorf("--db: want a postgres:// URL, or nothing for the embedded SQLite database (got %q)", redact(c.URL))
}

// redact hides a password in a database URL.
func redact(url string) string {
	if at := strings.LastIndex(url, "@"); at > 0 {
		if scheme := strings.Index(url, "://"); scheme > 0 && scheme < at {
			return url[:scheme+3] + "…" + url[at:]
		}
	}
	return url
}
