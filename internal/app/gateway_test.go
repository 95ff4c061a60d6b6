package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// gatewaySecret is the --secret of the gateways and api nodes these
// tests start.
const gatewaySecret = "gateway-test-secret-0123456789abcdef"

// sessionToken signs a session token as the api nodes do, with the key
// they derive from secret, for user uid, expiring at exp.
func sessionToken(t *testing.T, secret string, uid int64, exp time.Time) string {
	t.Helper()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("session-token"))
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "photofeed", "sub": strconv.FormatInt(uid, 10), "sid": "7", "exp": exp.Unix(), "iat": time.Now().Unix(),
	}).SignedString(m.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fakeUpstream stands for an api node: it answers its probes, holds
// requests to /hold until released, and records the rest.
type fakeUpstream struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []*http.Request
	release chan struct{}
	// down makes every request, probes too, end in a cut connection while
	// the port stays taken: a closed listener's port can be handed to
	// another test's server, whose answers would re-admit the upstream.
	down atomic.Bool
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	f := &fakeUpstream{release: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			panic(http.ErrAbortHandler)
		}
		switch r.URL.Path {
		case "/readyz", "/healthz":
			w.Write([]byte(`{"status":"ok"}`))
			return
		case "/hold":
			<-f.release
		}
		f.mu.Lock()
		f.seen = append(f.seen, r)
		f.mu.Unlock()
		w.Header().Set("X-Upstream", f.URL)
		w.Write([]byte("ok"))
	}))
	t.Cleanup(f.Close)
	return f
}

// count is how many requests f served that match.
func (f *fakeUpstream) count(match func(*http.Request) bool) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.seen {
		if match(r) {
			n++
		}
	}
	return n
}

func anyRequest(*http.Request) bool { return true }

// send makes one request and reads its answer, without the OpenAPI check
// of client.do: the fake upstreams do not serve the API.
func send(t *testing.T, method, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, b}
}

// startGateway runs a gateway in front of upstreams, with extra flags.
func startGateway(t *testing.T, o nodeOptions, upstreams []string, extra ...string) *server {
	t.Helper()
	args := []string{"--roles", "gateway", "--secret", gatewaySecret}
	if len(upstreams) > 0 {
		args = append(args, "--upstreams", strings.Join(upstreams, ","))
	}
	return startWith(t, o, append(args, extra...)...)
}

// The gateway verifies session tokens itself: a forged, expired or
// otherwise bad bearer token is answered 401 there and never reaches an
// upstream; a good one passes with the client's address in Forwarded and
// the request id the client was given.
func TestGatewayRefusesBadTokens(t *testing.T) {
	up := newFakeUpstream(t)
	gw := startGateway(t, nodeOptions{}, []string{up.URL})
	good := sessionToken(t, gatewaySecret, 42, time.Now().Add(time.Hour))
	bad := map[string]string{
		"garbage":        "not-a-token",
		"another secret": sessionToken(t, "another-secret-0123456789abcdef-xyz", 42, time.Now().Add(time.Hour)),
		"expired":        sessionToken(t, gatewaySecret, 42, time.Now().Add(-time.Minute)),
	}
	for name, tok := range bad {
		r := send(t, "GET", gw.URL+"/v2/me", "Authorization", "Bearer "+tok)
		r.problem(t, http.StatusUnauthorized)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s token: 401 without WWW-Authenticate", name)
		}
	}
	if n := up.count(anyRequest); n != 0 {
		t.Fatalf("the upstream saw %d requests with bad tokens", n)
	}

	r := send(t, "GET", gw.URL+"/v2/me?x=1", "Authorization", "Bearer "+good)
	if r.StatusCode != 200 || r.Header.Get("X-Upstream") != up.URL {
		t.Fatalf("a good token: %d %s", r.StatusCode, r.Body)
	}
	id := r.Header.Get("X-Request-Id")
	passed := up.count(func(u *http.Request) bool {
		return u.URL.RequestURI() == "/v2/me?x=1" && u.Header.Get("Authorization") == "Bearer "+good &&
			strings.HasPrefix(u.Header.Get("Forwarded"), "for=127.0.0.1;") && u.Header.Get("X-Request-Id") == id
	})
	if id == "" || passed != 1 {
		t.Fatalf("the upstream did not get the request as sent, with Forwarded and X-Request-Id %q: %v", id, up.seen)
	}

	// A stale session cookie is a logged-out browser: passed on without it.
	req, _ := http.NewRequest("GET", gw.URL+"/", nil)
	req.Header.Set("Cookie", "photofeed_session="+bad["expired"]+"; other=kept")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || up.count(func(u *http.Request) bool { return u.Header.Get("Cookie") == "other=kept" }) != 1 {
		t.Fatalf("a stale cookie: %d; the upstream must get the other cookies only", resp.StatusCode)
	}
}

