package app_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/chaos"
	"github.com/photofeed/photofeed/internal/cluster"
	"github.com/photofeed/photofeed/internal/testenv"
)

// TestChaosShortRun is the CI stage of `photofeed chaos`: 120 s of
// workload with a fixed seed and one fault of each kind this machine can
// make (nine here: the kernel has no netem, so no latency), each held 3 s,
// failing when fewer than 99.99 % of the operations succeed or the audit
// finds anything. Nine faults with a quiet gap of 5 s after each need
// about 75 s of the run's middle 70 %. It takes about two and a half
// minutes of the machine (the cluster's start, the run, the audit, the
// stop) and its nodes are this test binary, so it runs only when asked,
// in a stage of its own, never under -race:
// PHOTOFEED_TEST_CHAOS=1 go test -run TestChaosShortRun ./internal/app
func TestChaosShortRun(t *testing.T) {
	if os.Getenv("PHOTOFEED_TEST_CHAOS") != "1" {
		t.Skip("a chaos run has its own CI stage: set PHOTOFEED_TEST_CHAOS=1 to run it")
	}
	needClusterEngines(t)
	reportPath := filepath.Join(t.TempDir(), "chaos.json")
	cmd := exec.Command(os.Args[0], "chaos", "--duration", "120s", "--hold", "3s", "--seed", "1", "--faults", "all",
		"--settle", "2m", "--report", reportPath, "--", "--argon2-memory", "64", "--argon2-time", "1")
	cmd.Env = append(os.Environ(), asPhotofeedEnv+"=1")
	out := &testenv.LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var runErr error
	select {
	case runErr = <-done:
	case <-time.After(8 * time.Minute):
		cmd.Process.Signal(os.Interrupt) // it stops what it started
		<-done
		t.Fatalf("photofeed chaos did not finish in 8 minutes:\n%s", out.String())
	}
	t.Logf("photofeed chaos output:\n%s", out.String())
	b, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatalf("no report (%v); the run exited with %v", err, runErr)
	}
	var r chaos.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report: %v", err)
	}
	want := 6 // the kills, the stops, the replica's stop
	if cluster.NetNSAvailable() == nil {
		want += 3 // the partitions from Redis and PostgreSQL, packet loss
		if cluster.NetemAvailable() == nil {
			want++ // and latency
		}
	}
	if len(r.Faults) != want {
		t.Errorf("%d faults injected, want one of each of the %d kinds", len(r.Faults), want)
	}
	if r.Operations < 500 {
		t.Errorf("only %d operations in two minutes", r.Operations)
	}
	if r.SuccessRatio < r.Target {
		t.Errorf("success ratio %.5f below the target %.5f", r.SuccessRatio, r.Target)
	}
	if r.Audit == nil {
		t.Fatal("no audit in the report")
	}
	for _, v := range r.Verdict {
		t.Errorf("verdict: %s", v)
	}
	if r.Pass != (runErr == nil) {
		t.Errorf("report pass=%v but the command exited with %v", r.Pass, runErr)
	}
}
