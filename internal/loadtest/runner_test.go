package loadtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// stallOnce serves 204s, the first after a 300 ms stall.
func stallOnce(t *testing.T) *httptest.Server {
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { time.Sleep(300 * time.Millisecond) })
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func getter(t *testing.T, url string) Generator {
	return func() (Request, error) {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		return Request{Op: OpFeed, Req: req}, nil
	}
}

// In the open loop a stall delays the requests due during it, and their
// latency counts from when they were due: 20 or so of the 100 are due
// more than 100 ms before the stall ends. The closed loop, timing from
// the actual send, sees only the stalled request itself as slow.
func TestOpenLoopTimesFromIntendedSend(t *testing.T) {
	srv := stallOnce(t)
	var progress strings.Builder
	open := Load{Rate: 100, MaxInflight: 1, Duration: time.Second, Client: NewHTTPClient(1), Progress: &progress}
	res, err := open.Run(t.Context(), getter(t, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	feed, _ := res.Op(OpFeed)
	if res.Requests != 100 || res.Errors != 0 || feed.Requests != 100 {
		t.Fatalf("%d requests, %d errors; want 100, none", res.Requests, res.Errors)
	}
	if n := feed.CountAtLeast(100 * time.Millisecond); n < 15 {
		t.Errorf("open loop: %d requests took 100 ms or more, want at least 15 (the ones due during the stall)", n)
	}
	if feed.MaxMs < 290 {
		t.Errorf("open loop: max %.1f ms, want the 300 ms stall", feed.MaxMs)
	}
	if line := progress.String(); !strings.Contains(line, "requests") || !strings.HasSuffix(line, "\n") || strings.Contains(line, "\r") {
		t.Errorf("progress to a non-terminal: %q, want plain lines", line)
	}
	if res.SendLag == nil || res.SendLag.MaxMs < 250 {
		t.Errorf("open loop: send lag %+v, want the requests held back by the stall to have left late", res.SendLag)
	}

	srv = stallOnce(t)
	closed := Load{Connections: 1, Duration: time.Minute, MaxRequests: 50, Client: NewHTTPClient(1)}
	res, err = closed.Run(t.Context(), getter(t, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	feed, _ = res.Op(OpFeed)
	if res.Requests != 50 || res.Errors != 0 {
		t.Fatalf("closed loop: %d requests, %d errors; want 50 (--max-requests), none", res.Requests, res.Errors)
	}
	if n := feed.CountAtLeast(100 * time.Millisecond); n != 1 {
		t.Errorf("closed loop: %d requests took 100 ms or more, want only the stalled one", n)
	}
}

func TestOpenLoopBounds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	l := Load{Rate: 1000, MaxInflight: 8, Duration: time.Hour, MaxRequests: 20, Client: NewHTTPClient(8)}
	res, err := l.Run(t.Context(), getter(t, srv.URL+"/fail"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 20 || res.Errors != 20 || res.Classes["5xx"] != 20 {
		t.Errorf("%d requests, %d errors, classes %v; want 20 5xx", res.Requests, res.Errors, res.Classes)
	}
	srv.Close()
	res, err = l.Run(t.Context(), getter(t, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if res.Classes[classNet] != 20 {
		t.Errorf("against a closed server: classes %v, want 20 net", res.Classes)
	}
}
