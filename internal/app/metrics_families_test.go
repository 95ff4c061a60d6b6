package app_test

import (
	"bytes"
	"image/color"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// After some traffic (a sign-up, an upload sent twice with one key, a
// feed read, a live stream) a node's /metrics shows each family of its
// own work with the values that traffic makes: idempotency outcomes, job
// attempts and durations, the queue and outbox backlogs, the consumers'
// lag, the fan-out's latency, cache hits and misses, the waits for the
// hashing and image budgets, and the open streams.
func TestMetricsFamilies(t *testing.T) {
	skipInCluster(t, "one node's own series; the gateway's are in TestGatewayProbes")
	s := start(t)
	c := s.client(t)
	c.signup("measured")
	live := c.stream("")
	defer live.close()

	ct, body := app.UploadForm(app.SampleJPEG(t, 64, 48, color.RGBA{200, 100, 50, 255}), "counted")
	var p post
	for i, want := range []string{"", "true"} {
		r := c.do("POST", "/v1/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", `"metered-1"`)
		if r.StatusCode != 201 || r.Header.Get("Idempotent-Replayed") != want {
			t.Fatalf("upload %d: %d, replayed %q; want 201, %q", i, r.StatusCode, r.Header.Get("Idempotent-Replayed"), want)
		}
		r.json(t, &p)
	}
	for range 2 {
		if r := c.do("GET", "/v1/feed", nil); r.StatusCode != 200 {
			t.Fatalf("feed: %d %s", r.StatusCode, r.Body)
		}
	}
	// Reads by someone who wrote nothing go through the post cache on any
	// store (a read that must see its client's own write passes it): two
	// lookups, each a hit or a miss.
	anonymous := s.client(t)
	for range 2 {
		if r := anonymous.do("GET", "/v1/posts/"+p.ID, nil); r.StatusCode != 200 {
			t.Fatalf("post: %d %s", r.StatusCode, r.Body)
		}
	}

	// The job and the fan-out run after the upload's answer: wait for
	// their series, then check every family.
	var m string
	testenv.Poll(20*time.Second, func() bool {
		m = string(s.metrics(t).Body)
		// River records a job's completion after its worker returns.
		return sample(m, "photofeed_job_attempts_total", `kind="thumbnails"`, `outcome="completed"`) >= 1 &&
			sample(m, "photofeed_fanout_latency_seconds_count") >= 1
	})
	checks := []struct {
		name   string
		labels []string
		ok     func(v float64) bool
	}{
		{"photofeed_idempotency_requests_total", []string{`outcome="executed"`}, eq(1)},
		{"photofeed_idempotency_requests_total", []string{`outcome="replayed"`}, eq(1)},
		{"photofeed_idempotency_requests_total", []string{`outcome="mismatch"`}, eq(0)},
		{"photofeed_job_attempts_total", []string{`kind="thumbnails"`, `outcome="completed"`}, eq(1)},
		{"photofeed_job_duration_seconds_count", []string{`kind="thumbnails"`}, eq(1)},
		{"photofeed_job_duration_seconds_sum", []string{`kind="thumbnails"`}, between(0, 60)},
		// The queue is counted at most every jobCountEvery, the first time
		// at the first scrape, after the upload enqueued its job: the job
		// is there, in whichever state it was then.
		{"photofeed_job_queue_jobs", []string{`database="`}, atLeast(1)},
		{"photofeed_job_queue_jobs", []string{`database="`, `state="discarded"`}, eq(0)},
		{"photofeed_outbox_unsent_events", []string{`database="`}, between(0, 10)},
		{"photofeed_events_consumer_pending", []string{`consumer="fanout"`}, between(0, 10)},
		{"photofeed_events_consumer_ack_pending", []string{`consumer="fanout"`}, between(0, 10)},
		{"photofeed_fanout_latency_seconds_count", nil, atLeast(1)},
		{"photofeed_fanout_latency_seconds_sum", nil, between(0, 20)},
		{"photofeed_cache_hits_total", []string{`cache="session"`}, atLeast(0)},
		{"photofeed_cache_misses_total", []string{`cache="post"`}, atLeast(0)},
		{"photofeed_password_hash_wait_seconds_count", nil, atLeast(2)}, // the sign-up and its login
		{"photofeed_password_hash_wait_seconds_sum", nil, between(0, 1)},
		{"photofeed_image_check_wait_seconds_count", nil, eq(1)}, // the replay checks nothing
		{"photofeed_image_decode_wait_seconds_count", nil, atLeast(1)},
		{"photofeed_live_streams", nil, eq(1)},
	}
	for _, ck := range checks {
		if v := sample(m, ck.name, ck.labels...); !ck.ok(v) {
			t.Errorf("%s%v = %v\n%s", ck.name, ck.labels, v, grepLines(m, ck.name))
		}
	}
	if n := sample(m, "photofeed_cache_hits_total", `cache="post"`) + sample(m, "photofeed_cache_misses_total", `cache="post"`); n < 2 {
		t.Errorf("the post cache counted %v lookups, want at least the two anonymous reads\n%s%s", n,
			grepLines(m, "photofeed_cache_hits_total"), grepLines(m, "photofeed_cache_misses_total"))
	}
	problems, err := promlint.New(strings.NewReader(m)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// sample sums the values of the series of metric name whose labels
// include every one of labels (`key="value"`); -1 if there is none.
func sample(exposition, name string, labels ...string) float64 {
	sum, found := 0.0, false
	for line := range strings.Lines(exposition) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(series, "#") {
			continue
		}
		metric, set, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		matches := true
		for _, l := range labels {
			matches = matches && strings.Contains(set, l)
		}
		if v, err := strconv.ParseFloat(value, 64); matches && err == nil {
			sum, found = sum+v, true
		}
	}
	if !found {
		return -1
	}
	return sum
}

func eq(want float64) func(float64) bool     { return func(v float64) bool { return v == want } }
func atLeast(min float64) func(float64) bool { return func(v float64) bool { return v >= min } }
func between(lo, hi float64) func(float64) bool {
	return func(v float64) bool { return v >= lo && v <= hi }
}
