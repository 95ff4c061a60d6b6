package app

// This file is the composition root: it is where a node is put together,
// and it reads top to bottom in the order the parts depend on each other.
//
//	build
//	 1. openAdapters  the engines, from the config: databases (SQLite or
//	                  PostgreSQL primary/replicas/shards), object storage,
//	                  the event bus (NATS), Redis, the search index, and
//	                  the caches in front of the stores
//	 2. newServices   the bounded contexts on those adapters: identity,
//	                  posts, graph, feed (with its fan-out, announcing to
//	                  the live feed's hub), search, and a
//	                  job queue per database; every dependency and hook is
//	                  a constructor argument
//	 3. newWorkers    the background work as a list of named workers, each
//	                  Run(ctx) error: outbox relays, job queues, the
//	                  fan-out, search and CDN-purge consumers
//	    heartbeats    this node announcing itself on the bus once it
//	                  listens, and on an api node the registry of every
//	                  node's announcements, for the architecture page
//	 4. newServer     the HTTP handler: the API's and the UI's routes, and
//	                  the middleware every request passes through
//
// The workers come before the server because /readyz reports them. A node
// of the gateway role is built apart, by buildGateway (gateway.go): it
// has none of these engines or services, only the proxy in front of api
// nodes and the edge middleware. A node is all or nothing: if any step fails, what the earlier ones opened is
// closed and build returns the error.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/bleveindex"
	"github.com/photofeed/photofeed/internal/cdnpurge"
	"github.com/photofeed/photofeed/internal/clientip"
	"github.com/photofeed/photofeed/internal/consistency"
	"github.com/photofeed/photofeed/internal/cursor"
	"github.com/photofeed/photofeed/internal/events"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/httpapi"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/httpcompress"
	"github.com/photofeed/photofeed/internal/httplimit"
	"github.com/photofeed/photofeed/internal/httpmetrics"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/jobs"
	"github.com/photofeed/photofeed/internal/live"
	"github.com/photofeed/photofeed/internal/logging"
	"github.com/photofeed/photofeed/internal/media"
	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/problem"
	"github.com/photofeed/photofeed/internal/redisstore"
	"github.com/photofeed/photofeed/internal/search"
	"github.com/photofeed/photofeed/internal/supervise"
	"github.com/photofeed/photofeed/internal/tracing"
	"github.com/photofeed/photofeed/internal/web"
	"github.com/photofeed/photofeed/ratelimit"
	"github.com/photofeed/photofeed/resilience"
)

// build assembles a node from the config; see the top of this file.
func build(ctx context.Context, cfg Config, stderr io.Writer) (_ *node, err error) {
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return nil, err
	}
	n := &node{log: log}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	// First, so that it is closed last: the spans of the work stopped
	// before it are exported.
	tr, err := n.newTracing(cfg)
	if err != nil {
		return nil, err
	}
	ad, err := n.openAdapters(ctx, cfg, tr)
	if err != nil {
		return nil, err
	}
	// The services report to the node's figures as they work; the
	// metrics handler reads them.
	nf := newNodeFigures()
	svc, err := n.newServices(ctx, cfg, ad, nf)
	if err != nil {
		return nil, err
	}
	workers, err := newWorkers(cfg, ad, svc, log)
	if err != nil {
		return nil, err
	}
	var restarts *prometheus.CounterVec
	n.workers, restarts = supervisor(workers, log)
	shed, figures := newShedding(cfg), newHTTPFigures()
	n.metrics = metricsHandler(ad.db, nodeCollectors(ad, svc, nf, shed, figures, restarts)...)
	arch, err := n.heartbeats(cfg, ad, append(shed.collectors(), figures.collectors()...))
	if err != nil {
		return nil, err
	}
	n.handler, err = newServer(cfg, ad, svc, shed, figures, nf, n.workers.Down, arch, log)
	if err != nil {
		return nil, err
	}
	n.db, n.posts, n.feed, n.checks, n.live = ad.db, svc.posts, svc.feed, svc.checks, svc.live
	return n, nil
}

