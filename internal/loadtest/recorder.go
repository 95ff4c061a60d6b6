package loadtest

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are kept in microseconds from 1 µs to a minute with three
// significant digits: enough for p99.9 of any answer worth waiting for.
const (
	minMicros = 1
	maxMicros = int64(time.Minute / time.Microsecond)
	sigFigs   = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(minMicros, maxMicros, sigFigs)
}

// Classes of outcome, besides a status's hundreds ("2xx" ...).
const classNet = "net" // no answer: refused, reset, timed out

// recorder collects the outcomes of a run, per operation.
type recorder struct {
	mu     sync.Mutex
	ops    map[Op]*opStats
	window *hdrhistogram.Histogram // all operations, since the last progress line
	lag    *hdrhistogram.Histogram // open loop: actual send time less intended
	winErr int64
	total  int64
	errs   int64
}

type opStats struct {
	hist    *hdrhistogram.Histogram
	classes map[string]int64
}

func newRecorder() *recorder {
	return &recorder{ops: map[Op]*opStats{}, window: newHistogram(), lag: newHistogram()}
}

// record notes one answer (status 0: none) and its latency.
func (r *recorder) record(op Op, status int, lat time.Duration) {
	class := classNet
	if status > 0 {
		class = string(rune('0'+status/100)) + "xx"
	}
	us := min(max(lat.Microseconds(), minMicros), maxMicros)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.ops[op]
	if s == nil {
		s = &opStats{hist: newHistogram(), classes: map[string]int64{}}
		r.ops[op] = s
	}
	s.hist.RecordValue(us)
	r.window.RecordValue(us)
	s.classes[class]++
	r.total++
	if class != "2xx" {
		r.errs++
		r.winErr++
	}
}

// sent notes how late a request left against its intended time.
func (r *recorder) sent(lag time.Duration) {
	us := min(max(lag.Microseconds(), minMicros), maxMicros)
	r.mu.Lock()
	r.lag.RecordValue(us)
	r.mu.Unlock()
}

// tick returns the counts so far and the window's p99, and starts a new
// window.
func (r *recorder) tick() (total, errs int64, winCount int64, winP99 time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	winCount = r.window.TotalCount()
	winP99 = time.Duration(r.window.ValueAtQuantile(99)) * time.Microsecond
	r.window.Reset()
	r.winErr = 0
	return r.total, r.errs, winCount, winP99
}
