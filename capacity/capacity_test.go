package capacity_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/capacity"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

// The system-design primer's three numbers, exact and as it rounds them.
func TestSeedExample(t *testing.T) {
	in := capacity.SeedInputs()
	est := in.Estimate()
	tests := []struct {
		name    string
		exact   float64
		want    float64
		rounded float64
		wantR   float64
	}{
		{"QPS = 100M × 5 / 86,400", est.QPS, 5787.037037037037, capacity.Round(est.QPS, 2), 5800},
		{"storage = 10M × 500 KB × 365", est.StoragePerYr, 1.825e15, capacity.Round(est.StoragePerYr, 2), 1.8e15},
		{"bandwidth = 5,800 × 200 KB", capacity.Round(est.QPS, 2) * in.ResponseSize, 1.16e9, math.Floor(1.16e9/1e8) * 1e8, 1.1e9},
		{"bandwidth from the exact QPS", est.Bandwidth, 1157407407.4074073, capacity.Round(est.Bandwidth, 2), 1.2e9},
	}
	for _, tt := range tests {
		if !near(tt.exact, tt.want) {
			t.Errorf("%s: exact %v, want %v", tt.name, tt.exact, tt.want)
		}
		if !near(tt.rounded, tt.wantR) {
			t.Errorf("%s: rounded %v, want %v", tt.name, tt.rounded, tt.wantR)
		}
	}
	if !near(est.ReadQPS+est.WriteQPS, est.QPS) || !near(est.ReadQPS/est.WriteQPS, 10) {
		t.Errorf("read/write split %v/%v does not add up at 10:1", est.ReadQPS, est.WriteQPS)
	}
	if got := capacity.Decimal.FormatBytes(est.StoragePerYr); got != "1.825 PB" {
		t.Errorf("storage formatted %q", got)
	}
	if got := capacity.Binary.FormatBytes(est.StoragePerYr); got != "1.621 PiB" {
		t.Errorf("storage in binary units %q", got)
	}
	if got := capacity.FormatCount(est.QPS); got != "5,787.04" {
		t.Errorf("QPS formatted %q", got)
	}
}

// The system-design primer's nines table: 8.76 h, 52.6 min, 5.26 min a year.
func TestNines(t *testing.T) {
	tests := []struct {
		percent           float64
		year, month, week string
		day               string
	}{
		{99.9, "8.76 h", "43.8 min", "10.1 min", "1.44 min"},
		{99.99, "52.6 min", "4.38 min", "1.01 min", "8.64 s"},
		{99.999, "5.26 min", "26.3 s", "6.05 s", "864 ms"},
	}
	for _, tt := range tests {
		got := []string{}
		for _, p := range capacity.Periods {
			got = append(got, capacity.FormatDowntime(capacity.Downtime(tt.percent, p.Span)))
		}
		want := []string{tt.year, tt.month, tt.week, tt.day}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%v%%: %v, want %v", tt.percent, got, want)
		}
	}
	if d := capacity.Downtime(99.99, capacity.Year); d.Round(time.Second) != 52*time.Minute+34*time.Second {
		t.Errorf("99.99%% of a year = %s", d)
	}
}

func TestComposition(t *testing.T) {
	cs, err := capacity.ParseComponents("api=99.95x3, db=99.99x2,lb=99.9")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[0] != (capacity.Component{Name: "api", Availability: 99.95, Replicas: 3}) || cs[2].Replicas != 1 {
		t.Fatalf("parsed %+v", cs)
	}
	// Parallel: 1 - 0.0005^3; series: the product.
	if got := cs[0].Parallel(); !near(got, 100*(1-0.0005*0.0005*0.0005)) {
		t.Errorf("api parallel %v", got)
	}
	if got := capacity.Series(cs, false); !near(got, 100*0.9995*0.9999*0.999) {
		t.Errorf("series of singles %v", got)
	}
	with := capacity.Series(cs, true)
	if !near(with, 100*(1-0.0005*0.0005*0.0005)*(1-0.0001*0.0001)*0.999) {
		t.Errorf("series with replicas %v", with)
	}
	if with <= capacity.Series(cs, false) {
		t.Error("redundancy did not raise availability")
	}
	for _, bad := range []string{"", "api", "api=", "api=100", "api=0", "api=99x0", "api=99xmany", "=99", "api=abc"} {
		if _, err := capacity.ParseComponents(bad); err == nil {
			t.Errorf("ParseComponents(%q) accepted", bad)
		}
	}
}

