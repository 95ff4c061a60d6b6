package app

import (
	"context"
	"database/sql"
	"fmt"
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
}

type idempotencyStore interface {
	idempotency.Store
}

// database is the SQL store the node runs on, SQLite or PostgreSQL, seen
// through the ports: the rest of the wiring does not know which.
type database struct {
	dialect     string // "sqlite" or "postgres"
	identity    identityStore
	posts       posts.Store
	graph       graph.Store
	timelines   feed.TimelineStore
	idempotency idempotencyStore
	outbox      outboxStore
	search      search.Source
	writer      *sql.DB

	Ping             func(context.Context) error
	Replicas         func() []postgres.ReplicaStatus // nil without replicas
	Monitor          func(ctx context.Context)       // replica health checks; nil without replicas
	Close            func() error
	AfterWrite       func(func())
	OnProcessingPost func(func(ctx context.Context, tx *sql.Tx, postID int64) error)
}

func (d *database) Identity() identityStore       { return d.identity }
func (d *database) Posts() posts.Store            { return d.posts }
func (d *database) Graph() graph.Store            { return d.graph }
func (d *database) Timelines() feed.TimelineStore { return d.timelines }
func (d *database) Idempotency() idempotencyStore { return d.idempotency }
func (d *database) Outbox() outboxStore           { return d.outbox }
func (d *database) SearchSource() search.Source   { return d.search }
func (d *database) Writer() *sql.DB               { return d.writer }

// openDatabase opens --db: a postgres:// URL, or (empty) the embedded
// SQLite file in the data directory.
func openDatabase(ctx context.Context, url, dataDir string, replicas []string, maxLag time.Duration) (*database, error) {
	switch {
	case url == "":
		db, err := sqlite.Open(ctx, filepath.Join(dataDir, "photofeed.db"))
		if err != nil {
			return nil, err
		}
		return &database{dialect: "sqlite", identity: db.Identity(), posts: db.Posts(), graph: db.Graph(), timelines: db.Timelines(),
			idempotency: db.Idempotency(), outbox: db.Outbox(), search: db.SearchSource(), writer: db.Writer(),
			Ping: db.Ping, Close: db.Close, AfterWrite: db.AfterWrite, OnProcessingPost: db.OnProcessingPost}, nil
	case strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://"):
		db, err := postgres.Open(ctx, url)
		if err != nil {
			return nil, err
		}
		var monitor func(context.Context)
		var status func() []postgres.ReplicaStatus
		if len(replicas) > 0 {
			if err := db.AddReplicas(ctx, replicas, maxLag); err != nil {
				db.Close()
				return nil, err
			}
			monitor = func(ctx context.Context) { db.MonitorReplicas(ctx, 250*time.Millisecond) }
			status = db.Replicas
		}
		return &database{dialect: "postgres", Monitor: monitor, Replicas: status, identity: db.Identity(), posts: db.Posts(), graph: db.Graph(), timelines: db.Timelines(),
			idempotency: db.Idempotency(), outbox: db.Outbox(), search: db.SearchSource(), writer: db.Writer(),
			Ping: db.Ping, Close: db.Close, AfterWrite: db.AfterWrite, OnProcessingPost: db.OnProcessingPost}, nil
	}
	return nil, fmt.Errorf("--db: want a postgres:// URL, or nothing for the embedded SQLite database (got %q)", redact(url))
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