// adapters are the engines a node runs on.
type adapters struct {
	nodeID string
	secret []byte
	// tracing carries requests' trace context into their jobs and
	// events; it records spans with --otlp-endpoint.
	tracing *tracing.Tracing
	db      *database
	// thumbnails is where the database enqueues a new post's thumbnail
	// job; its queues are bound in newServices (see thumbnailQueues).
	thumbnails *thumbnailQueues
	blobs      blobs
	bus        *natsbus.Bus
	// progress carries the fan-out's announcements to the feed reads
	// waiting for them; made with the bus, which tells it when they
	// cannot arrive.
	progress  *feed.Progress
	redis     *redis.Client      // nil without --redis
	timelines feed.TimelineStore // the home timelines the fan-out writes
	stores    readStores         // what the services read through
	index     *bleveindex.Index  // nil on a worker, or when it could not open
	breakers  *breakerStates     // Redis's and the shared rate limiter's, for the heartbeats
}

// carriesToken reports whether a request wrote recently (it came with a
// read-your-writes token): its reads pass the caches and the feed's
// freshness shortcut, which may predate its write on another instance.
func carriesToken(ctx context.Context) bool {
	_, ok := consistency.Trackers{}.MustSee(ctx)
	return ok
}

// openAdapters opens the engines the config names, each closed with the
// node.
func (n *node) openAdapters(ctx context.Context, cfg Config, tr *tracing.Tracing) (*adapters, error) {
	// The data dir holds password hashes, sessions and the secret: the
	// owner's alone, whatever the umask or an older install left.
	if err := privateDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	ad := &adapters{tracing: tr, thumbnails: &thumbnailQueues{tracing: tr}, breakers: &breakerStates{}}
	var err error
	if ad.nodeID, err = loadNodeID(cfg.DataDir); err != nil {
		return nil, err
	}
	if ad.secret, err = loadSecret(cfg); err != nil {
		return nil, err
	}
	dbc := databaseConfig(cfg)
	dbc.Logger = n.log // a new deployment's layout is announced
	dbc.OnProcessingPost = ad.thumbnails.enqueue
	// The requests' tokens (consistency.Middleware, in newServer): their
	// commits' positions go into them, their reads must see them.
	dbc.CommitObserver, dbc.ReadTokens = consistency.Trackers{}, consistency.Trackers{}
	if ad.db, err = openDatabase(ctx, dbc); err != nil {
		return nil, err
	}
	n.closers = append(n.closers, ad.db.Close)
	if ad.blobs, err = openBlobs(ctx, cfg); err != nil {
		return nil, err
	}
	if cfg.Blobs == "" && !(cfg.hasRole("api") && cfg.hasRole("worker")) && !mediaLinked(cfg.DataDir) {
		n.log.Warn("media are in this instance's data directory, which other instances cannot read: " +
			"with api and worker roles in separate processes, use --blobs s3://...")
	}
	ad.progress = feed.NewProgress()
	ad.bus, err = natsbus.Open(ctx, natsbus.Config{URL: cfg.NATS, StoreDir: filepath.Join(cfg.DataDir, "nats"), Logger: n.log,
		OnConnection: func(up bool) {
			if up {
				ad.progress.CarrierUp()
			} else {
				ad.progress.CarrierDown()
			}
		}})
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, ad.bus.Close)
	if ad.redis, ad.timelines, err = n.openRedis(cfg, ad.db, ad.breakers); err != nil {
		return nil, err
	}
	if ad.stores, err = n.cachedStores(cfg, ad.db, ad.bus, ad.redis, ad.timelines, carriesToken); err != nil {
		return nil, err
	}
	ad.index = n.openSearchIndex(ctx, cfg)
	return ad, nil
}