// Behind a load balancer the gateway trusts (--trusted-proxies), the
// client the balancer names is the one Forwarded passes on: alone, in
// place of the balancer's own address and of what the client wrote.
func TestGatewayForwardsResolvedClient(t *testing.T) {
	up := newFakeUpstream(t)
	gw := startGateway(t, nodeOptions{}, []string{up.URL}, "--trusted-proxies", "127.0.0.1/32")
	send(t, "GET", gw.URL+"/behind-balancer", "X-Forwarded-For", "6.6.6.6, 203.0.113.9", "Forwarded", "for=6.6.6.6")
	passed := up.count(func(u *http.Request) bool {
		f := u.Header.Values("Forwarded")
		return u.URL.Path == "/behind-balancer" && len(f) == 1 && strings.HasPrefix(f[0], "for=203.0.113.9;") &&
			u.Header.Get("X-Forwarded-For") == ""
	})
	if passed != 1 {
		t.Fatalf("the upstream must see Forwarded for=203.0.113.9 alone and no X-Forwarded-For: %v", up.seen)
	}
}

// The gateway enforces the rate limits: the request over the quota is
// answered 429 there, and the upstream never sees it.
func TestGatewayRateLimits(t *testing.T) {
	up := newFakeUpstream(t)
	limits := limitsFile(t, `{"policies": {"authenticated": {"limit": 3, "window": "1m", "algorithm": "sliding_window_log"}}}`)
	gw := startGateway(t, nodeOptions{}, []string{up.URL}, "--rate-limits", limits)
	tok := sessionToken(t, gatewaySecret, 43, time.Now().Add(time.Hour))
	for i := range 3 {
		if r := send(t, "GET", gw.URL+"/v2/feed", "Authorization", "Bearer "+tok); r.StatusCode != 200 {
			t.Fatalf("request %d within the quota: %d %s", i, r.StatusCode, r.Body)
		}
	}
	r := send(t, "GET", gw.URL+"/v2/feed", "Authorization", "Bearer "+tok)
	p := r.problem(t, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" || !strings.Contains(r.Header.Get("RateLimit"), `"authenticated";r=0`) {
		t.Fatalf("429 without Retry-After or RateLimit: %v %v", r.Header, p)
	}
	if n := up.count(anyRequest); n != 3 {
		t.Fatalf("the upstream saw %d requests, want the 3 within the quota", n)
	}

	t.Run("shared in Redis by gateways", func(t *testing.T) {
		if c, err := net.Dial("tcp", "127.0.0.1:6379"); err != nil {
			testenv.Missing(t, "Redis on 127.0.0.1:6379")
		} else {
			c.Close()
		}
		var gws []*server
		for range 2 {
			gws = append(gws, startGateway(t, nodeOptions{}, []string{up.URL}, "--rate-limits", limits, "--redis", "redis://127.0.0.1:6379/0"))
		}
		// Redis outlives the test: a user id of its own.
		tok := sessionToken(t, gatewaySecret, time.Now().UnixNano(), time.Now().Add(time.Hour))
		allowed := 0
		for i := range 8 {
			switch r := send(t, "GET", gws[i%2].URL+"/v2/feed", "Authorization", "Bearer "+tok); r.StatusCode {
			case 200:
				allowed++
			case 429:
			default:
				t.Fatalf("request %d: %d %s", i, r.StatusCode, r.Body)
			}
		}
		if allowed != 3 {
			t.Fatalf("%d of 8 requests through two gateways passed a limit of 3 a minute", allowed)
		}
	})
}

