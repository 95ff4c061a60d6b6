// Package httplimit applies photofeed's rate-limit policies to HTTP
// requests: which policies a request falls under, whose quota it spends,
// and the RateLimit-Policy / RateLimit / Retry-After headers and 429
// problems that tell clients where they stand
// (draft-ietf-httpapi-ratelimit-headers-10).
package httplimit

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/photofeed/photofeed/ratelimit"
)

// The policy names, each a route class.
const (
	Anonymous     = "anonymous"      // every request without a user, per client IP
	Authenticated = "authenticated"  // every request with a user, per user
	Uploads       = "uploads"        // photo uploads, per user
	Signups       = "signups"        // account creation, per client IP
	LoginFailures = "login_failures" // failed logins, per username and client IP
)

// Config maps policy names to limits, and sets the per-account back-off
// on failed logins.
type Config struct {
	Policies       map[string]ratelimit.Limit `json:"policies"`
	AccountBackoff AccountBackoff             `json:"account_backoff"`
}

// DefaultConfig is what runs when no file is given.
func DefaultConfig() Config {
	return Config{Policies: map[string]ratelimit.Limit{
		Anonymous:     {Requests: 300, Window: 5 * time.Minute, Algorithm: ratelimit.SlidingWindowCounter},
		Authenticated: {Requests: 1500, Window: 5 * time.Minute, Algorithm: ratelimit.SlidingWindowCounter},
		Uploads:       {Requests: 30, Window: 30 * time.Minute, Algorithm: ratelimit.TokenBucket},
		Signups:       {Requests: 5, Window: 30 * time.Minute, Algorithm: ratelimit.SlidingWindowLog},
		LoginFailures: {Requests: 10, Window: 15 * time.Minute, Algorithm: ratelimit.SlidingWindowLog},
	}, AccountBackoff: DefaultAccountBackoff}
}

var known = []string{Anonymous, Authenticated, Uploads, Signups, LoginFailures}

// LoadConfig reads a policy file. Policies it leaves out keep their
// defaults; unknown names are an error, so a typo cannot silently disable
// a limit.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("rate limits: %w", err)
	}
	file := Config{AccountBackoff: DefaultAccountBackoff} // fields left out keep their defaults
	if err := json.Unmarshal(b, &file); err != nil {
		return Config{}, fmt.Errorf("rate limits %s: %w", path, err)
	}
	if ab := file.AccountBackoff; ab.Free < 0 || ab.Base <= 0 || ab.Max < ab.Base || ab.Forget <= 0 {
		return Config{}, fmt.Errorf("rate limits %s: account_backoff wants free ≥ 0 and 0 < base ≤ max, forget > 0", path)
	}
	cfg := DefaultConfig()
	cfg.AccountBackoff = file.AccountBackoff
	for name, l := range file.Policies {
		if !slices.Contains(known, name) {
			return Config{}, fmt.Errorf("rate limits %s: unknown policy %q (known: %v)", path, name, known)
		}
		cfg.Policies[name] = l
	}
	return cfg, nil
}
