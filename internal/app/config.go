package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/clientip"
	"github.com/photofeed/photofeed/internal/tracing"
)

// Config is everything an operator can set, as a flag or as the
// environment variable beside it; flags win over the environment.
type Config struct {
	Addr            string        // --addr, PHOTOFEED_ADDR; default :8080
	Roles           string        // --roles, PHOTOFEED_ROLES; api, worker or both (default)
	DataDir         string        // --data-dir, PHOTOFEED_DATA_DIR; default ./data
	DB              string        // --db, PHOTOFEED_DB; a postgres:// URL, default the embedded SQLite in the data dir
	DBReplicas      string        // --db-replicas, PHOTOFEED_DB_REPLICAS; comma-separated postgres:// URLs of read replicas
	ReplicaMaxLag   time.Duration // --replica-max-lag, PHOTOFEED_REPLICA_MAX_LAG; default 5s
	Secret          string        // --secret, PHOTOFEED_SECRET; default: generated into the data dir
	MaxUploadBytes  int64         // --max-upload, PHOTOFEED_MAX_UPLOAD; default 20MiB
	MaxPixels       int64         // --max-pixels, PHOTOFEED_MAX_PIXELS; default 50,000,000
	DecodeMemory    int64         // --decode-memory, PHOTOFEED_DECODE_MEMORY; default 256MiB
	SessionTTL      time.Duration // --session-ttl, PHOTOFEED_SESSION_TTL; default 24h
	LogicalShards   int           // --logical-shards, PHOTOFEED_LOGICAL_SHARDS; default 1024
	Shards          string        // --shards, PHOTOFEED_SHARDS; file listing the databases that hold shards
	MediaBaseURL    string        // --media-url, PHOTOFEED_MEDIA_URL; default "" (this host)
	ShutdownTimeout time.Duration // --shutdown-timeout, PHOTOFEED_SHUTDOWN_TIMEOUT; default 15s
	LogLevel        string        // --log-level, PHOTOFEED_LOG_LEVEL; default info
	LogFormat       string        // --log-format, PHOTOFEED_LOG_FORMAT; text or json, default text
	Argon2Memory    uint          // --argon2-memory, PHOTOFEED_ARGON2_MEMORY; KiB, default 19456
	Argon2Time      uint          // --argon2-time, PHOTOFEED_ARGON2_TIME; passes, default 2
	HashMemory      int64         // --hash-memory, PHOTOFEED_HASH_MEMORY; bytes of argon2 memory at once, default 4 × --argon2-memory
	RateLimits      string        // --rate-limits, PHOTOFEED_RATE_LIMITS; a policy file, "off", or "" for the defaults
	IdempotencyTTL  time.Duration // --idempotency-ttl, PHOTOFEED_IDEMPOTENCY_TTL; default 24h
	NATS            string        // --nats, PHOTOFEED_NATS; "" starts an embedded server
	FanOutThreshold int           // --fanout-threshold, PHOTOFEED_FANOUT_THRESHOLD; default 10,000
	TimelineCap     int           // --timeline-cap, PHOTOFEED_TIMELINE_CAP; default 800
	UploadWait      time.Duration // --upload-wait, PHOTOFEED_UPLOAD_WAIT; default 2s
	StreamHeartbeat time.Duration // --stream-heartbeat, PHOTOFEED_STREAM_HEARTBEAT; default 15s
	Redis           string        // --redis, PHOTOFEED_REDIS; redis:// URL for state shared by instances (rate limits)
	LimitFallback   string        // --rate-limit-fallback, PHOTOFEED_RATE_LIMIT_FALLBACK; local or open, default local
	Blobs           string        // --blobs, PHOTOFEED_BLOBS; s3://bucket[/prefix]?region=&endpoint=&path_style=, default the data dir
	BlobsCA         string        // --blobs-ca, PHOTOFEED_BLOBS_CA; PEM file of CAs trusted for the object store's TLS
	MediaRedirect   time.Duration // --media-redirect, PHOTOFEED_MEDIA_REDIRECT; 0 serves media through the app
	CacheTTL        time.Duration // --cache-ttl, PHOTOFEED_CACHE_TTL; default 1m, 0 turns the caches off
	CDNPurgeURL     string        // --cdn-purge-url, PHOTOFEED_CDN_PURGE_URL; URL template with {path}; "" purges nothing
	CDNPurgeMethod  string        // --cdn-purge-method, PHOTOFEED_CDN_PURGE_METHOD; default PURGE
	MetricsAddr     string        // --metrics-addr, PHOTOFEED_METRICS_ADDR; default 127.0.0.1:9464, "off" for none
	Pprof           bool          // --pprof, PHOTOFEED_PPROF; the runtime's profiles on --metrics-addr too
	TrustedProxies  string        // --trusted-proxies, PHOTOFEED_TRUSTED_PROXIES; CIDR ranges whose client header is believed
	ClientIPHeader  string        // --client-ip-header, PHOTOFEED_CLIENT_IP_HEADER; x-forwarded-for (default) or forwarded
	Upstreams       string        // --upstreams, PHOTOFEED_UPSTREAMS; the gateway's api nodes, comma-separated URLs
	UpstreamsFile   string        // --upstreams-file, PHOTOFEED_UPSTREAMS_FILE; the same, one a line, re-read on SIGHUP
	LBPolicy        string        // --lb-policy, PHOTOFEED_LB_POLICY; the gateway's balancing, per route group
	UpstreamLimit   int           // --upstream-max-inflight, PHOTOFEED_UPSTREAM_MAX_INFLIGHT; the gateway's bulkhead per api node, default 512
	UpstreamStreams int           // --upstream-max-streams, PHOTOFEED_UPSTREAM_MAX_STREAMS; live-feed streams per api node, default 10,000
	HealthInterval  time.Duration // --upstream-health-interval, PHOTOFEED_UPSTREAM_HEALTH_INTERVAL; default 5s
	RetryBudget     float64       // --retry-budget, PHOTOFEED_RETRY_BUDGET; the gateway's retries as a share of requests, default 0.1
	TLSCert         string        // --tls-cert, PHOTOFEED_TLS_CERT; with TLSKey: serve HTTPS (and HTTP/2)
	TLSKey          string        // --tls-key, PHOTOFEED_TLS_KEY
	MaxInflight     int           // --max-inflight, PHOTOFEED_MAX_INFLIGHT; requests served at once, default 512, 0 for no limit
	AdaptiveLimit   bool          // --adaptive-limit, PHOTOFEED_ADAPTIVE_LIMIT; the limit follows latency, default true
	OTLPEndpoint    string        // --otlp-endpoint, PHOTOFEED_OTLP_ENDPOINT; OTLP/HTTP collector for traces, "" exports none
	TraceSample     float64       // --trace-sample, PHOTOFEED_TRACE_SAMPLE; share of new traces recorded, default 1

	// getenv is the environment the config was read from, for adapters
	// that take credentials from it (AWS_*).
	getenv func(string) string
}

