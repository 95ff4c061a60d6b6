package loadtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/photofeed/photofeed/capacity"
)

// Capacity is a capacity file (what `photofeed plan --capacity` reads)
// with the API figures measured by r and the rest from reference.
//
// One mixed run cannot tell a read's cost from a like's: the node served
// T requests/s of the mix. Both figures are set to what the node would
// serve of one kind alone if each request cost the same, which is T for
// each, so plan's sum reads/read-QPS + writes/write-QPS sizes the mix as
// measured. A run with --mix feed=100 (or like=100) measures one alone.
func Capacity(r *Result, reference []byte, when time.Time) (capacity.NodeCapacity, error) {
	c, err := capacity.ReadNodeCapacity(bytes.NewReader(reference))
	if err != nil {
		return c, fmt.Errorf("capacity reference: %w", err)
	}
	var reads, writes, uploads float64
	for _, o := range r.Ops {
		ok := float64(o.Requests - o.Errors)
		switch o.Op {
		case OpFeed, OpProfile:
			reads += ok
		case OpLike:
			writes += ok
		case OpUpload:
			uploads += ok
		}
	}
	if reads+writes == 0 {
		return c, fmt.Errorf("capacity: no successful reads or likes were measured")
	}
	// Per second of the measured mix, uploads left out: they are not
	// among the API figures and cost far more than either.
	perReq := math.Round(r.Throughput * (reads + writes) / (reads + writes + uploads))
	what := "open-loop rate"
	if r.FindMax != nil {
		what = fmt.Sprintf("highest open-loop rate with p99 ≤ %gms", r.FindMax.P99TargetMs)
	} else if r.Mode == "closed" {
		what = fmt.Sprintf("closed loop, %d connections", r.Connections)
	}
	c.Machine = fmt.Sprintf("measured %s by photofeed loadtest against %s: %.0f req/s of mix %s (%s)",
		when.UTC().Format("2006-01-02"), r.Target, perReq, r.Mix, what)
	assumed := []string{}
	if reads > 0 {
		c.APIReadQPSPerNode = perReq
	} else {
		assumed = append(assumed, "api_read_qps_per_node (reference: the mix had no reads)")
	}
	if writes > 0 {
		c.APIWriteQPSPerNode = perReq
		c.DBWriteQPSPerShard = perReq
		assumed = append(assumed, "db_write_qps_per_shard (the node's measured write rate)")
	} else {
		assumed = append(assumed, "api_write_qps_per_node and db_write_qps_per_shard (reference: the mix had no likes)")
	}
	if reads > 0 && writes > 0 {
		assumed = append(assumed, "api_read_qps_per_node and api_write_qps_per_node are both the measured mix's rate: one mixed run does not tell a read's cost from a like's")
	}
	if r.Mode == "open" && r.FindMax == nil {
		assumed = append(assumed, "the API rates are the offered open-loop rate, a floor of capacity: use --find-max or the closed loop to measure the most a node serves")
	}
	assumed = append(assumed,
		"uploads_per_sec_per_worker (reference: uploads are processed in the background, not measured here)",
		"timeline_entry_bytes (reference)",
		"db_storage_bytes_per_shard (reference: a planning choice)",
		"metadata_bytes_per_post (reference)")
	c.Assumed = assumed
	return c, nil
}

// WriteCapacity writes c to path, checked as plan will read it.
func WriteCapacity(path string, c capacity.NodeCapacity) error {
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("capacity: %w", err)
	}
	if _, err := capacity.ReadNodeCapacity(bytes.NewReader(raw)); err != nil {
		return err
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("--capacity-out: %w", err)
	}
	return nil
}