// openRedis connects to --redis, if set. The shared state then lives
// there: rate limits, and the home timelines (the SQL read model stays
// the fallback).
func (n *node) openRedis(cfg Config, db *database, breakers *breakerStates) (*redis.Client, feed.TimelineStore, error) {
	timelines := db.Timelines()
	rdb, err := n.redisClient(cfg)
	if rdb == nil || err != nil {
		return nil, timelines, err
	}
	if wm, ok := timelines.(redisstore.WriteModel); ok {
		breakers.set("redis", "closed")
		timelines = redisstore.NewTimelines(wm, rdb, redisstore.TimelinesConfig{
			Threshold: cfg.FanOutThreshold, Logger: n.log,
			Guard: resilience.GuardConfig{OnStateChange: func(name, from, to string) {
				breakers.set("redis", to)
				n.log.Warn("Redis circuit breaker", "for", name, "state", to, "was", from)
			}},
		})
	}
	return rdb, timelines, nil
}

// redisClient connects to --redis, or returns nil without it.
func (n *node) redisClient(cfg Config) (*redis.Client, error) {
	if cfg.Redis == "" {
		return nil, nil
	}
	opts, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	rdb := redis.NewClient(opts)
	n.closers = append(n.closers, rdb.Close)
	return rdb, nil
}

// openSearchIndex opens this api node's own search index. Search runs
// beside everything else: if its index cannot open, search answers 503,
// its consumer does not run (events wait in the stream), and the rest of
// photofeed is unaffected.
func (n *node) openSearchIndex(ctx context.Context, cfg Config) *bleveindex.Index {
	if !cfg.hasRole("api") {
		return nil // a worker serves no searches
	}
	idx, err := bleveindex.Open(filepath.Join(cfg.DataDir, "search.bleve"))
	if err != nil {
		n.log.WarnContext(ctx, "search unavailable", "err", err)
		return nil
	}
	n.closers = append(n.closers, idx.Close)
	return idx
}

// services are the bounded contexts, built on the adapters.
type services struct {
	identity *identity.Service
	posts    *posts.Service
	checks   *media.Checks // the uploads' validity checks at once
	graph    *graph.Service
	feed     *feed.Service
	fanout   *feed.FanOut
	search   httpapi.Search // web.Search too; search.Unavailable without an index
	queues   []*jobs.Client // one per database, as db.parts
	jobs     *jobs.Set
	announce announcer
	live     *live.Hub // the live feed's streams; nil on a worker
}