// byteSize is a flag value like 20MiB, 500KB or 1048576.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<53)/mult {
		return 0, errors.New("want a positive size such as 20MiB, 500KB or 1048576")
	}
	return n * mult, nil
}

// parseServeConfig reads flags, then fills unset ones from the environment.
func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	maxUpload := byteSize(20 << 20)
	var hashMemory byteSize // 0: 4 × --argon2-memory
	decodeMemory := byteSize(256 << 20)
	fs := flag.NewFlagSet("photofeed serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", ":8080", "listen address (host:port)")
	fs.StringVar(&c.Roles, "roles", "api,worker", "what this process does: api (HTTP API and UI), worker (outbox relay, event consumers, jobs), or both; or gateway alone (the front door of api nodes)")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "where the database and media live")
	fs.StringVar(&c.DB, "db", "", "PostgreSQL URL, postgres://user@host:5432/db (default: embedded SQLite in the data dir)")
	fs.StringVar(&c.DBReplicas, "db-replicas", "", "comma-separated PostgreSQL URLs of streaming read replicas")
	fs.DurationVar(&c.ReplicaMaxLag, "replica-max-lag", 5*time.Second, "a replica further behind than this takes no reads until it catches up")
	fs.StringVar(&c.Secret, "secret", "", "key for session tokens and cursors, ≥ 32 bytes; all instances need the same one (default: generated into the data dir)")
	fs.Var(&maxUpload, "max-upload", "largest photo upload, e.g. 20MiB")
	fs.Int64Var(&c.MaxPixels, "max-pixels", 50_000_000, "largest image, in pixels, checked before decoding")
	fs.Var(&decodeMemory, "decode-memory", "memory this node spends decoding and resizing images at once, e.g. 256MiB; a larger image is refused")
	fs.DurationVar(&c.SessionTTL, "session-ttl", 24*time.Hour, "how long a login lasts; the web UI renews it while in use")
	fs.IntVar(&c.LogicalShards, "logical-shards", 1024, "logical shards users are spread over (fixed when the deployment is created; PostgreSQL keeps it in the shard map)")
	fs.StringVar(&c.Shards, "shards", "", "with --db: file of the PostgreSQL databases holding the logical shards, one per line: name url [replica-url ...] (default: all on --db)")
	fs.StringVar(&c.MediaBaseURL, "media-url", "", "origin media URLs point at, e.g. a CDN (default: this server)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests get to finish on shutdown")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.UintVar(&c.Argon2Memory, "argon2-memory", 19*1024, "argon2id memory per password hash, KiB")
	fs.UintVar(&c.Argon2Time, "argon2-time", 2, "argon2id passes per password hash")
	fs.Var(&hashMemory, "hash-memory", "argon2id memory all password hashes of this process may use at once, e.g. 76MiB; more waits, then 503 (default 4 × --argon2-memory)")
	fs.DurationVar(&c.IdempotencyTTL, "idempotency-ttl", 24*time.Hour, "how long responses to requests with an Idempotency-Key are kept for replay")
	fs.StringVar(&c.NATS, "nats", "", "NATS server or cluster URLs, comma-separated (default: an embedded server, data in the data dir)")
	fs.IntVar(&c.FanOutThreshold, "fanout-threshold", 10_000, "authors with more followers are merged into feeds at read time instead of fanned out")
	fs.IntVar(&c.TimelineCap, "timeline-cap", 800, "entries kept per home timeline")
	fs.DurationVar(&c.UploadWait, "upload-wait", 2*time.Second, `how long an upload's response waits for its thumbnails before answering "processing"`)
	fs.DurationVar(&c.StreamHeartbeat, "stream-heartbeat", 15*time.Second, "how often an idle live feed stream (/v2/feed/stream) sends a comment line, so proxies keep it open")
	fs.StringVar(&c.Redis, "redis", "", "Redis URL (redis://host:6379/0) for rate limits shared by all instances (default: per-instance memory)")
	fs.StringVar(&c.LimitFallback, "rate-limit-fallback", "local", "when Redis is unreachable: local (in-process limits) or open (no limits)")
	fs.StringVar(&c.Blobs, "blobs", "", "object store for media: s3://bucket[/prefix]?region=...&endpoint=...&path_style=true (default: the data dir); credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the AWS default chain")
	fs.StringVar(&c.BlobsCA, "blobs-ca", "", "PEM file of certificate authorities trusted for the object store (default: the system's)")
	fs.DurationVar(&c.MediaRedirect, "media-redirect", 0, "with --blobs s3://, answer /media/ with a redirect to a presigned URL valid this long, e.g. 1h (default 0: serve through the app)")
	fs.DurationVar(&c.CacheTTL, "cache-ttl", time.Minute, "how long sessions, profiles and posts stay cached (writes invalidate them on every instance at once); 0 turns the caches off")
	fs.StringVar(&c.CDNPurgeURL, "cdn-purge-url", "", "on a photo's deletion, purge its media from an edge cache at this URL, {path} being /media/<key>, e.g. http://cdn.internal{path}")
	fs.StringVar(&c.CDNPurgeMethod, "cdn-purge-method", "PURGE", "HTTP method of the purge request (PURGE, POST, DELETE…)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "127.0.0.1:9464", `listen address of /metrics (Prometheus), apart from the public one; "off" for none`)
	fs.BoolVar(&c.Pprof, "pprof", false, "also serve the Go runtime's profiles (/debug/pprof/) on --metrics-addr, for an operator to see where CPU and memory go")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated CIDR ranges of proxies whose --client-ip-header names the client (default: none; the peer address is the client)")
	fs.StringVar(&c.ClientIPHeader, "client-ip-header", string(clientip.XForwardedFor), "the one header trusted proxies name the client in: x-forwarded-for or forwarded (RFC 7239); the other is never read")
	fs.StringVar(&c.Upstreams, "upstreams", "", "with --roles gateway: the api nodes' URLs, comma-separated, e.g. http://10.0.0.5:8080,http://10.0.0.6:8080")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS, and HTTP/2 to clients that offer it; needs --tls-key")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.StringVar(&c.UpstreamsFile, "upstreams-file", "", "with --roles gateway: a file of api node URLs, one a line (# comments), re-read on SIGHUP: new ones join, missing ones are drained")
	fs.StringVar(&c.LBPolicy, "lb-policy", "", `with --roles gateway: balancing, all groups at once ("p2c") and/or per route group ("feed=hash,writes=least-outstanding"); groups `+routeGroupNames()+`; policies round-robin, least-outstanding, p2c, hash (default: `+defaultLBPolicy()+`)`)
	fs.IntVar(&c.UpstreamLimit, "upstream-max-inflight", 512, "with --roles gateway: requests in flight on one api node (its bulkhead); more go to another node, or get 503")
	fs.IntVar(&c.UpstreamStreams, "upstream-max-streams", 10_000, "with --roles gateway: live-feed streams held open on one api node, counted apart from requests")
	fs.DurationVar(&c.HealthInterval, "upstream-health-interval", 5*time.Second, "with --roles gateway: how often each api node's /readyz is checked (3 failures take it out, 2 passes bring it back)")
	fs.Float64Var(&c.RetryBudget, "retry-budget", 0.1, "with --roles gateway: retries allowed as a share of requests (0.1: at most ~10 % extra load on failing nodes)")
	fs.IntVar(&c.MaxInflight, "max-inflight", 512, "most requests an api node serves at once; past its limit it answers 503 with Retry-After at once, search and suggestions first (0: no limit)")
	fs.BoolVar(&c.AdaptiveLimit, "adaptive-limit", true, "lower the limit below --max-inflight when latency rises with load, so admitted requests keep their latency; false keeps it at --max-inflight")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", "", "export trace spans over OTLP/HTTP to this collector, e.g. http://127.0.0.1:4318 (path default /v1/traces); without it no spans are recorded, but an incoming traceparent is passed on and logged")
	fs.Float64Var(&c.TraceSample, "trace-sample", 1, "with --otlp-endpoint: the share of new traces recorded, 0 to 1; a request with a traceparent follows its caller's decision")
	fs.StringVar(&c.RateLimits, "rate-limits", "", `rate-limit policy file (JSON), or "off" (default: built-in policies)`)

	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := setFromEnv(fs, getenv); err != nil {
		return Config{}, err
	}
	c.MaxUploadBytes = int64(maxUpload)
	c.HashMemory = int64(hashMemory)
	if c.HashMemory == 0 {
		c.HashMemory = 4 * int64(c.Argon2Memory) << 10
	}
	c.DecodeMemory = int64(decodeMemory)
	c.getenv = getenv
	return c, c.validate()
}

// setFromEnv sets each flag the command line left unset from its
// PHOTOFEED_ variable (--max-upload: PHOTOFEED_MAX_UPLOAD), if not empty.
func setFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "PHOTOFEED_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && !set[f.Name] && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, e)
			}
		}
	})
	return err
}

