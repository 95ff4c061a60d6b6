// Package gateway is an HTTP reverse proxy and load balancer for a set of
// interchangeable upstreams: it picks one per request by a balancing
// policy, keeps pooled keep-alive connections to each, streams bodies both
// ways, checks upstreams actively (/readyz) and passively (ejecting those
// that fail), guards each with a circuit breaker and a bulkhead, and
// retries requests that are safe to retry on another upstream within a
// retry budget. It knows HTTP and nothing of what the upstreams serve.
package gateway

import (
	"fmt"
	"net/http"
	"time"
)

// Config describes a Gateway; zero values take the defaults written next to
// each field, so a caller sets only what its flags name.
type Config struct {
	// Upstreams are base URLs (http://host:port); at least one.
	Upstreams []string
	// Policy balances requests that no Route overrides: "round-robin"
	// (default), "least-outstanding", "p2c" or "hash".
	Policy string
	// Timeout bounds the wait for an upstream's response headers on each
	// attempt (default 10s); response bodies stream without a limit, so
	// downloads and event streams are not cut.
	Timeout time.Duration
	// Routes give path prefixes their own policy and timeout; the longest
	// matching prefix wins.
	Routes []Route

	// HashKey names the caller for the "hash" policy (a user id from a
	// verified token, say); when it is nil or returns "", the client
	// address is the key.
	HashKey func(*http.Request) string
	// ClientAddr is the client's address as this gateway resolved it (from
	// its own trusted proxies, say): it is the one Forwarded element sent
	// upstream, replacing whatever the client wrote, and the hash policy's
	// fallback key. Default: the connection's peer.
	ClientAddr func(*http.Request) string

	// Shed says whether an upstream's 503 is a refusal for load (a node
	// shedding what it has no room for): retried on another upstream like
	// any 503, but counted neither for ejection nor by the breaker, which
	// would take a busy node out and pile its load on the others.
	Shed func(*http.Response) bool

	// MaxInFlight is each upstream's bulkhead: requests in flight above it
	// go to another upstream (default 512).
	MaxInFlight int
	// MaxStreams is how many requests of Stream routes each upstream may
	// hold open (default 10,000): apart from MaxInFlight, so that open
	// streams never take the slots of ordinary requests.
	MaxStreams int
	// MaxIdleConnsPerHost keeps that many keep-alive connections to each
	// upstream (default MaxInFlight; Go's default of 2 makes a busy proxy
	// open and close a connection for most requests).
	MaxIdleConnsPerHost int
	// DialTimeout bounds connecting to an upstream (default 2s).
	DialTimeout time.Duration

	Health  HealthConfig
	Outlier OutlierConfig
	Breaker BreakerConfig
	Retry   RetryConfig

	// ShutdownEvent ends each event stream that Shutdown cuts, when the
	// stream is between events (a server-sent event telling the client
	// why, say); nil: the stream just ends.
	ShutdownEvent []byte

	// Now is the clock for ejections (default time.Now); tests move it.
	Now func() time.Time
	// Ticks, when set, drives the active health checks of Run instead of a
	// ticker every Health.Interval.
	Ticks <-chan time.Time
}

// Route is a group of paths with its own balancing and timeout.
type Route struct {
	Prefix string // "/v2/feed/stream", "/media/"
	// Methods, when set, limit the route to requests of those methods
	// (writes balanced apart from reads of the same paths, say); among
	// routes of the same prefix length, one with Methods is tried first.
	Methods []string
	Policy  string        // "" takes Config.Policy
	Timeout time.Duration // 0 takes Config.Timeout
	// Stream marks a route of long-lived answers (server-sent events): its
	// requests count against MaxStreams instead of the bulkhead, are
	// balanced by the streams each upstream holds, and report to the
	// breaker once their headers come.
	Stream bool
}

// HealthConfig tunes the active checks of each upstream.
type HealthConfig struct {
	Path     string        // default "/readyz"
	Interval time.Duration // default 5s
	Timeout  time.Duration // per check, default 1s
	// Unhealthy is how many failed checks in a row take an upstream out
	// (default 3); Healthy how many passed checks bring it back (default 2).
	Unhealthy, Healthy int
}