// newServices builds the services, each with its dependencies and hooks
// as constructor arguments.
func (n *node) newServices(ctx context.Context, cfg Config, ad *adapters, nf *nodeFigures) (*services, error) {
	gen := ids.NewGenerator(nil)
	svc := &services{announce: announcer{bus: ad.bus, log: n.log}}
	var err error
	svc.identity, err = identity.NewService(ad.stores.identity, gen, identity.Config{
		SigningKey: subkey(ad.secret, "session-token"),
		SessionTTL: cfg.SessionTTL,
		Shards:     ad.db.shards,
		PasswordParams: identity.PasswordParams{
			Time: uint32(cfg.Argon2Time), Memory: uint32(cfg.Argon2Memory), Threads: 1,
		},
		HashMemory: cfg.HashMemory >> 10,
		HashWaited: nf.hashWaited,
	})
	if err != nil {
		return nil, err
	}
	// Requests waiting for the workers (a feed read for the fan-out, an
	// upload for its thumbnails) wake at their announcements.
	progress, settlements := ad.progress, posts.NewSettlements()
	if cfg.hasRole("api") {
		stop, err := listenAnnouncements(ad.bus, progress, settlements, n.log)
		if err != nil {
			return nil, err
		}
		n.closers = append(n.closers, stop)
	}
	svc.checks = media.NewChecks(2*runtime.GOMAXPROCS(0), 5*time.Second, nf.checkWaited)
	svc.posts = posts.NewService(ad.stores.posts, ad.blobs, authorDirectory{svc.identity}, gen, posts.Config{
		MaxPixels: cfg.MaxPixels, Logger: n.log, DecodeMemory: cfg.DecodeMemory, DecodeWaited: nf.decodeWaited,
		Checks: svc.checks, Settlements: settlements,
	})
	svc.graph = graph.NewService(ad.stores.graph, nil)
	feedCfg := feed.Config{Threshold: cfg.FanOutThreshold, Cap: cfg.TimelineCap,
		Writes: ad.db.writes, MustCheck: carriesToken, Progress: progress, Announce: svc.announce.fanOutPosition,
		FannedOut: nf.fannedOut}
	svc.feed = feed.NewService(ad.stores.readTimelines, svc.posts, cursor.New(subkey(ad.secret, "feed-cursor")), feedCfg)
	landed, err := announcingLanded(ad, svc.graph, n.log)
	if err != nil {
		return nil, err
	}
	svc.fanout = feed.NewFanOut(landed, feedCfg, ad.db.mirror)
	if cfg.hasRole("api") {
		if svc.live, err = newLiveHub(ad.bus, ad.stores.readTimelines, svc.feed.Config().Threshold, n.log); err != nil {
			return nil, err
		}
		n.closers = append(n.closers, svc.live.Close)
	}
	svc.search = search.Unavailable{}
	if ad.index != nil {
		svc.search = search.NewService(ad.index, cursor.New(subkey(ad.secret, "search-cursor")))
	}
	if err := n.newJobQueues(ctx, cfg, ad, svc, nf.jobWorked); err != nil {
		return nil, err
	}
	if cfg.hasRole("worker") { // the attempts are counted where they run
		nf.showJobs(thumbnailArgs{}.Kind())
	}
	return svc, nil
}

// newJobQueues makes each database's job queue: the jobs a write enqueues
// are in its transaction. The periodic cleanups run from the main
// database's queue and sweep them all. observe, if not nil, is told of
// every job attempt.
func (n *node) newJobQueues(ctx context.Context, cfg Config, ad *adapters, svc *services,
	observe func(kind string, took time.Duration, outcome string)) error {
	thumbs := &thumbnailWorker{posts: svc.posts, settled: svc.announce.postSettled, tracing: ad.tracing}
	svc.jobs = &jobs.Set{}
	for i, part := range ad.db.parts {
		client, err := jobs.New(ctx, jobs.Config{DB: part.writer, Dialect: ad.db.dialect, Logger: n.log,
			Maintenance: maintenance{db: ad.db, posts: svc.posts, blobs: ad.blobs}, NoPeriodic: i > 0, Observe: observe,
			Register: func(w *river.Workers) { river.AddWorker(w, thumbs) }})
		if err != nil {
			return fmt.Errorf("job queue for database %q: %w", part.name, err)
		}
		ad.thumbnails.bind(part.name, client)
		svc.jobs.Add(part.name, client)
		svc.queues = append(svc.queues, client)
	}
	if ad.db.dialect != "sqlite" {
		return nil
	}
	lock, err := recoverAlone(ctx, cfg.DataDir, ad.db, svc.queues, n.log)
	if err != nil {
		return err
	}
	if lock != nil {
		n.closers = append(n.closers, lock.Close)
	}
	return nil
}