func (c Config) validate() error {
	switch {
	case c.DBReplicas != "" && c.DB == "":
		return errors.New("--db-replicas needs --db (a PostgreSQL primary)")
	case c.Shards != "" && c.DB == "":
		return errors.New("--shards needs --db (the main PostgreSQL database)")
	case c.Blobs != "" && !strings.HasPrefix(c.Blobs, "s3://"):
		return errors.New("--blobs must be an s3:// URL, or empty for the data dir")
	case c.MediaRedirect != 0 && c.Blobs == "":
		return errors.New("--media-redirect needs --blobs s3://...")
	case c.MediaRedirect < 0 || c.MediaRedirect > 7*24*time.Hour:
		return errors.New("--media-redirect must be from 0 to 168h (S3's longest presigned URL)")
	case c.hasRole("gateway") && c.Roles != "gateway":
		return errors.New("--roles gateway runs alone: start api and worker nodes as processes of their own")
	case !validRoles(c.Roles):
		return errors.New("--roles must be api, worker, api,worker, or gateway")
	case c.CacheTTL < 0 || c.CacheTTL > time.Hour:
		return errors.New("--cache-ttl must be from 0 to 1h")
	case c.LimitFallback != "local" && c.LimitFallback != "open":
		return errors.New("--rate-limit-fallback must be local or open")
	case c.UploadWait < 0 || c.UploadWait > time.Minute:
		return errors.New("--upload-wait must be from 0 to 1m")
	case c.StreamHeartbeat < 10*time.Millisecond || c.StreamHeartbeat > 10*time.Minute:
		return errors.New("--stream-heartbeat must be from 10ms to 10m")
	case c.FanOutThreshold < 0:
		return errors.New("--fanout-threshold must not be negative")
	case c.MaxInflight < 0 || c.MaxInflight > 1_000_000:
		return errors.New("--max-inflight must be from 0 (no limit) to 1000000")
	case c.TimelineCap < 20 || c.TimelineCap > 100_000:
		return errors.New("--timeline-cap must be from 20 to 100000")
	case c.IdempotencyTTL < time.Minute:
		return errors.New("--idempotency-ttl must be at least 1m")
	case c.MaxPixels <= 0:
		return errors.New("--max-pixels must be positive")
	case c.DecodeMemory < 16<<20:
		return errors.New("--decode-memory must be at least 16MiB")
	case c.SessionTTL < time.Minute:
		return errors.New("--session-ttl must be at least 1m")
	case c.LogicalShards < 1 || c.LogicalShards > 8192:
		return errors.New("--logical-shards must be from 1 to 8192")
	case c.Secret != "" && len(c.Secret) < 32:
		return errors.New("--secret must be at least 32 bytes")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return errors.New("--log-format must be text or json")
	case c.Argon2Memory < 64 || c.Argon2Memory > 4<<20:
		return errors.New("--argon2-memory must be from 64 to 4194304 KiB")
	case c.Argon2Time < 1 || c.Argon2Time > 100:
		return errors.New("--argon2-time must be from 1 to 100")
	case c.Pprof && c.MetricsAddr == "off":
		return errors.New("--pprof needs --metrics-addr: the profiles are served there")
	case c.MetricsAddr != "off" && !validAddr(c.MetricsAddr):
		return errors.New(`--metrics-addr must be host:port (e.g. 127.0.0.1:9464) or "off"`)
	case !validProxies(c.TrustedProxies):
		return errors.New("--trusted-proxies must be comma-separated CIDR ranges or addresses, e.g. 10.0.0.0/8,192.0.2.7")
	case !validClientIPHeader(c.ClientIPHeader):
		return errors.New("--client-ip-header must be x-forwarded-for or forwarded")
	case c.HashMemory < int64(c.Argon2Memory)<<10:
		return errors.New("--hash-memory must be at least --argon2-memory (one hash)")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together: give both, or neither")
	case !(c.TraceSample >= 0 && c.TraceSample <= 1):
		return errors.New("--trace-sample must be from 0 to 1")
	}
	if c.OTLPEndpoint != "" {
		if _, err := tracing.ParseEndpoint(c.OTLPEndpoint); err != nil {
			return fmt.Errorf("--otlp-endpoint: %w", err)
		}
	}
	return c.validateGateway()
}

