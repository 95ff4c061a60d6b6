package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what one run measured; --json writes it.
type Result struct {
	Target      string           `json:"target,omitempty"`
	Mode        string           `json:"mode"` // open (fixed rate) or closed (connections)
	Rate        float64          `json:"rate_per_s,omitempty"`
	Connections int              `json:"connections,omitempty"`
	Mix         string           `json:"mix,omitempty"`
	Users       int              `json:"users,omitempty"`
	Posts       int              `json:"posts,omitempty"`
	Elapsed     float64          `json:"elapsed_s"` // from the first send to the last answer
	Requests    int64            `json:"requests"`
	Throughput  float64          `json:"throughput_per_s"`
	Interrupted bool             `json:"interrupted,omitempty"` // stopped before its duration
	Errors      int64            `json:"errors"`                // answers that were not 2xx, and no answers
	Classes     map[string]int64 `json:"status_classes"`        // 2xx, 4xx, 5xx, net (no answer)
	Ops         []OpResult       `json:"ops"`
	// Open loop: how late requests left against their intended time, the
	// generator's own delay (a busy or shared machine), which the
	// latencies include.
	SendLag *Lag    `json:"send_lag,omitempty"`
	FindMax *Search `json:"find_max,omitempty"`
}

// Lag is the spread of the open loop's send delays, in milliseconds.
type Lag struct {
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// OpResult is one operation's figures; latencies are in milliseconds.
type OpResult struct {
	Op         Op               `json:"op"`
	Requests   int64            `json:"requests"`
	Throughput float64          `json:"throughput_per_s"`
	Errors     int64            `json:"errors"`
	Classes    map[string]int64 `json:"status_classes"`
	MeanMs     float64          `json:"mean_ms"`
	P50Ms      float64          `json:"p50_ms"`
	P90Ms      float64          `json:"p90_ms"`
	P99Ms      float64          `json:"p99_ms"`
	P999Ms     float64          `json:"p99_9_ms"`
	MaxMs      float64          `json:"max_ms"`

	hist *hdrhistogram.Histogram
}

func newResult(rec *recorder, elapsed time.Duration) *Result {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	r := &Result{Elapsed: elapsed.Seconds(), Classes: map[string]int64{}}
	for _, op := range ops {
		s := rec.ops[op]
		if s == nil {
			continue
		}
		h := s.hist
		o := OpResult{Op: op, Requests: h.TotalCount(), Classes: s.classes, hist: h,
			MeanMs: h.Mean() / 1000, P50Ms: ms(h, 50), P90Ms: ms(h, 90), P99Ms: ms(h, 99), P999Ms: ms(h, 99.9),
			MaxMs: float64(h.Max()) / 1000}
		o.Throughput = float64(o.Requests) / r.Elapsed
		for c, n := range s.classes {
			r.Classes[c] += n
			if c != "2xx" {
				o.Errors += n
			}
		}
		r.Requests += o.Requests
		r.Errors += o.Errors
		r.Ops = append(r.Ops, o)
	}
	r.Throughput = float64(r.Requests) / r.Elapsed
	if h := rec.lag; h.TotalCount() > 0 {
		r.SendLag = &Lag{P50Ms: ms(h, 50), P99Ms: ms(h, 99), MaxMs: float64(h.Max()) / 1000}
	}
	return r
}

func ms(h *hdrhistogram.Histogram, q float64) float64 {
	return float64(h.ValueAtQuantile(q)) / 1000
}

// P99 is the p99 latency over all operations.
func (r *Result) P99() time.Duration {
	all := newHistogram()
	for _, o := range r.Ops {
		all.Merge(o.hist)
	}
	return time.Duration(all.ValueAtQuantile(99)) * time.Microsecond
}

// Op returns op's figures, if any were measured.
func (r *Result) Op(op Op) (OpResult, bool) {
	for _, o := range r.Ops {
		if o.Op == op {
			return o, true
		}
	}
	return OpResult{}, false
}

// CountAtLeast is how many of op's requests took at least d.
func (o OpResult) CountAtLeast(d time.Duration) int64 {
	if o.hist == nil {
		return 0
	}
	n := int64(0)
	for _, b := range o.hist.Distribution() {
		if b.From >= d.Microseconds() {
			n += b.Count
		}
	}
	return n
}

// Table prints r as a table.
func (r *Result) Table(w io.Writer) {
	mode := fmt.Sprintf("closed loop, %d connections", r.Connections)
	if r.Mode == "open" {
		mode = fmt.Sprintf("open loop, %g/s", r.Rate)
	}
	if r.Interrupted {
		mode += ", interrupted"
	}
	fmt.Fprintf(w, "%s: %d requests in %.1fs, %.0f/s, %d errors %s\n",
		mode, r.Requests, r.Elapsed, r.Throughput, r.Errors, classes(r.Classes))
	if l := r.SendLag; l != nil {
		fmt.Fprintf(w, "send lag (late sends, counted in the latencies): p50 %.2fms, p99 %.2fms, max %.2fms\n", l.P50Ms, l.P99Ms, l.MaxMs)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\trequests\treq/s\terrors\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\t")
	for _, o := range r.Ops {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t\n",
			o.Op, o.Requests, o.Throughput, o.Errors, o.P50Ms, o.P99Ms, o.P999Ms, o.MaxMs)
	}
	tw.Flush()
}

func classes(c map[string]int64) string {
	s := "("
	for i, k := range slices.Sorted(maps.Keys(c)) {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s %d", k, c[k])
	}
	return s + ")"
}

// WriteJSON writes r to path.
func (r *Result) WriteJSON(path string) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("result: %w", err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("--json: %w", err)
	}
	return nil
}
