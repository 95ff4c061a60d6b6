package app

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/httpmetrics"
)

// A heartbeat's figures are the last interval's: requests per second,
// and a p99 that is the upper bound of the bucket holding it, event
// streams apart; rate-limit rejections from the decisions' counter.
func TestBeatFigures(t *testing.T) {
	figures := newHTTPFigures()
	now := time.Unix(1000, 0)
	bf := newBeatFigures(figures.collectors(), nil)
	bf.now = func() time.Time { return now }

	mux := http.NewServeMux()
	var wait time.Duration
	mux.HandleFunc("GET /fast", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /slow", func(http.ResponseWriter, *http.Request) { time.Sleep(wait) })
	mux.HandleFunc("GET /v2/feed/stream", func(http.ResponseWriter, *http.Request) { time.Sleep(wait) })
	h := figures.requests.Middleware(mux, httpmetrics.Route(mux))
	get := func(path string, n int) {
		for range n {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
		}
	}

	if f := bf.figures(); f.RequestsPerS != 0 || f.P99MS != 0 {
		t.Fatalf("first beat %+v, want zeros: there is no interval yet", f)
	}
	steps := []struct {
		what         string
		fast, slow   int
		streams      int
		limited      int
		wantRPS      float64
		wantP99AtMin float64 // ms: the p99 is at least this bucket bound
		wantP99Under float64 // ms: and under this one
	}{
		// "Fast" is an empty handler, timed by the real clock: under -race
		// on a busy machine its p99 has passed 2 ms, so the bound for it is
		// the slow requests' bucket, which it stays under however loaded.
		{"idle", 0, 0, 0, 0, 0, 0, 0},
		{"all fast", 200, 0, 0, 0, 100, 0, 20},
		// 2 of 100 slow: the 99th is among them.
		{"a few slow", 98, 2, 0, 3, 50, 20, 100},
		// A stream lasts as long as its reader: not in the p99 (5 of 105
		// would put it in the slow requests' bucket).
		{"streams apart", 100, 0, 5, 0, 52.5, 0, 20},
	}
	for _, st := range steps {
		wait = 30 * time.Millisecond
		get("/fast", st.fast)
		get("/slow", st.slow)
		get("/v2/feed/stream", st.streams)
		for range st.limited {
			figures.decided("login", "limited")
		}
		figures.decided("login", "allowed")
		now = now.Add(2 * time.Second)
		f := bf.figures()
		if f.RequestsPerS != st.wantRPS {
			t.Errorf("%s: %v requests/s, want %v", st.what, f.RequestsPerS, st.wantRPS)
		}
		if st.wantP99Under == 0 && f.P99MS != 0 || st.wantP99Under > 0 && (f.P99MS < st.wantP99AtMin || f.P99MS >= st.wantP99Under) {
			t.Errorf("%s: p99 %v ms, want in [%v, %v)", st.what, f.P99MS, st.wantP99AtMin, st.wantP99Under)
		}
		if want := float64(st.limited) / 2; f.LimitedPerS != want {
			t.Errorf("%s: %v limited/s, want %v", st.what, f.LimitedPerS, want)
		}
	}
}

func TestAdvertised(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name here")
	}
	for _, tc := range []struct{ listen, want string }{
		{"127.0.0.1:8080", "127.0.0.1:8080"},
		{"10.0.0.7:80", "10.0.0.7:80"},
		{"[::]:8080", net.JoinHostPort(host, "8080")},
		{"0.0.0.0:8080", net.JoinHostPort(host, "8080")},
		{":8080", net.JoinHostPort(host, "8080")},
	} {
		if got := advertised(tc.listen); got != tc.want {
			t.Errorf("advertised(%q) = %q, want %q", tc.listen, got, tc.want)
		}
	}
}