// validateGateway checks the gateway's flags, and that no other role is
// given them.
func (c Config) validateGateway() error {
	if !c.hasRole("gateway") {
		if c.Upstreams != "" || c.UpstreamsFile != "" || c.LBPolicy != "" {
			return errors.New("--upstreams, --upstreams-file and --lb-policy are for --roles gateway")
		}
		return nil
	}
	switch {
	case (c.Upstreams == "") == (c.UpstreamsFile == ""):
		return errors.New("--roles gateway needs --upstreams or --upstreams-file (one of them)")
	case c.Secret == "":
		return errors.New("--roles gateway needs --secret, the api nodes' own, to verify session tokens")
	}
	if c.Upstreams != "" {
		if _, err := parseUpstreams(strings.NewReader(strings.ReplaceAll(c.Upstreams, ",", "\n"))); err != nil {
			return fmt.Errorf("--upstreams: %w", err)
		}
	}
	if _, err := parseLBPolicy(c.LBPolicy); err != nil {
		return fmt.Errorf("--lb-policy: %w", err)
	}
	switch {
	case c.UpstreamLimit < 1 || c.UpstreamLimit > 1<<20:
		return errors.New("--upstream-max-inflight must be from 1 to 1048576")
	case c.UpstreamStreams < 1 || c.UpstreamStreams > 1<<24:
		return errors.New("--upstream-max-streams must be from 1 to 16777216")
	case c.HealthInterval < 100*time.Millisecond || c.HealthInterval > time.Hour:
		return errors.New("--upstream-health-interval must be from 100ms to 1h")
	case !(c.RetryBudget > 0 && c.RetryBudget <= 1):
		return errors.New("--retry-budget must be above 0 and at most 1")
	}
	return nil
}

func validAddr(s string) bool {
	_, port, err := net.SplitHostPort(s)
	return err == nil && port != ""
}

func validProxies(s string) bool {
	_, err := clientip.ParseTrusted(s)
	return err == nil
}

func validClientIPHeader(s string) bool {
	_, err := clientip.ParseHeader(s)
	return err == nil
}

func validRoles(roles string) bool {
	n := 0
	for _, r := range strings.Split(roles, ",") {
		switch strings.TrimSpace(r) {
		case "api", "worker", "gateway":
			n++
		default:
			return false
		}
	}
	return n > 0
}

func (c Config) hasRole(role string) bool {
	for _, r := range strings.Split(c.Roles, ",") {
		if strings.TrimSpace(r) == role {
			return true
		}
	}
	return false
}
