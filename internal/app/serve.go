package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"

	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/bleveindex"
	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/internal/cdnpurge"
	"github.com/photofeed/photofeed/internal/clientip"
	"github.com/photofeed/photofeed/internal/consistency"
	"github.com/photofeed/photofeed/internal/cursor"
	"github.com/photofeed/photofeed/internal/events"
	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/httpapi"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/httplimit"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/jobs"
	"github.com/photofeed/photofeed/internal/logging"
	"github.com/photofeed/photofeed/internal/media"
	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/problem"
	"github.com/photofeed/photofeed/internal/redisstore"
	"github.com/photofeed/photofeed/internal/search"
	"github.com/photofeed/photofeed/internal/supervise"
	"github.com/photofeed/photofeed/internal/web"
	"github.com/photofeed/photofeed/ratelimit"
	"github.com/photofeed/photofeed/resilience"
)

var randRead = rand.Read

func newLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(logging.NewHandler(h)), nil
}

// subkey derives a purpose-bound key from the secret, so a token key can
// never verify a cursor and the other way round.
func subkey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// node is one running photofeed: its HTTP handler and what must be
// closed when it stops.
type node struct {
	handler    http.Handler
	metrics    http.Handler // served on --metrics-addr, not the public listener
	db         *database
	feed       *feed.Service
	posts      *posts.Service
	checks     *media.Checks // the uploads' validity checks at once
	log        *slog.Logger
	closers    []func() error
	background []supervise.Worker    // run until ctx ends, restarted when they fail
	workers    *supervise.Supervisor // runs background
}

// start runs the node's background work (outbox relay, event consumers,
// job queues) until the returned stop is called.
func (n *node) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); n.workers.Run(ctx) }()
	return func() { cancel(); <-done }
}

// work adds background work of the worker role: it runs only on nodes
// with that role (shared work: one durable consumer, one job queue).
func (n *node) work(cfg Config, workers ...supervise.Worker) {
	if cfg.hasRole("worker") {
		n.background = append(n.background, workers...)
	}
}

func (n *node) Close() error {
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i]())
	}
	return errors.Join(errs...)
}

