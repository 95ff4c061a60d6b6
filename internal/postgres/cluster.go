package postgres

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	"github.com/photofeed/photofeed/internal/shardmap"
	"github.com/photofeed/photofeed/internal/shardmove"
	"github.com/photofeed/photofeed/internal/sqlstore"
)

//go:embed shard/schema.sql
var shardSchema string

// MainName is the shard map's name for the main database when the
// deployment's database list does not name it.
const MainName = "main"

// Config describes a deployment on PostgreSQL.
type Config struct {
	// URL is the main database: accounts, sessions, the shard map.
	URL      string
	Replicas []string
	// Databases hold the logical shards (--shards); empty, every shard is
	// on the main database. An entry with the main URL is the main one.
	Databases []Database
	// Shards is the number of logical shards, used when the deployment is
	// created (default 1024); afterwards the shard map says.
	Shards int
	// MaxLag takes a replica out of reads (default 5s).
	MaxLag time.Duration
	Logger *slog.Logger
	// Existing refuses a database that holds no deployment yet instead
	// of laying one out: for administration commands.
	Existing bool
	// OnProcessingPost enqueues a processing post's thumbnail job inside
	// tx, the transaction that stores the post on the database named
	// database (in the shard map). Without it, storing a processing post
	// fails.
	OnProcessingPost func(ctx context.Context, database string, tx *sql.Tx, postID int64) error
	// CommitObserver, if set, is told the primary's WAL position after
	// each write it observes, on the database named database: how a
	// request's consistency token learns of its writes.
	CommitObserver CommitObserver
	// ReadTokens, if set, gives each read the token it must see: how a
	// request's consistency token reaches the choice of replica. Nil:
	// reads go to any healthy replica.
	ReadTokens ReadTokens
}

// ErrNoDeployment is OpenCluster's answer, with Existing, for a database
// that photofeed has not laid out.
var ErrNoDeployment = errors.New("no photofeed deployment in this database (photofeed serve lays one out)")

// Database is one physical database of a deployment.
type Database struct {
	Name     string
	URL      string
	Replicas []string
}

// Cluster is a deployment's databases: the main one and those holding
// shards, each a schema (shard_0000 …) on the database the shard map says.
// It implements sqlstore.Shards, and offers every store on it.
type Cluster struct {
	sqlstore.Stores

	main     *DB
	dbs      []*DB
	conns    []sqlstore.Conn
	names    []string
	urls     []string
	count    int
	prefixes []string // "shard_0007." by shard
	watcher  *shardmap.Watcher
	routes   atomic.Pointer[routes]
	log      *slog.Logger
	stop     context.CancelFunc
	done     chan struct{}
}

// routes is one version of the map, as indexes into dbs.
type routes struct {
	m    *shardmap.Map
	home []int
}

// OpenCluster connects to every database, migrates them, lays out the
// shard map when the deployment is new, creates the schemas of the shards
// each database holds, and follows the map from then on.
func OpenCluster(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	cfg = cfg.withDefaults()
	if cfg.Existing {
		if err := deploymentExists(ctx, cfg.URL); err != nil {
			return nil, err
		}
	}
	c := &Cluster{log: cfg.Logger, done: make(chan struct{})}
	defer func() {
		if err != nil {
			c.closeDBs()
		}
	}()
	main, err := Open(ctx, cfg.URL)
	if err != nil {
		return nil, err
	}
	c.main = main
	if len(cfg.Replicas) > 0 {
		if err := main.AddReplicas(ctx, cfg.Replicas, cfg.MaxLag); err != nil {
			return nil, err
		}
	}
	if err := c.openShardDatabases(ctx, cfg); err != nil {
		return nil, err
	}
	if err := shardmap.Init(ctx, main.write, cfg.Shards, c.names); err != nil {
		return nil, err
	}
	if err := c.addShardlessMain(cfg.URL); err != nil {
		return nil, err
	}
	for _, db := range c.dbs {
		db.onProcessing = cfg.OnProcessingPost
		db.observer = cfg.CommitObserver
		db.readTokens = cfg.ReadTokens
	}
	if c.watcher, err = shardmap.NewWatcher(ctx, main.write, cfg.URL, cfg.Logger); err != nil {
		return nil, err
	}
	c.count = c.watcher.Current().Shards()
	for n := range c.count { // every statement on a shard names its schema: made once
		c.prefixes = append(c.prefixes, SchemaName(n)+".")
	}
	if err := c.createShardSchemas(ctx); err != nil {
		return nil, err
	}
	c.Stores = sqlstore.NewStores(c)
	c.followMap(ctx)
	return c, nil
}

