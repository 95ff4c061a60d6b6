package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/identity"
)

// routeGroup is a set of routes the gateway balances alike; --lb-policy
// names it.
type routeGroup struct {
	name    string
	policy  string // by default
	timeout time.Duration
	routes  []gateway.Route
}

// writeMethods are the requests the "writes" group takes, on any path.
var writeMethods = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// routeGroups are the gateway's route groups, and why each balances as it
// does by default.
var routeGroups = []routeGroup{
	// Feed reads hash by user (bounded loads, c = 1.25): the reader's
	// timeline, the posts and profiles in it, and their followed
	// celebrities are then warm in one api node's caches, and a user whose
	// node is too busy spills to the next on the ring, not anywhere.
	// The live feed's streams hash alike (by the reader's live group, see
	// hashKey) but are counted apart from requests (gateway.Route.Stream).
	{name: "feed", policy: gateway.PolicyHash, timeout: 10 * time.Second,
		routes: []gateway.Route{{Prefix: "/v1/feed", Methods: []string{http.MethodGet, http.MethodHead}},
			{Prefix: liveStreamPath, Methods: []string{http.MethodGet}, Stream: true},
			{Prefix: "/v2/feed", Methods: []string{http.MethodGet, http.MethodHead}}}},
	// Writes go where the fewest requests are in flight: their costs
	// differ a thousandfold (an upload decodes an image, a like writes a
	// row), and there is no cache to keep warm (a write invalidates it on
	// every node). Their timeout is an upload's on a slow link.
	{name: "writes", policy: gateway.PolicyLeastOutstanding, timeout: 2 * time.Minute,
		routes: []gateway.Route{{Prefix: "/", Methods: writeMethods}}},
	// Media are immutable, alike in cost and served by any node (from the
	// shared object store): round-robin, the cheapest, is enough.
	{name: "media", policy: gateway.PolicyRoundRobin, timeout: 30 * time.Second,
		routes: []gateway.Route{{Prefix: "/media/"}}},
	// The rest (other API reads, the UI, /openapi.json): two random
	// choices, the less loaded, near least-outstanding without every
	// gateway herding onto the node that looks idle. The architecture
	// page's stream stays open as long as the page: counted as a stream,
	// not as a request in flight for its whole life.
	{name: "default", policy: gateway.PolicyP2C, timeout: 10 * time.Second,
		routes: []gateway.Route{{Prefix: architectureEventsPath, Methods: []string{http.MethodGet}, Stream: true}}},
}

func routeGroupNames() string {
	var names []string
	for _, g := range routeGroups {
		names = append(names, g.name)
	}
	return strings.Join(names, ", ")
}

func defaultLBPolicy() string {
	var out []string
	for _, g := range routeGroups {
		out = append(out, g.name+"="+g.policy)
	}
	return strings.Join(out, ",")
}

var policies = []string{gateway.PolicyRoundRobin, gateway.PolicyLeastOutstanding, gateway.PolicyP2C, gateway.PolicyHash}

// parseLBPolicy reads --lb-policy: a comma-separated list of POLICY (every
// group) and GROUP=POLICY (that group), later items winning, on top of
// each group's default. It returns the policy of every group by name.
func parseLBPolicy(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, g := range routeGroups {
		out[g.name] = g.policy
	}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		group, policy, named := strings.Cut(item, "=")
		if !named {
			group, policy = "", group
		}
		group, policy = strings.TrimSpace(group), strings.TrimSpace(policy)
		if !slices.Contains(policies, policy) {
			return nil, fmt.Errorf("%q: unknown policy %q (want %s)", item, policy, strings.Join(policies, ", "))
		}
		if !named {
			for name := range out {
				out[name] = policy
			}
			continue
		}
		if _, ok := out[group]; !ok {
			return nil, fmt.Errorf("%q: unknown route group %q (want %s)", item, group, routeGroupNames())
		}
		out[group] = policy
	}
	return out, nil
}

// gatewayRoutes turns --lb-policy into the gateway's routes and the
// policy of the default group.
func gatewayRoutes(lbPolicy string) (routes []gateway.Route, def string, err error) {
	chosen, err := parseLBPolicy(lbPolicy)
	if err != nil {
		return nil, "", fmt.Errorf("--lb-policy: %w", err)
	}
	for _, g := range routeGroups {
		for _, r := range g.routes {
			r.Policy, r.Timeout = chosen[g.name], g.timeout
			routes = append(routes, r)
		}
	}
	return routes, chosen["default"], nil
}

// initialUpstreams are the upstreams the gateway starts with.
func initialUpstreams(cfg Config) ([]string, error) {
	if cfg.UpstreamsFile != "" {
		return readUpstreamsFile(cfg.UpstreamsFile)
	}
	return parseUpstreams(strings.NewReader(strings.ReplaceAll(cfg.Upstreams, ",", "\n")))
}

func readUpstreamsFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--upstreams-file: %w", err)
	}
	defer f.Close()
	list, err := parseUpstreams(f)
	if err != nil {
		return nil, fmt.Errorf("--upstreams-file %s: %w", path, err)
	}
	return list, nil
}

// parseUpstreams reads upstream URLs, one a line; blank lines and #
// comments are skipped. At least one is needed.
func parseUpstreams(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		u, err := url.Parse(text)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("line %d: %q is not an http://host:port URL", line, text)
		}
		out = append(out, strings.TrimSuffix(text, "/"))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no upstreams listed")
	}
	return out, nil
}

// tokenCheck is httpauth's authenticator at the gateway: a token's
// signature and expiry, checked with the key the api nodes sign with.
// Whether its session was revoked is the api nodes' to say (they read the
// store); renewing a browser's session is theirs too.
type tokenCheck struct{ tokens *identity.TokenVerifier }

func (t tokenCheck) Authenticate(_ context.Context, token string) (identity.Claims, error) {
	return t.tokens.Verify(token, time.Now())
}

func (tokenCheck) Renew(context.Context, identity.Claims) (string, time.Time, error) {
	return "", time.Time{}, nil
}