// newWorkers lists the node's background work. Work shared by the
// deployment (one durable consumer, one job queue) runs on worker-role
// nodes only; each api node indexes its own search.
func newWorkers(cfg Config, ad *adapters, svc *services, log *slog.Logger) ([]supervise.Worker, error) {
	var all, shared []supervise.Worker
	if ad.db.Monitor != nil {
		all = append(all, supervise.Worker{Name: "replica-monitor", Run: untilDone(ad.db.Monitor)})
	}
	for i, part := range ad.db.parts {
		relay := outbox.NewRelay(part.outbox, ad.bus, log, outbox.RelayConfig{Source: part.name, Wake: part.commits.Wake()})
		shared = append(shared,
			supervise.Worker{Name: partWorker("outbox-relay", part.name), Run: untilDone(relay.Run)},
			supervise.Worker{Name: partWorker("jobs", part.name), Run: svc.queues[i].Run})
	}
	if ad.index != nil {
		indexer := search.NewIndexer(ad.index)
		// Every api node keeps its own index, so each reads every event:
		// a consumer per node, removed a day after the node is gone.
		all = append(all, consumer(ad.bus, ad.tracing, "search-indexer",
			natsbus.ConsumerConfig{Name: search.ConsumerName + "-" + ad.nodeID, Subjects: search.Subjects, InactiveThreshold: 24 * time.Hour},
			func(ctx context.Context, d natsbus.Delivery) error { return indexer.Handle(ctx, d.Subject, d.Data) }))
	}
	if cfg.CDNPurgeURL != "" {
		purger, err := cdnpurge.New(cdnpurge.Config{URL: cfg.CDNPurgeURL, Method: cfg.CDNPurgeMethod,
			Before: svc.posts.RemoveIfUnused}) // the delete may not have removed the bytes yet
		if err != nil {
			return nil, err
		}
		shared = append(shared, consumer(ad.bus, ad.tracing, "cdn-purge",
			natsbus.ConsumerConfig{Name: cdnpurge.ConsumerName, Subjects: cdnpurge.Subjects},
			func(ctx context.Context, d natsbus.Delivery) error { return purger.Handle(ctx, d.Subject, d.Data) }))
	}
	shared = append(shared, consumer(ad.bus, ad.tracing, "fan-out",
		natsbus.ConsumerConfig{Name: feed.ConsumerName, Subjects: []string{events.SubjectPrefix + ">"}},
		func(ctx context.Context, d natsbus.Delivery) error {
			return svc.fanout.Handle(ctx, d.Subject, d.Data, d.OutboxSource, d.OutboxSeq)
		}))
	if cfg.hasRole("worker") {
		all = append(all, shared...)
	}
	return all, nil
}