func (cfg Config) withDefaults() Config {
	if cfg.Shards <= 0 {
		cfg.Shards = 1024
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// openShardDatabases opens every database of cfg.Databases (the main one,
// already open, where its URL is named), in their order.
func (c *Cluster) openShardDatabases(ctx context.Context, cfg Config) error {
	dbs := cfg.Databases
	if len(dbs) == 0 {
		dbs = []Database{{Name: MainName, URL: cfg.URL}}
	}
	for _, d := range dbs {
		db := c.main
		if d.URL == cfg.URL {
			c.main.name = d.Name
		} else {
			var err error
			if db, err = Open(ctx, d.URL); err != nil {
				return fmt.Errorf("database %s: %w", d.Name, err)
			}
			if len(d.Replicas) > 0 {
				if err := db.AddReplicas(ctx, d.Replicas, cfg.MaxLag); err != nil {
					return fmt.Errorf("database %s: %w", d.Name, err)
				}
			}
			db.name = d.Name
		}
		c.dbs = append(c.dbs, db)
		c.conns = append(c.conns, conn{db})
		c.names = append(c.names, d.Name)
		c.urls = append(c.urls, d.URL)
	}
	return nil
}

// addShardlessMain lists the main database among the others when it holds
// no shards: it still has an outbox (accounts' events) that consumers
// keep a position in.
func (c *Cluster) addShardlessMain(mainURL string) error {
	if slices.Contains(c.dbs, c.main) {
		return nil
	}
	if slices.Contains(c.names, MainName) {
		return fmt.Errorf("the name %q is the main database's; name the others differently", MainName)
	}
	c.dbs = append(c.dbs, c.main)
	c.conns = append(c.conns, conn{c.main})
	c.names = append(c.names, MainName)
	c.main.name = MainName
	c.urls = append(c.urls, mainURL)
	return nil
}

// createShardSchemas creates, on each database, the schemas of the shards
// the map places there.
func (c *Cluster) createShardSchemas(ctx context.Context) error {
	r := c.current()
	for i, db := range c.dbs {
		var mine []int
		for n, h := range r.home {
			if h == i {
				mine = append(mine, n)
			}
		}
		if err := db.createShards(ctx, mine, c.log, describe(c.names[i], c.urls[i])); err != nil {
			return fmt.Errorf("database %s: %w", c.names[i], err)
		}
	}
	return nil
}

// followMap keeps the shard map current until Close, past the end of the
// opening ctx.
func (c *Cluster) followMap(ctx context.Context) {
	watchCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	c.stop = stop
	go func() {
		defer close(c.done)
		c.watcher.Run(watchCtx)
	}()
}

// Close stops following the map and closes every database.
func (c *Cluster) Close() error {
	if c.stop != nil {
		c.stop()
		<-c.done
	}
	return c.closeDBs()
}

func (c *Cluster) closeDBs() error {
	if c.main == nil {
		return nil
	}
	var errs []error
	for _, db := range c.physical() {
		errs = append(errs, db.Close())
	}
	return errors.Join(errs...)
}

// MainDB is the main database.
func (c *Cluster) MainDB() *DB { return c.main }

// DBs are the physical databases, in the order of Databases and Names
// (the main one among them, holding shards or not).
func (c *Cluster) DBs() []*DB { return c.dbs }

// URLs are the databases' URLs, in the same order.
func (c *Cluster) URLs() []string { return c.urls }

// Map is the shard map as this instance has it now.
func (c *Cluster) Map() *shardmap.Map { return c.watcher.Current() }

// Refresh reads the shard map now, for a caller that has just changed it.
func (c *Cluster) Refresh(ctx context.Context) { c.watcher.Refresh(ctx) }

// SchemaName is the schema holding logical shard n.
func SchemaName(n int) string { return fmt.Sprintf("shard_%04d", n) }

func (c *Cluster) current() *routes {
	m := c.watcher.Current()
	if r := c.routes.Load(); r != nil && r.m == m {
		return r
	}
	r := &routes{m: m, home: make([]int, m.Shards())}
	var unknown []string
	for n, name := range m.Homes {
		r.home[n] = slices.Index(c.names, name)
		if r.home[n] < 0 {
			if !slices.Contains(unknown, name) {
				unknown = append(unknown, name)
			}
			r.home[n] = 0
		}
	}
	if len(unknown) > 0 {
		c.log.Error("the shard map names databases this instance does not know; list them in --shards", "databases", unknown)
	}
	c.routes.Store(r)
	return r
}

// sqlstore.Shards.

func (c *Cluster) Main() sqlstore.Conn        { return conn{c.main} }
func (c *Cluster) Databases() []sqlstore.Conn { return c.conns }
func (c *Cluster) Names() []string            { return c.names }
func (c *Cluster) Count() int                 { return c.count }
func (c *Cluster) Home(n int) int             { return c.current().home[n%c.count] }
func (c *Cluster) Prefix(n int) string        { return c.prefixes[n%c.count] }

func (c *Cluster) Fence(ctx context.Context, tx sqlstore.Tx, n int) error {
	return shardmove.Enter(ctx, tx.SQL(), strings.TrimSuffix(c.Prefix(n), "."))
}

// Moved waits, for a write turned away by a move's marker, until the map
// shows the shard's new home; for a read of tables that are gone (a shard
// dropped after its move) it reads the map again.
func (c *Cluster) Moved(ctx context.Context, err error) bool {
	var moved *shardmove.MovedError
	if errors.As(err, &moved) {
		var n int
		if _, serr := fmt.Sscanf(moved.Schema, "shard_%d", &n); serr != nil {
			return false
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			c.watcher.Refresh(ctx)
			if c.names[c.Home(n)] == moved.Target {
				return true
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return false
			}
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") && strings.Contains(pe.Message, "shard_") {
		c.watcher.Refresh(ctx)
		return true
	}
	return false
}

// Laying out a new deployment's shards is some 30 relations each, 30,000
// for the default 1,024: DDL that costs the server about a millisecond a
// relation. It runs in transactions of layoutBatch shards, layoutConns at
// once; each transaction holds a lock on every relation it creates until
// it commits, so the batches stay small enough for the server's shared
// lock table (64 × max_connections entries by default).
const (
	layoutBatch = 16
	layoutConns = 4
)

// createShards creates the schemas of shards that do not have one yet,
// saying so in the log, as it takes a while on a new deployment. Each
// transaction locks its shards (in shard order, so instances starting at
// once neither deadlock nor make one twice) and skips those another
// instance made meanwhile.
func (db *DB) createShards(ctx context.Context, shards []int, log *slog.Logger, where string) error {
	rows, err := db.write.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'shard\_%'`)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		have[name] = true
	}
	rows.Close()
	var missing []int
	for _, n := range shards {
		if !have[SchemaName(n)] {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	log.InfoContext(ctx, fmt.Sprintf("laying out %d logical shards on %s…", len(missing), where))
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(layoutConns)
	for batch := range slices.Chunk(missing, layoutBatch) {
		g.Go(func() error { return db.createShardBatch(gctx, batch) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("create shard schemas: %w", err)
	}
	log.InfoContext(ctx, fmt.Sprintf("laid out %d logical shards on %s in %.1f s", len(missing), where, time.Since(start).Seconds()))
	return nil
}

// createShardBatch creates, in one transaction, the schemas of batch (in
// ascending order) that do not exist yet.
func (db *DB) createShardBatch(ctx context.Context, batch []int) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var b strings.Builder
		for _, n := range batch {
			// The check is a statement of its own, after the lock: its
			// snapshot sees what another instance committed meanwhile.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7309, $1)`, n); err != nil {
				return err
			}
			var exists bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, SchemaName(n)).Scan(&exists); err != nil {
				return err
			}
			if exists {
				continue // another instance made it meanwhile
			}
			b.WriteString("CREATE SCHEMA " + SchemaName(n) + ";\n")
			b.WriteString(strings.ReplaceAll(shardSchema, "shard.", SchemaName(n)+"."))
		}
		if b.Len() == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, b.String())
		return err
	})
}

