package app_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

// apiNodeFlags are the flags of api nodes behind a gateway: one
// PostgreSQL, NATS and S3 bucket for all, the gateway's --secret, and
// trust in the gateway's address (127.0.0.1) to name the client in
// Forwarded.
func apiNodeFlags(t *testing.T) (flags []string, getenv func(string) string) {
	t.Helper()
	db := testenv.PostgresURL(t)
	bus := testenv.StartNATS(t, 1)
	store := testenv.StartS3(t)
	return []string{"--db", db, "--logical-shards", "16", "--nats", bus.URL(), "--blobs", store.URL, "--blobs-ca", store.CAFile,
		"--secret", gatewaySecret, "--trusted-proxies", "127.0.0.1", "--client-ip-header", "forwarded"}, store.Env(nil)
}

// fromAddress makes c connect from ip, a loopback address other than the
// gateway's own, so that the client's address differs from the proxy's.
func fromAddress(c *client, ip string) {
	c.http.Transport = &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
}

type home struct {
	Me *struct {
		Username string `json:"username"`
	} `json:"me"`
	Feed struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	} `json:"feed"`
	Suggestions []struct {
		Username string `json:"username"`
	} `json:"suggestions"`
	Warnings []string `json:"warnings"`
}

// A gateway in front of two api nodes: accounts, logins, uploads, follows
// and the feed work through it; the api nodes log the real client
// address, which the gateway passed in Forwarded; GET /v2/home puts the
// profile, the feed and the suggestions together, and answers without a
// part that is late, or 503 without the feed.
func TestGatewayInFrontOfAPINodes(t *testing.T) {
	sameInEveryMode(t)
	flags, env := apiNodeFlags(t)
	var logs testenv.LogBuffer
	o := nodeOptions{getenv: env, log: &logs}
	a := startWith(t, o, append(flags, "--log-level", "info")...)
	b := startWith(t, o, append(flags, "--log-level", "info")...)
	gw := startGateway(t, nodeOptions{}, []string{a.URL, b.URL})

	users := map[string]*client{}
	for _, name := range []string{"alice", "bob", "carol"} {
		c := gw.client(t)
		fromAddress(c, "127.0.0.2")
		c.signup(name)
		users[name] = c
	}
	alice, bob := users["alice"], users["bob"]
	for _, f := range [][2]string{{"alice", "bob"}, {"bob", "carol"}} {
		if r := users[f[0]].do("PUT", "/v2/me/following/"+f[1], nil); r.StatusCode != 204 {
			t.Fatalf("%s follows %s: %d %s", f[0], f[1], r.StatusCode, r.Body)
		}
	}
	p := bob.post("through the gateway")
	testenv.Eventually(t, "bob's post in alice's feed", 15*time.Second, func() bool {
		var feed struct{ Items []post }
		alice.do("GET", "/v1/feed", nil).json(t, &feed)
		return len(feed.Items) == 1 && feed.Items[0].ID == p.ID
	})
	if !strings.Contains(logs.String(), "client=127.0.0.2") || strings.Contains(logs.String(), "path=/v1/feed client=127.0.0.1") {
		t.Fatalf("the api nodes did not log the client's own address (127.0.0.2):\n%s", logs.String())
	}

	t.Run("a client's own Forwarded is not believed", func(t *testing.T) {
		// From 127.0.0.1, the client shares the range the api nodes trust,
		// as in photofeed cluster: only the gateway may name it.
		c := gw.client(t)
		c.do("GET", "/problems/spoof-check", nil, "Forwarded", "for=6.6.6.6", "X-Forwarded-For", "6.6.6.6")
		testenv.Eventually(t, "the api node logs the request", 5*time.Second, func() bool {
			return strings.Contains(logs.String(), "path=/problems/spoof-check")
		})
		if strings.Contains(logs.String(), "6.6.6.6") || !strings.Contains(logs.String(), "path=/problems/spoof-check client=127.0.0.1") {
			t.Fatalf("the api nodes took the address the client wrote:\n%s", logs.String())
		}
	})

	t.Run("media, UI and OpenAPI", func(t *testing.T) {
		for _, tc := range []struct{ path, contentType string }{
			{p.Images.Large, "image/jpeg"}, {"/", "text/html"}, {"/openapi.json", "application/json"},
		} {
			r := alice.do("GET", tc.path, nil)
			if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), tc.contentType) {
				t.Errorf("GET %s through the gateway: %d %s", tc.path, r.StatusCode, r.Header.Get("Content-Type"))
			}
		}
	})

	t.Run("home", func(t *testing.T) {
		var h home
		r := alice.do("GET", "/v2/home", nil)
		r.json(t, &h)
		if r.StatusCode != 200 || h.Me == nil || h.Me.Username != "alice" || len(h.Feed.Items) != 1 || h.Feed.Items[0].ID != p.ID ||
			len(h.Suggestions) != 1 || h.Suggestions[0].Username != "carol" || len(h.Warnings) != 0 {
			t.Fatalf("home: %d %s", r.StatusCode, r.Body)
		}
		anon := gw.client(t)
		anon.do("GET", "/v2/home", nil).problem(t, http.StatusUnauthorized)
	})

	t.Run("home without a late part", func(t *testing.T) {
		var slowSuggestions, failFeed atomic.Bool
		wrap := func(target string) string {
			u, _ := url.Parse(target)
			proxy := httputil.NewSingleHostReverseProxy(u)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/v2/suggestions" && slowSuggestions.Load():
					<-r.Context().Done() // until the gateway gives up on it
					return
				case r.URL.Path == "/v2/feed" && failFeed.Load():
					http.Error(w, "down", http.StatusInternalServerError)
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}
		slowGW := startGateway(t, nodeOptions{}, []string{wrap(a.URL), wrap(b.URL)})
		c := slowGW.client(t)
		c.token = alice.token

		slowSuggestions.Store(true)
		start := time.Now()
		var h home
		r := c.do("GET", "/v2/home", nil)
		r.json(t, &h)
		if r.StatusCode != 200 || h.Me == nil || len(h.Feed.Items) != 1 || h.Suggestions != nil ||
			!slices.ContainsFunc(h.Warnings, func(w string) bool { return strings.HasPrefix(w, "suggestions: timed out") }) {
			t.Fatalf("home with slow suggestions: %d %s", r.StatusCode, r.Body)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("the partial home took %s: it waited for the late part", d)
		}

		slowSuggestions.Store(false)
		failFeed.Store(true)
		c.do("GET", "/v2/home", nil).problem(t, http.StatusServiceUnavailable)
	})
}