// newServer is the node's HTTP handler: on an api node the API's and the
// UI's routes, on a worker its health checks only; then the middleware,
// listed from the innermost (nearest the routes) to the outermost (what a
// request meets first).
func newServer(cfg Config, ad *adapters, svc *services, shed *shedding, figures *httpFigures, nf *nodeFigures,
	workersDown func() error, arch web.Architecture, log *slog.Logger) (http.Handler, error) {
	spoolDir, err := bodySpool(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	api := httpapi.New(httpapi.Deps{
		Identity: svc.identity, Posts: svc.posts, Graph: svc.graph, Feed: svc.feed, Search: svc.search, Jobs: svc.jobs,
		Blobs: ad.blobs, MediaRedirect: ad.blobs.redirect(cfg.MediaRedirect),
		Ready: ad.db.Ping, StoreShared: cfg.DB != "", Writable: ad.db.Writable, ReadyDetail: readyDetail(ad.db),
		Bus: ad.bus.Connected, Events: ad.bus.Ready, Workers: workersDown, Logger: log,
		MaxUploadBytes: cfg.MaxUploadBytes, MediaBaseURL: cfg.MediaBaseURL, UploadWait: cfg.UploadWait,
		Live: liveFeed(svc.live), StreamHeartbeat: cfg.StreamHeartbeat,
		Idempotency: &idempotency.Config{
			Store: ad.db.Idempotency(), TTL: cfg.IdempotencyTTL, Scope: requestScope, Logger: log,
			Secret: subkey(ad.secret, "idempotency-fingerprint"), SpoolDir: spoolDir,
			Observe: nf.idempotencyOutcome,
		},
	})
	ui, err := web.New(web.Deps{
		Identity: svc.identity, Posts: svc.posts, Graph: svc.graph, Feed: svc.feed, Search: svc.search, Logger: log,
		MaxUploadBytes: cfg.MaxUploadBytes, MediaBaseURL: cfg.MediaBaseURL, CSRFKey: subkey(ad.secret, "csrf"),
		UploadWait: cfg.UploadWait, Architecture: arch,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	if cfg.hasRole("api") {
		api.Register(mux)
		ui.Register(mux)
	} else {
		api.RegisterHealth(mux)
	}
	limits, err := rateLimits(cfg, ad.redis, "photofeed:ratelimit:", figures.decided, ad.breakers, log)
	if err != nil {
		return nil, err
	}
	trusted, _ := clientip.ParseTrusted(cfg.TrustedProxies) // checked with the config
	header, _ := clientip.ParseHeader(cfg.ClientIPHeader)

	// Route takes the pattern the mux matched out to the request
	// metrics, the outermost middleware but one.
	var h http.Handler = httpmetrics.Route(ad.tracing.NameByRoute(problem.NotFoundAndMethod(mux, ui.NotFound())))
	h = httpapi.Versions(h)
	h = limits(h)
	h = httpauth.Middleware(svc.identity, log, h)
	// Outside the authentication: checking a session is a read that must
	// see the client's own logout, so it needs the client's token.
	h = consistency.Middleware(h)
	h = http.NewCrossOriginProtection().Handler(h)
	// Inside the shedding, so that compressing (done mostly as the
	// handler returns) counts in the admitted requests and their latency,
	// which the adaptive limit reads; media are never compressed.
	compress, err := httpcompress.New(httpcompress.Config{Skip: []string{"/media/"}})
	if err != nil {
		return nil, err
	}
	h = compress(h)
	// Before anything that costs (the session's lookup, the rate limits'
	// counters): a request turned away must be cheap. Inside the logging,
	// so that it is logged with its 503.
	h = shed.middleware(h)
	h = problem.Recover(log, h)
	h = logging.Middleware(log, h)
	h = nosniff(h)
	// Outside everything that may answer in its stead (the shedding, the
	// rate limits, the recovery from a panic), so that every answer is
	// counted and timed; a request turned away before the mux is labelled
	// with the route the mux would have chosen.
	h = figures.requests.Middleware(mux, h)
	h = clientip.New(trusted, header).Middleware(h)
	h = uploadCrashPoints(h)
	// Outermost, so that the span covers all of the request and every
	// log line of it carries its trace id.
	h = ad.tracing.Middleware(tracing.HTTPOptions{Untraced: probePaths}, h)
	return h, nil
}

// rateLimits is the rate-limiting middleware --rate-limits configures:
// in memory, or shared in Redis (its keys under prefix) with the memory
// limiter as its fallback. Api nodes and gateways both use it; decided,
// if not nil, is told each policy's decision; breakers are told of the
// shared limiter's breaker.
func rateLimits(cfg Config, rdb *redis.Client, prefix string, decided func(policy, outcome string), breakers *breakerStates,
	log *slog.Logger) (func(http.Handler) http.Handler, error) {
	if cfg.RateLimits == "off" {
		return func(h http.Handler) http.Handler { return h }, nil
	}
	limits := httplimit.DefaultConfig()
	if cfg.RateLimits != "" {
		var err error
		if limits, err = httplimit.LoadConfig(cfg.RateLimits); err != nil {
			return nil, err
		}
	}
	var limiter ratelimit.Limiter = ratelimit.NewMemory(ratelimit.MemoryConfig{})
	if rdb != nil {
		breakers.set("shared rate limiter", "closed")
		limiter = ratelimit.NewFallback(ratelimit.NewRedis(rdb, prefix, nil), limiter, ratelimit.FallbackConfig{
			FailOpen: cfg.LimitFallback == "open",
			OnStateChange: func(from, to string) {
				breakers.set("shared rate limiter", to)
				log.Warn("shared rate limiter", "breaker", to, "was", from)
			},
		})
	}
	return httplimit.New(limiter, limits, log).OnDecision(decided).Middleware, nil
}