// Ping checks that the main database can serve reads.
func (c *Cluster) Ping(ctx context.Context) error { return c.main.Ping(ctx) }

// PingPrimaries checks that every database's primary answers, that is
// that writes can be taken; the error names the databases whose primary
// does not. The primaries are checked at once, each for primaryProbe at
// most, so that a hung one cannot stretch a readiness check past a
// balancer's timeout.
func (c *Cluster) PingPrimaries(ctx context.Context) error {
	dbs := c.physical()
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, primaryProbe)
			defer cancel()
			if err := db.write.PingContext(pctx); err != nil {
				errs[i] = fmt.Errorf("database %s: %w", db.name, writeErr(err))
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Replicas reports every database's replicas.
func (c *Cluster) Replicas() []ReplicaStatus {
	var out []ReplicaStatus
	for _, db := range c.physical() {
		out = append(out, db.Replicas()...)
	}
	return out
}

// MonitorReplicas checks every database's replicas until ctx ends.
func (c *Cluster) MonitorReplicas(ctx context.Context, interval time.Duration) {
	var wg sync.WaitGroup
	for _, db := range c.physical() {
		if len(db.replicas) > 0 {
			wg.Go(func() { db.MonitorReplicas(ctx, interval) })
		}
	}
	wg.Wait()
}

// physical lists each database once, the main one first.
func (c *Cluster) physical() []*DB {
	out := []*DB{c.main}
	for _, db := range c.dbs {
		if !slices.Contains(out, db) {
			out = append(out, db)
		}
	}
	return out
}

// HasReplicas reports whether any database has read replicas.
func (c *Cluster) HasReplicas() bool {
	for _, db := range c.physical() {
		if len(db.replicas) > 0 {
			return true
		}
	}
	return false
}

// ShardTables are the tables of a shard, in the order ShardRows counts them.
var ShardTables = []string{"posts", "follows", "likes", "timelines"}

// ShardRows counts the rows of shard n's main tables, on its database.
func (c *Cluster) ShardRows(ctx context.Context, n int) ([]int64, error) {
	schema := SchemaName(n)
	var parts []string
	for _, t := range ShardTables {
		parts = append(parts, "(SELECT count(*) FROM "+schema+"."+t+")")
	}
	out := make([]int64, len(ShardTables))
	dest := make([]any, len(out))
	for i := range out {
		dest[i] = &out[i]
	}
	db := c.dbs[c.Home(n)]
	if err := db.write.QueryRowContext(ctx, "SELECT "+strings.Join(parts, ", ")).Scan(dest...); err != nil {
		return nil, fmt.Errorf("count shard %d: %w", n, err)
	}
	return out, nil
}

// describe names a database for the log: its name in the shard map and
// where it is, without credentials.
func describe(name, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		return "database " + name
	}
	return fmt.Sprintf("database %s (%s%s)", name, u.Host, u.Path)
}

// deploymentExists checks, without changing anything, that url holds a
// deployment's shard map.
func deploymentExists(ctx context.Context, url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('public.photofeed_shard_map') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("connect postgres: %w", err)
	}
	if !exists {
		return ErrNoDeployment
	}
	return nil
}
