package httpmetrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/photofeed/photofeed/internal/httpmetrics"
)

// server is a mux behind the middleware, as a node builds it: a
// middleware between them that turns some requests away before the mux
// (as the load shedder does), and one that rewrites the path on a copy of
// the request (as the API's versions do), so that only the mux knows the
// route, and it must travel back by the context.
func server(t *testing.T) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/posts/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			http.Error(w, "no such post", http.StatusNotFound)
			return
		}
		io.WriteString(w, "post "+r.PathValue("id"))
	})
	mux.HandleFunc("POST /v1/posts", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("POST /v1/panic", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	var h http.Handler = httpmetrics.Route(mux)
	h = rewrites(h)
	h = turnsAway(h)
	m := httpmetrics.New()
	h = m.Middleware(mux, h)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.Collectors()...)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, reg
}

func rewrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/legacy/"); ok {
			r = r.Clone(r.Context())
			r.URL.Path = "/v1/" + rest
		}
		next.ServeHTTP(w, r)
	})
}

func turnsAway(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Shed") != "" {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func do(t *testing.T, method, url string, header ...string) int {
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
		if strings.HasSuffix(url, "/panic") {
			return 0 // the server dropped the connection, as it does on a panic
		}
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestRequestsByRoute(t *testing.T) {
	srv, reg := server(t)
	for _, path := range []string{"/v1/posts/1", "/v1/posts/2", "/legacy/posts/3"} {
		if code := do(t, "GET", srv.URL+path); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
	}
	do(t, "GET", srv.URL+"/v1/posts/missing")
	do(t, "POST", srv.URL+"/v1/posts")
	// Turned away before the mux: the route is still found, unless the
	// path was to be rewritten.
	if code := do(t, "GET", srv.URL+"/v1/posts/4", "Shed", "1"); code != 503 {
		t.Fatalf("shed request: %d", code)
	}
	do(t, "GET", srv.URL+"/legacy/posts/4", "Shed", "1")
	do(t, "POST", srv.URL+"/v1/panic") // POST: the client does not retry it
	// Paths no route matches, and a method no one uses: one series.
	for i := range 20 {
		do(t, "GET", fmt.Sprintf("%s/random/%d/x%d", srv.URL, i, i*7))
	}
	do(t, "DELETE", srv.URL+"/v1/posts/1")
	do(t, "BREW", srv.URL+"/coffee", "Shed", "1")

	want := `
# HELP http_requests_total HTTP requests answered, by route pattern, method and status code.
# TYPE http_requests_total counter
http_requests_total{code="200",method="GET",route="GET /v1/posts/{id}"} 3
http_requests_total{code="201",method="POST",route="POST /v1/posts"} 1
http_requests_total{code="404",method="GET",route="GET /v1/posts/{id}"} 1
http_requests_total{code="404",method="GET",route="unmatched"} 20
http_requests_total{code="405",method="DELETE",route="unmatched"} 1
http_requests_total{code="500",method="POST",route="POST /v1/panic"} 1
http_requests_total{code="503",method="GET",route="GET /v1/posts/{id}"} 1
http_requests_total{code="503",method="GET",route="unmatched"} 1
http_requests_total{code="503",method="other",route="unmatched"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "http_requests_total"); err != nil {
		t.Fatal(err)
	}
	// net/http answers only after the handler's return, and so after
	// the middleware has recorded: the figures are complete here.
	counts, inFlight := gathered(t, reg)
	for series, want := range map[string]uint64{
		"GET /v1/posts/{id} GET": 5, "POST /v1/posts POST": 1, "POST /v1/panic POST": 1,
		"unmatched GET": 21, "unmatched DELETE": 1, "unmatched other": 1,
	} {
		if got := counts[series]; got != want {
			t.Errorf("http_request_duration_seconds_count{route method=%q}: %d, want %d (all: %v)", series, got, want, counts)
		}
	}
	if len(counts) != 6 {
		t.Errorf("duration series: %v", counts)
	}
	if inFlight != 0 {
		t.Errorf("http_requests_in_flight after the requests: %v", inFlight)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// gathered reads the histogram's counts, by "route method", and the
// in-flight gauge from a scrape of reg.
func gathered(t *testing.T, reg *prometheus.Registry) (counts map[string]uint64, inFlight float64) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts = map[string]uint64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "http_request_duration_seconds":
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				counts[labels["route"]+" "+labels["method"]] = m.GetHistogram().GetSampleCount()
			case "http_requests_in_flight":
				inFlight = m.GetGauge().GetValue()
			}
		}
	}
	return counts, inFlight
}
