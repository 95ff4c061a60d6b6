package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/app"
)

var update = flag.Bool("update", false, "rewrite golden files")

func runPlan(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := app.Run(context.Background(), append([]string{"plan"}, args...), func(string) string { return "" }, &out, &out)
	return out.String(), err
}

// The default output is the system-design primer's worked example; it is pinned in a golden file
// (go test ./internal/app -run PlanGolden -update rewrites it).
func TestPlanGolden(t *testing.T) {
	for _, tc := range []struct{ name, file string }{{"table", "plan.golden"}, {"markdown", "plan.md.golden"}} {
		got, err := runPlan(t, "--format", tc.name)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", tc.file)
		if *update {
			os.WriteFile(path, []byte(got), 0o644)
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s output differs from %s (rerun with -update if intended):\n%s", tc.name, path, got)
		}
	}
	out, _ := runPlan(t)
	for _, want := range []string{"5,787.04 QPS", "~5,800 QPS", "1.825 PB", "~1.8 PB", "1.16 GB/s ~ 1.1 GB/s",
		"8.76 h", "52.6 min", "5.26 min", "decimal (SI)"} {
		if !strings.Contains(out, want) {
			t.Errorf("default plan lacks %q", want)
		}
	}
}

func TestPlanJSONAndSizing(t *testing.T) {
	capFile := filepath.Join(t.TempDir(), "cap.json")
	os.WriteFile(capFile, []byte(`{"machine":"fixture","api_read_qps_per_node":1000,"api_write_qps_per_node":500,
		"uploads_per_sec_per_worker":5,"timeline_entry_bytes":100,"db_write_qps_per_shard":400,
		"db_storage_bytes_per_shard":1e12,"metadata_bytes_per_post":1000}`), 0o644)
	out, err := runPlan(t, "--format", "json", "--capacity", capFile, "--cdn-hit", "0.5")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Estimate struct {
			QPS float64 `json:"qps"`
		}
		Sizing struct {
			APINodes    float64 `json:"api_nodes"`
			WorkerNodes float64 `json:"worker_nodes"`
			Origin      float64 `json:"origin_egress_cdn_bps"`
			Egress      float64 `json:"egress_bps"`
		}
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if v.Estimate.QPS < 5787 || v.Estimate.QPS > 5788 || v.Sizing.APINodes != 13 || v.Sizing.WorkerNodes != 47 || v.Sizing.Origin*2 != v.Sizing.Egress {
		t.Fatalf("json figures: %+v", v)
	}
	bin, _ := runPlan(t, "--binary")
	if !strings.Contains(bin, "1.621 PiB") || !strings.Contains(bin, "binary (IEC)") || strings.Contains(bin, "system-design primer says") {
		t.Errorf("--binary output:\n%s", bin)
	}
	custom, _ := runPlan(t, "--dau", "1M", "--uploads-per-day", "100k", "--retention", "90d")
	if strings.Contains(custom, "system-design primer says") || !strings.Contains(custom, "57.87 QPS") {
		t.Errorf("custom inputs still show the system-design primer's figures:\n%s", custom)
	}
}

func TestPlanBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--dau", "lots"}, "-dau"},
		{[]string{"--photo-size", "5 parsecs"}, "-photo-size"},
		{[]string{"--retention", "forever"}, "-retention"},
		{[]string{"--thumb-sizes", "30KB,big"}, "-thumb-sizes"},
		{[]string{"--components", "api=99x"}, "-components"},
		{[]string{"--availability", "100"}, "availability"},
		{[]string{"--peak-factor", "0.5"}, "peak-factor"},
		{[]string{"--cdn-hit", "2"}, "cdn-hit"},
		{[]string{"--format", "xml"}, "--format"},
		{[]string{"--capacity", "/no/such/file.json"}, "--capacity"},
		{[]string{"stray"}, "unexpected argument"},
	} {
		_, err := runPlan(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("plan %v: err %v, want one line naming %q", tc.args, err, tc.want)
		}
	}
}