// OutlierConfig tunes passive ejection: an upstream whose requests fail
// (connection errors or 5xx answers) Consecutive times in a row is ejected
// for EjectFor, unless that would eject more than half of the upstreams.
type OutlierConfig struct {
	Consecutive int           // default 5; negative never ejects
	EjectFor    time.Duration // default 30s
}

// BreakerConfig tunes each upstream's circuit breaker. It opens when, in
// the last Window, at least MinRequests were made and FailureRatio of them
// failed (connection errors, timeouts, 5xx) — the Hystrix rule, so that a
// slow upstream is cut off even though it never answers an error; after
// OpenFor it lets one probe through and closes if the probe succeeds.
type BreakerConfig struct {
	MinRequests  int           // default 20
	FailureRatio float64       // default 0.5
	Window       time.Duration // default 10s
	OpenFor      time.Duration // default 5s
}

// RetryConfig tunes retries of requests that are safe to retry.
type RetryConfig struct {
	// Attempts is the most retries of one request (default 2); negative
	// turns retries off.
	Attempts int
	// Base and Max shape the delay before retry n:
	// min(Base·2^n + rand(0, Base), Max). Defaults 10ms and 200ms.
	Base, Max time.Duration
	// Budget is the share of requests that may be retried (default 0.1):
	// each request earns Budget of a retry, each retry spends one, and at
	// most Reserve unspent retries are kept (default 10), so retries add
	// at most about Budget extra load during an outage.
	Budget  float64
	Reserve int
	// BodyLimit is the largest request body kept in memory so it can be
	// sent again (default 64 KiB). A bigger or unannounced body streams,
	// and its request is retried only if no byte of it was read.
	BodyLimit int64
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Upstreams) == 0 {
		return c, fmt.Errorf("gateway: no upstreams")
	}
	if c.Policy == "" {
		c.Policy = PolicyRoundRobin
	}
	if c.ClientAddr == nil {
		c.ClientAddr = peerAddr
	}
	c.Timeout = orDuration(c.Timeout, 10*time.Second)
	c.MaxInFlight = orInt(c.MaxInFlight, 512)
	c.MaxStreams = orInt(c.MaxStreams, 10_000)
	c.MaxIdleConnsPerHost = orInt(c.MaxIdleConnsPerHost, c.MaxInFlight)
	c.DialTimeout = orDuration(c.DialTimeout, 2*time.Second)
	if c.Health.Path == "" {
		c.Health.Path = "/readyz"
	}
	c.Health.Interval = orDuration(c.Health.Interval, 5*time.Second)
	c.Health.Timeout = orDuration(c.Health.Timeout, time.Second)
	c.Health.Unhealthy = orInt(c.Health.Unhealthy, 3)
	c.Health.Healthy = orInt(c.Health.Healthy, 2)
	c.Outlier.Consecutive = orInt(c.Outlier.Consecutive, 5)
	c.Outlier.EjectFor = orDuration(c.Outlier.EjectFor, 30*time.Second)
	c.Breaker.MinRequests = orInt(c.Breaker.MinRequests, 20)
	if c.Breaker.FailureRatio <= 0 {
		c.Breaker.FailureRatio = 0.5
	}
	c.Breaker.Window = orDuration(c.Breaker.Window, 10*time.Second)
	c.Breaker.OpenFor = orDuration(c.Breaker.OpenFor, 5*time.Second)
	c.Retry.Attempts = orInt(c.Retry.Attempts, 2)
	c.Retry.Base = orDuration(c.Retry.Base, 10*time.Millisecond)
	c.Retry.Max = orDuration(c.Retry.Max, 200*time.Millisecond)
	if c.Retry.Budget <= 0 {
		c.Retry.Budget = 0.1
	}
	c.Retry.Reserve = orInt(c.Retry.Reserve, 10)
	if c.Retry.BodyLimit <= 0 {
		c.Retry.BodyLimit = 64 << 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	for _, p := range append([]string{c.Policy}, routePolicies(c.Routes)...) {
		if _, err := newBalancer(p); err != nil {
			return c, err
		}
	}
	return c, nil
}

func routePolicies(routes []Route) []string {
	var out []string
	for _, r := range routes {
		if r.Policy != "" {
			out = append(out, r.Policy)
		}
	}
	return out
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}