// The gateway's probes answer for the gateway: /healthz while it runs,
// /readyz while an upstream takes requests (503 once the only one has
// failed enough to be ejected).
func TestGatewayProbes(t *testing.T) {
	up := newFakeUpstream(t)
	gw := startGateway(t, nodeOptions{}, []string{up.URL})
	if r := send(t, "GET", gw.URL+"/readyz"); r.StatusCode != 200 {
		t.Fatalf("/readyz with a live upstream: %d %s", r.StatusCode, r.Body)
	}
	// A small answer leaves the gateway after its handler's return, and
	// so after the request metrics record it.
	if m := gw.metrics(t); !strings.Contains(string(m.Body), `photofeed_gateway_upstream_usable{upstream="`+up.URL+`"} 1`) ||
		!strings.Contains(string(m.Body), `http_requests_total{code="200",method="GET",route="GET /readyz"} 1`) {
		t.Fatalf("/metrics does not show the upstream usable, or the probe answered:\n%s", m.Body)
	}
	up.down.Store(true)
	for range 5 {
		if r := send(t, "GET", gw.URL+"/v2/posts/1"); r.StatusCode < 500 {
			t.Fatalf("a request to a closed upstream: %d", r.StatusCode)
		}
	}
	r := send(t, "GET", gw.URL+"/readyz")
	if r.StatusCode != 503 || !strings.Contains(string(r.Body), `"ejected":true`) {
		t.Fatalf("/readyz with the only upstream ejected: %d %s", r.StatusCode, r.Body)
	}
	if r := send(t, "GET", gw.URL+"/healthz"); r.StatusCode != 200 {
		t.Fatalf("/healthz: %d", r.StatusCode)
	}
	m := string(gw.metrics(t).Body)
	if !strings.Contains(m, `photofeed_gateway_upstream_usable{upstream="`+up.URL+`"} 0`) {
		t.Fatalf("/metrics does not show the upstream out:\n%s", m)
	}
	// Why it is out: five failed attempts, one ejection; too few
	// requests for the breaker, which stays closed; nowhere to retry.
	upstream := `upstream="` + up.URL + `"`
	failed := sample(m, "photofeed_gateway_upstream_requests_total", upstream) -
		sample(m, "photofeed_gateway_upstream_requests_total", upstream, `outcome="ok"`)
	if failed != 5 || sample(m, "photofeed_gateway_upstream_ejections_total", upstream) != 1 ||
		sample(m, "photofeed_gateway_upstream_breaker_state", upstream) != 0 ||
		sample(m, "photofeed_gateway_upstream_retries_total", upstream) != 0 {
		t.Fatalf("/metrics: %v failed attempts, want 5, one ejection, breaker closed, no retries:\n%s", failed, grepLines(m, "photofeed_gateway"))
	}
	send(t, "GET", gw.URL+"/v2/posts/1").problem(t, http.StatusServiceUnavailable)
}

// upstreamsOf reads the gateway's /readyz: its upstreams, in order.
func upstreamsOf(t *testing.T, gw *server) (urls []string, draining []bool) {
	t.Helper()
	r := send(t, "GET", gw.URL+"/readyz")
	var body struct {
		Upstreams []struct {
			URL      string
			Draining bool
		}
	}
	r.json(t, &body)
	for _, u := range body.Upstreams {
		urls, draining = append(urls, u.URL), append(draining, u.Draining)
	}
	return urls, draining
}

// inFlight is how many requests the gateway has in flight on upstream.
func inFlight(t *testing.T, gw *server, upstream string) int64 {
	t.Helper()
	var body struct {
		Upstreams []struct {
			URL      string `json:"url"`
			InFlight int64  `json:"in_flight"`
		}
	}
	send(t, "GET", gw.URL+"/readyz").json(t, &body)
	for _, u := range body.Upstreams {
		if u.URL == upstream {
			return u.InFlight
		}
	}
	return -1
}

