package loadtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const reference = `{"machine": "ref", "api_read_qps_per_node": 2565, "api_write_qps_per_node": 5392,
 "uploads_per_sec_per_worker": 6.1, "timeline_entry_bytes": 124, "db_write_qps_per_shard": 5392,
 "db_storage_bytes_per_shard": 2000000000000, "metadata_bytes_per_post": 1000}`

// measured is a closed-loop result of n successful requests of each op
// in one second.
func measured(counts map[Op]int) *Result {
	rec := newRecorder()
	for op, n := range counts {
		for range n {
			rec.record(op, 200, time.Millisecond)
		}
	}
	r := newResult(rec, time.Second)
	r.Mode, r.Connections, r.Mix = "closed", 4, "test"
	return r
}

func TestCapacity(t *testing.T) {
	for _, tc := range []struct {
		name          string
		counts        map[Op]int
		read, write   float64
		assumedSubstr string
	}{
		{"mixed", map[Op]int{OpFeed: 90, OpLike: 9, OpProfile: 1}, 100, 100, "does not tell a read's cost"},
		{"reads only", map[Op]int{OpFeed: 50}, 50, 5392, "the mix had no likes"},
		{"likes only", map[Op]int{OpLike: 30}, 2565, 30, "the mix had no reads"},
		{"uploads left out", map[Op]int{OpFeed: 80, OpUpload: 20}, 80, 5392, "uploads_per_sec_per_worker (reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Capacity(measured(tc.counts), []byte(reference), time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if c.APIReadQPSPerNode != tc.read || c.APIWriteQPSPerNode != tc.write {
				t.Errorf("read %g write %g, want %g %g", c.APIReadQPSPerNode, c.APIWriteQPSPerNode, tc.read, tc.write)
			}
			if c.UploadsPerSecPerWorker != 6.1 || c.TimelineEntryBytes != 124 || c.MetadataBytesPerPost != 1000 {
				t.Errorf("reference figures not kept: %+v", c)
			}
			if !strings.Contains(strings.Join(c.Assumed, "; "), tc.assumedSubstr) || !strings.Contains(c.Machine, "2026-11-27") {
				t.Errorf("machine %q, assumed %q; want %q among the assumptions", c.Machine, c.Assumed, tc.assumedSubstr)
			}
			path := filepath.Join(t.TempDir(), "cap.json")
			if err := WriteCapacity(path, c); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := Capacity(measured(map[Op]int{OpUpload: 3}), []byte(reference), time.Now()); err == nil {
		t.Error("a run of uploads only gave API capacity")
	}
}
