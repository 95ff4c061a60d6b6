package capacity

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// NodeCapacity is what one node sustains, measured (bench/capacity.sh).
type NodeCapacity struct {
	Machine                string   `json:"machine"`
	APIReadQPSPerNode      float64  `json:"api_read_qps_per_node"`
	APIWriteQPSPerNode     float64  `json:"api_write_qps_per_node"`
	UploadsPerSecPerWorker float64  `json:"uploads_per_sec_per_worker"`
	TimelineEntryBytes     float64  `json:"timeline_entry_bytes"`
	DBWriteQPSPerShard     float64  `json:"db_write_qps_per_shard"`
	DBStorageBytesPerShard float64  `json:"db_storage_bytes_per_shard"`
	MetadataBytesPerPost   float64  `json:"metadata_bytes_per_post"`
	Assumed                []string `json:"assumed,omitempty"`
}

// ReadNodeCapacity decodes and checks a capacity file.
func ReadNodeCapacity(r io.Reader) (NodeCapacity, error) {
	var c NodeCapacity
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return NodeCapacity{}, fmt.Errorf("capacity file: %w", err)
	}
	for name, v := range map[string]float64{
		"api_read_qps_per_node": c.APIReadQPSPerNode, "api_write_qps_per_node": c.APIWriteQPSPerNode,
		"uploads_per_sec_per_worker": c.UploadsPerSecPerWorker, "timeline_entry_bytes": c.TimelineEntryBytes,
		"db_write_qps_per_shard": c.DBWriteQPSPerShard, "db_storage_bytes_per_shard": c.DBStorageBytesPerShard,
		"metadata_bytes_per_post": c.MetadataBytesPerPost,
	} {
		if !(v > 0) || math.IsInf(v, 0) {
			return NodeCapacity{}, fmt.Errorf("capacity file: %s must be a positive number", name)
		}
	}
	return c, nil
}

// SizingInputs are the deployment choices beyond the workload.
type SizingInputs struct {
	TimelineEntries float64 // entries kept per home timeline
	CDNHitRatio     float64 // share of egress served by the CDN, 0–1
}

// Sizing is a deployment sized from an estimate and node capacity.
type Sizing struct {
	APINodes            float64 `json:"api_nodes"`             // ceil(peak reads/read cap + peak writes/write cap)
	APINodesN1          float64 `json:"api_nodes_n_plus_1"`    // one more, so losing any node keeps the peak served
	WorkerNodes         float64 `json:"worker_nodes"`          // ceil(peak uploads/s / uploads per worker)
	ShardsByWrites      float64 `json:"db_shards_by_writes"`   // ceil(peak write QPS / write QPS per shard)
	ShardsByStorage     float64 `json:"db_shards_by_storage"`  // ceil(posts kept × metadata bytes / bytes per shard)
	Shards              float64 `json:"db_shards"`             // the larger of the two
	TimelineMemory      float64 `json:"timeline_memory_bytes"` // DAU × entries × bytes per entry
	BlobStoragePerYr    float64 `json:"blob_storage_bytes"`    // uploads/day × (photo + variants) × retention × replication
	EgressNoCDN         float64 `json:"egress_bps"`            // QPS × response size
	OriginEgressWithCDN float64 `json:"origin_egress_cdn_bps"` // × (1 - hit ratio)
}

// Size computes a deployment for the workload on nodes like c.
func Size(in Inputs, est Estimate, c NodeCapacity, s SizingInputs) (Sizing, error) {
	if s.CDNHitRatio < 0 || s.CDNHitRatio > 1 {
		return Sizing{}, errors.New("cdn-hit must be between 0 and 1")
	}
	if s.TimelineEntries < 0 {
		return Sizing{}, errors.New("timeline entries must not be negative")
	}
	peakReads := est.ReadQPS * in.PeakFactor
	peakWrites := est.WriteQPS * in.PeakFactor
	var z Sizing
	z.APINodes = max(1, ceil(peakReads/c.APIReadQPSPerNode+peakWrites/c.APIWriteQPSPerNode))
	z.APINodesN1 = z.APINodes + 1
	z.WorkerNodes = max(1, ceil(est.PeakUploadsS/c.UploadsPerSecPerWorker))
	z.ShardsByWrites = max(1, ceil(peakWrites/c.DBWriteQPSPerShard))
	postsKept := in.UploadsPerDay * in.RetentionDays
	z.ShardsByStorage = max(1, ceil(postsKept*c.MetadataBytesPerPost/c.DBStorageBytesPerShard))
	z.Shards = max(z.ShardsByWrites, z.ShardsByStorage)
	z.TimelineMemory = in.DAU * s.TimelineEntries * c.TimelineEntryBytes
	perUpload := in.PhotoSize
	for _, t := range in.ThumbSizes {
		perUpload += t
	}
	z.BlobStoragePerYr = in.UploadsPerDay * perUpload * in.RetentionDays * in.Replication
	z.EgressNoCDN = est.Bandwidth
	z.OriginEgressWithCDN = est.Bandwidth * (1 - s.CDNHitRatio)
	return z, nil
}