// The upstreams file is re-read at each hangup: a new instance joins and
// takes requests; a removed one is drained, its request in flight
// finishing and no new ones reaching it.
func TestGatewayReloadsUpstreamsFile(t *testing.T) {
	a, b := newFakeUpstream(t), newFakeUpstream(t)
	file := filepath.Join(t.TempDir(), "upstreams")
	write := func(urls ...string) {
		if err := os.WriteFile(file, []byte("# api nodes\n"+strings.Join(urls, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(a.URL)
	hangups := make(chan os.Signal)
	gw := startGateway(t, nodeOptions{ctx: app.WithHangups(t.Context(), hangups)}, nil,
		"--upstreams-file", file, "--lb-policy", "round-robin")
	hangup := func() {
		select {
		case hangups <- os.Interrupt: // any value: the gateway reads it as SIGHUP
		case <-time.After(5 * time.Second):
			t.Fatal("the gateway does not listen for hangups")
		}
	}
	for range 4 {
		send(t, "GET", gw.URL+"/v2/posts/1")
	}
	if a.count(anyRequest) != 4 {
		t.Fatalf("the one upstream got %d of 4", a.count(anyRequest))
	}

	// A file that does not parse leaves the set as it was.
	write("a:1")
	hangup()
	hangup() // the first one has been handled once the second is taken
	if urls, _ := upstreamsOf(t, gw); len(urls) != 1 || urls[0] != a.URL {
		t.Fatalf("a bad file changed the set to %v", urls)
	}

	write(a.URL, b.URL)
	hangup()
	testenv.Eventually(t, "the new upstream in the set", 5*time.Second, func() bool {
		urls, _ := upstreamsOf(t, gw)
		return len(urls) == 2
	})
	for range 4 {
		send(t, "GET", gw.URL+"/v2/posts/1")
	}
	if a.count(anyRequest) != 6 || b.count(anyRequest) != 2 {
		t.Fatalf("after the join: a %d, b %d requests, want 6 and 2", a.count(anyRequest), b.count(anyRequest))
	}

	// a holds a request while it is removed; b answers at once.
	close(b.release)
	var held chan string
	for attempt := 0; held == nil; attempt++ {
		if attempt == 4 {
			t.Fatal("no request was held on the upstream to remove")
		}
		ch := make(chan string, 1)
		go func() {
			resp, err := http.Get(gw.URL + "/hold")
			if err != nil {
				ch <- err.Error()
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			ch <- strconv.Itoa(resp.StatusCode) + " " + string(body) + " " + resp.Header.Get("X-Upstream")
		}()
		if testenv.Poll(time.Second, func() bool { return inFlight(t, gw, a.URL) == 1 }) {
			held = ch
		} else {
			<-ch // b answered it
		}
	}
	write(b.URL)
	hangup()
	testenv.Eventually(t, "the removed upstream out of the set", 5*time.Second, func() bool {
		urls, _ := upstreamsOf(t, gw)
		return len(urls) == 1 && urls[0] == b.URL
	})
	before := a.count(anyRequest)
	for range 4 {
		if r := send(t, "GET", gw.URL+"/v2/posts/1"); r.StatusCode != 200 {
			t.Fatalf("after the removal: %d %s", r.StatusCode, r.Body)
		}
	}
	if a.count(anyRequest) != before {
		t.Fatalf("the drained upstream got new requests")
	}
	close(a.release)
	select {
	case got := <-held:
		if got != "200 ok "+a.URL {
			t.Fatalf("the request in flight on the drained upstream: %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request in flight never finished")
	}
}

// Route groups at work: each user's feed reads stay on one upstream (the
// verified user id is the hash key), signed-out reads from one address
// too; media rotate over all upstreams.
func TestGatewayRouteGroups(t *testing.T) {
	ups := []*fakeUpstream{newFakeUpstream(t), newFakeUpstream(t), newFakeUpstream(t)}
	var urls []string
	for _, u := range ups {
		urls = append(urls, u.URL)
	}
	gw := startGateway(t, nodeOptions{}, urls)
	servedBy := func(path string, header ...string) string {
		r := send(t, "GET", gw.URL+path, header...)
		if r.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, r.StatusCode, r.Body)
		}
		return r.Header.Get("X-Upstream")
	}
	homes := map[string]bool{}
	for uid := range int64(8) {
		tok := sessionToken(t, gatewaySecret, 1000+uid, time.Now().Add(time.Hour))
		first := servedBy("/v2/feed", "Authorization", "Bearer "+tok)
		homes[first] = true
		for range 4 {
			if got := servedBy("/v1/feed?limit=5", "Authorization", "Bearer "+tok); got != first {
				t.Fatalf("user %d's feed reads on %s and %s", 1000+uid, first, got)
			}
		}
	}
	if len(homes) < 2 {
		t.Fatalf("8 users' feeds all on one upstream: %v", homes)
	}
	anon := servedBy("/v2/feed")
	for range 4 {
		if got := servedBy("/v2/feed"); got != anon {
			t.Fatalf("one address's signed-out feed reads on %s and %s", anon, got)
		}
	}
	media := map[string]int{}
	for range 6 {
		media[servedBy("/media/0001-abc.jpg")]++
	}
	if len(media) != 3 || media[urls[0]] != 2 || media[urls[1]] != 2 {
		t.Fatalf("media did not rotate over the 3 upstreams: %v", media)
	}
}

// Shutting a gateway down ends the streams it proxies, whose clients
// reconnect, instead of waiting out the shutdown grace for streams their
// upstreams never end.
func TestGatewayEndsStreamsOnShutdown(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/feed/stream" {
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, ": open\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(up.Close)
	s := startGateway(t, nodeOptions{}, []string{up.URL}, "--shutdown-timeout", "5s")
	resp, err := http.Get(s.URL + "/v2/feed/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len(": open\n\n"))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("stream: %d %q, %v", resp.StatusCode, first, err)
	}
	began := time.Now()
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Fatalf("shutdown took %s: it waited for the stream", took)
	}
	if rest, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("the stream did not end cleanly: %q, %v", rest, err)
	}
}