// build opens the adapters and wires the services and the HTTP surface.
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
	// The data dir holds password hashes, sessions and the secret: the
	// owner's alone, whatever the umask or an older install left.
	if err := privateDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	nodeID, err := loadNodeID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	secret, err := loadSecret(cfg)
	if err != nil {
		return nil, err
	}
	dbc := databaseConfig(cfg)
	dbc.Logger = log // a new deployment's layout is announced
	// The wiring's one late binding (see thumbnailQueues): each database's
	// job queue is bound below, as it is made.
	thumbQueues := &thumbnailQueues{}
	dbc.OnProcessingPost = thumbQueues.enqueue
	dbc.CommitObserver = consistency.Trackers{} // the requests' trackers (consistency.Middleware, below)
	db, err := openDatabase(ctx, dbc)
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, db.Close)
	n.db = db
	if db.Monitor != nil {
		n.background = append(n.background, supervise.Worker{Name: "replica-monitor", Run: untilDone(db.Monitor)})
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Blobs == "" && !(cfg.hasRole("api") && cfg.hasRole("worker")) {
		log.Warn("media are in this instance's data directory, which other instances cannot read: " +
			"with api and worker roles in separate processes, use --blobs s3://...")
	}

	bus, err := natsbus.Open(ctx, natsbus.Config{URL: cfg.NATS, StoreDir: filepath.Join(cfg.DataDir, "nats"), Logger: log})
	if err != nil {
		return nil, err
	}
	n.closers = append(n.closers, bus.Close)

	// With --redis, the shared state lives there: rate limits, and the
	// home timelines (the SQL read model stays the fallback).
	var rdb *redis.Client
	timelines := db.Timelines()
	if cfg.Redis != "" {
		opts, err := redis.ParseURL(cfg.Redis)
		if err != nil {
			return nil, fmt.Errorf("--redis: %w", err)
		}
		rdb = redis.NewClient(opts)
		n.closers = append(n.closers, rdb.Close)
		if wm, ok := timelines.(redisstore.WriteModel); ok {
			timelines = redisstore.NewTimelines(wm, rdb, redisstore.TimelinesConfig{
				Threshold: cfg.FanOutThreshold, Logger: log,
				Guard: resilience.GuardConfig{OnStateChange: func(name, from, to string) {
					log.Warn("Redis circuit breaker", "for", name, "state", to, "was", from)
				}},
			})
		}
	}

	stores, err := n.cachedStores(cfg, db, bus, rdb, timelines)
	if err != nil {
		return nil, err
	}

	gen := ids.NewGenerator(nil)
	idSvc, err := identity.NewService(stores.identity, gen, identity.Config{
		SigningKey: subkey(secret, "session-token"),
		SessionTTL: cfg.SessionTTL,
		Shards:     db.shards,
		PasswordParams: identity.PasswordParams{
			Time: uint32(cfg.Argon2Time), Memory: uint32(cfg.Argon2Memory), Threads: 1,
		},
		HashMemory: cfg.HashMemory >> 10,
	})
	if err != nil {
		return nil, err
	}
	// Requests waiting for the workers (a feed read for the fan-out, an
	// upload for its thumbnails) wake at their announcements.
	announce := announcer{bus: bus, log: log}
	progress, settlements := feed.NewProgress(), posts.NewSettlements()
	if cfg.hasRole("api") {
		stop, err := listenAnnouncements(bus, progress, settlements, log)
		if err != nil {
			return nil, err
		}
		n.closers = append(n.closers, stop)
	}
	n.checks = media.NewChecks(2*runtime.GOMAXPROCS(0), 5*time.Second)
	postSvc := posts.NewService(stores.posts, blobs, authorDirectory{idSvc}, gen, posts.Config{MaxPixels: cfg.MaxPixels, Logger: log,
		DecodeMemory: cfg.DecodeMemory, Checks: n.checks, Settlements: settlements})
	n.posts = postSvc
	graphSvc := graph.NewService(stores.graph, nil)
	feedCfg := feed.Config{Threshold: cfg.FanOutThreshold, Cap: cfg.TimelineCap,
		Writes: db.writes, MustCheck: fresh, Progress: progress, Announce: announce.fanOutPosition}
	feedSvc := feed.NewService(stores.readTimelines, postSvc, cursor.New(subkey(secret, "feed-cursor")), feedCfg)
	n.feed = feedSvc

	fanout := feed.NewFanOut(timelines, feedCfg, db.mirror)

	// Each database relays its own outbox and runs its own job queue (the
	// jobs a write enqueues are in its transaction); the periodic cleanups
	// run from the main database's queue and sweep them all.
	queues := &jobs.Set{}
	thumbs := &thumbnailWorker{posts: postSvc, settled: announce.postSettled}
	var clients []*jobs.Client
	for i, part := range db.parts {
		relay := outbox.NewRelay(part.outbox, bus, log, outbox.RelayConfig{Source: part.name, Wake: part.commits.Wake()})
		client, err := jobs.New(ctx, jobs.Config{DB: part.writer, Dialect: db.dialect, Logger: log,
			Maintenance: maintenance{db: db, posts: postSvc, blobs: blobs}, NoPeriodic: i > 0,
			Register: func(w *river.Workers) { river.AddWorker(w, thumbs) }})
		if err != nil {
			return nil, err
		}
		thumbQueues.bind(part.name, client)
		n.work(cfg, supervise.Worker{Name: partWorker("outbox-relay", part.name), Run: untilDone(relay.Run)},
			supervise.Worker{Name: partWorker("jobs", part.name), Run: client.Run})
		queues.Add(part.name, client)
		clients = append(clients, client)
	}
	if db.dialect == "sqlite" {
		lock, err := recoverAlone(ctx, cfg.DataDir, db, clients, log)
		if err != nil {
			return nil, err
		}
		if lock != nil {
			n.closers = append(n.closers, lock.Close)
		}
	}

	// Search runs beside everything else: if its index cannot open, search
	// answers 503, its consumer does not run (events wait in the stream),
	// and the rest of photofeed is unaffected.
	var searchSvc *search.Service
	if !cfg.hasRole("api") {
		// a worker serves no searches
	} else if idx, err := bleveindex.Open(filepath.Join(cfg.DataDir, "search.bleve")); err != nil {
		log.WarnContext(ctx, "search unavailable", "err", err)
	} else {
		n.closers = append(n.closers, idx.Close)
		searchSvc = search.NewService(idx, cursor.New(subkey(secret, "search-cursor")))
		indexer := search.NewIndexer(idx)
		n.background = append(n.background, supervise.Worker{Name: "search-indexer", Run: func(ctx context.Context) error {
			// Every api node keeps its own index, so each reads every
			// event: a consumer per node, removed a day after the node
			// is gone.
			return bus.Consume(ctx, natsbus.ConsumerConfig{Name: search.ConsumerName + "-" + nodeID, Subjects: search.Subjects,
				InactiveThreshold: 24 * time.Hour},
				func(ctx context.Context, d natsbus.Delivery) error { return indexer.Handle(ctx, d.Subject, d.Data) })
		}})
	}
	if cfg.CDNPurgeURL != "" {
		purger, err := cdnpurge.New(cdnpurge.Config{URL: cfg.CDNPurgeURL, Method: cfg.CDNPurgeMethod,
			Before: postSvc.RemoveIfUnused}) // the delete may not have removed the bytes yet
		if err != nil {
			return nil, err
		}
		n.work(cfg, supervise.Worker{Name: "cdn-purge", Run: func(ctx context.Context) error {
			return bus.Consume(ctx, natsbus.ConsumerConfig{Name: cdnpurge.ConsumerName, Subjects: cdnpurge.Subjects},
				func(ctx context.Context, d natsbus.Delivery) error { return purger.Handle(ctx, d.Subject, d.Data) })
		}})
	}
	n.work(cfg, supervise.Worker{Name: "fan-out", Run: func(ctx context.Context) error {
		return bus.Consume(ctx, natsbus.ConsumerConfig{Name: feed.ConsumerName, Subjects: []string{events.SubjectPrefix + ">"}},
			func(ctx context.Context, d natsbus.Delivery) error {
				return fanout.Handle(ctx, d.Subject, d.Data, d.OutboxSource, d.OutboxSeq)
			})
	}})
	workers, restarts := supervisor(n.background, log)
	n.workers = workers

	spoolDir, err := bodySpool(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	api := httpapi.New(httpapi.Deps{
		Identity: idSvc, Posts: postSvc, Graph: graphSvc, Feed: feedSvc, Search: searchSvc, Jobs: queues, Blobs: blobs, MediaRedirect: blobs.redirect(cfg.MediaRedirect),
		Ready: db.Ping, ReadyDetail: readyDetail(db), Events: bus.Ready, Workers: n.workers.Down, Logger: log, MaxUploadBytes: cfg.MaxUploadBytes, MediaBaseURL: cfg.MediaBaseURL,
		UploadWait: cfg.UploadWait,
		Idempotency: &idempotency.Config{
			Store: db.Idempotency(), TTL: cfg.IdempotencyTTL, Scope: requestScope, Logger: log,
			Secret: subkey(secret, "idempotency-fingerprint"), SpoolDir: spoolDir,
		},
	})
	ui, err := web.New(web.Deps{
		Identity: idSvc, Posts: postSvc, Graph: graphSvc, Feed: feedSvc, Search: searchSvc, Logger: log,
		MaxUploadBytes: cfg.MaxUploadBytes, MediaBaseURL: cfg.MediaBaseURL, CSRFKey: subkey(secret, "csrf"),
		UploadWait: cfg.UploadWait,
	})
	if err != nil {
		return nil, err
	}
	n.metrics = metricsHandler(db, restarts)
	mux := http.NewServeMux()
	if cfg.hasRole("api") {
		api.Register(mux)
		ui.Register(mux)
	} else {
		api.RegisterHealth(mux) // a worker answers health checks only
	}

	var h http.Handler = problem.NotFoundAndMethod(mux, ui.NotFound())
	h = httpapi.Versions(h)
	if cfg.RateLimits != "off" {
		limits := httplimit.DefaultConfig()
		if cfg.RateLimits != "" {
			if limits, err = httplimit.LoadConfig(cfg.RateLimits); err != nil {
				return nil, err
			}
		}
		var limiter ratelimit.Limiter = ratelimit.NewMemory(ratelimit.MemoryConfig{})
		if rdb != nil {
			client := rdb
			limiter = ratelimit.NewFallback(ratelimit.NewRedis(client, "photofeed:ratelimit:", nil), limiter, ratelimit.FallbackConfig{
				FailOpen: cfg.LimitFallback == "open",
				OnStateChange: func(from, to string) {
					log.Warn("shared rate limiter", "breaker", to, "was", from)
				},
			})
		}
		h = httplimit.New(limiter, limits, log).Middleware(h)
	}
	h = httpauth.Middleware(idSvc, log, h)
	// Outside the authentication: checking a session is a read that must
	// see the client's own logout, so it needs the client's token.
	h = consistency.Middleware(h)
	h = http.NewCrossOriginProtection().Handler(h)
	h = problem.Recover(log, h)
	h = logging.Middleware(log, h)
	h = nosniff(h)
	trusted, _ := clientip.ParseTrusted(cfg.TrustedProxies) // checked with the config
	header, _ := clientip.ParseHeader(cfg.ClientIPHeader)
	h = clientip.New(trusted, header).Middleware(h)
	n.handler = h
	return n, nil
}

// serve runs every role in this process until ctx ends, then shuts down
// gracefully: stop accepting, let in-flight requests finish, close stores.
func serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	n, err := build(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer n.Close()
	log := n.log

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           n.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // uploads on slow links
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	metrics, stopMetrics, err := serveMetrics(cfg, n.metrics, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	fmt.Fprintf(stdout, "photofeed serving on %s (data in %s; metrics %s)\n", publicURL(ln.Addr()), cfg.DataDir, metrics)
	log.Info("started", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "metrics", metrics)

	defer n.start(ctx)()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// publicURL turns a listen address into the URL people should open.
func publicURL(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "::" || host == "0.0.0.0" || strings.HasPrefix(host, "[::]") {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// requestScope names who sent a request, for idempotency keys: the user,
// or the client address of anonymous requests.
func requestScope(r *http.Request) string {
	if uid := httpauth.UserID(r.Context()); uid != 0 {
		return "user:" + strconv.FormatInt(uid, 10)
	}
	return "ip:" + clientip.From(r)
}

// readyDetail reports the replicas' health in /readyz, when there are any.
func readyDetail(db *database) func() any {
	if db.Replicas == nil {
		return nil
	}
	return func() any { return db.Replicas() }
}

// maintenance is what the periodic cleanup jobs clean.
type maintenance struct {
	db    *database
	posts *posts.Service
	blobs blobs
}

func (m maintenance) DeleteExpiredIdempotencyKeys(ctx context.Context, now time.Time) (int, error) {
	return m.db.Idempotency().DeleteExpired(ctx, now)
}

func (m maintenance) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return m.db.Identity().DeleteExpiredSessions(ctx, now)
}

func (m maintenance) DeleteSentOutbox(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for _, p := range m.db.parts {
		n, err := p.outbox.DeleteSent(ctx, before)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (m maintenance) RemoveOrphanBlobs(ctx context.Context, olderThan time.Time) (int, error) {
	n, err := m.posts.RemoveOrphanBlobs(ctx, olderThan)
	// The media directory also keeps what a killed process was writing.
	if dir, ok := m.blobs.blobBackend.(*blobstore.Dir); ok && err == nil {
		var temps int
		temps, err = dir.RemoveTemps(ctx, olderThan)
		n += temps
	}
	return n, err
}

// authorDirectory lets posts name authors without knowing identity.
type authorDirectory struct{ ids *identity.Service }

func (d authorDirectory) Authors(ctx context.Context, idList []int64) (map[int64]posts.Author, error) {
	users, err := d.ids.UsersByIDs(ctx, idList)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]posts.Author, len(users))
	for id, u := range users {
		out[id] = posts.Author{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName}
	}
	return out, nil
}