func TestParseUnits(t *testing.T) {
	counts := map[string]float64{"100M": 100e6, "10k": 10e3, "1.5B": 1.5e9, "5800": 5800, "5,800": 5800, "2 M": 2e6}
	for s, want := range counts {
		if got, err := capacity.ParseCount(s); err != nil || !near(got, want) {
			t.Errorf("ParseCount(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	sizes := map[string]float64{"500KB": 500e3, "500 KB": 500e3, "1.5MiB": 1.5 * (1 << 20), "2048": 2048, "1PB": 1e15, "3B": 3}
	for s, want := range sizes {
		if got, err := capacity.ParseBytes(s); err != nil || !near(got, want) {
			t.Errorf("ParseBytes(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	days := map[string]float64{"1y": 365, "90d": 90, "2w": 14, "18mo": 547.5, "36h": 1.5}
	for s, want := range days {
		if got, err := capacity.ParseDays(s); err != nil || !near(got, want) {
			t.Errorf("ParseDays(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "M", "lots", "100X", "1..2M", "-5"} {
		if _, err := capacity.ParseCount(bad); err == nil {
			t.Errorf("ParseCount(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "KB", "500kb", "5 parsecs", "1.2.3MB"} {
		if _, err := capacity.ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "1 fortnight", "y", "1yr"} {
		if _, err := capacity.ParseDays(bad); err == nil {
			t.Errorf("ParseDays(%q) accepted", bad)
		}
	}
}

// Sizing arithmetic on a fixed capacity file.
func TestSize(t *testing.T) {
	c, err := capacity.ReadNodeCapacity(strings.NewReader(`{
		"machine": "test", "api_read_qps_per_node": 1000, "api_write_qps_per_node": 500,
		"uploads_per_sec_per_worker": 5, "timeline_entry_bytes": 100, "db_write_qps_per_shard": 400,
		"db_storage_bytes_per_shard": 1e12, "metadata_bytes_per_post": 1000}`))
	if err != nil {
		t.Fatal(err)
	}
	in := capacity.SeedInputs()
	est := in.Estimate()
	z, err := capacity.Size(in, est, c, capacity.SizingInputs{TimelineEntries: 800, CDNHitRatio: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	// peak reads 5787.04×10/11×2 = 10,521.9 → 10.52 nodes; peak writes 1,052.2 → 2.10; sum 12.63 → 13
	want := capacity.Sizing{
		APINodes: 13, APINodesN1: 14,
		WorkerNodes:         47, // 10M/86,400×2 = 231.5 uploads/s ÷ 5
		ShardsByWrites:      3,  // 1,052.2 ÷ 400
		ShardsByStorage:     4,  // 3.65e9 posts × 1 KB ÷ 1 TB
		Shards:              4,
		TimelineMemory:      8e12, // 100M × 800 × 100 B
		BlobStoragePerYr:    10e6 * (500e3 + 30e3 + 150e3) * 365,
		EgressNoCDN:         est.Bandwidth,
		OriginEgressWithCDN: est.Bandwidth * 0.1,
	}
	if z.APINodes != want.APINodes || z.APINodesN1 != want.APINodesN1 || z.WorkerNodes != want.WorkerNodes ||
		z.ShardsByWrites != want.ShardsByWrites || z.ShardsByStorage != want.ShardsByStorage || z.Shards != want.Shards ||
		!near(z.TimelineMemory, want.TimelineMemory) || !near(z.BlobStoragePerYr, want.BlobStoragePerYr) ||
		!near(z.EgressNoCDN, want.EgressNoCDN) || !near(z.OriginEgressWithCDN, want.OriginEgressWithCDN) {
		t.Fatalf("Size =\n%+v\nwant\n%+v", z, want)
	}
	if _, err := capacity.Size(in, est, c, capacity.SizingInputs{CDNHitRatio: 1.5}); err == nil {
		t.Error("cdn hit ratio 1.5 accepted")
	}
	for _, bad := range []string{`{}`, `{"api_read_qps_per_node": -1}`, `not json`, `{"unknown_field": 1}`} {
		if _, err := capacity.ReadNodeCapacity(strings.NewReader(bad)); err == nil {
			t.Errorf("capacity file %s accepted", bad)
		}
	}
}
