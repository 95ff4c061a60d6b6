package app_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/app"
)

// A short open-loop load against a real node: every operation of the
// mix is answered without errors, the accounts it seeded serve a second,
// closed-loop run, and plan accepts the capacity file it writes.
// The tool speaks only the public API, so the store behind it changes
// nothing: it runs in the default mode only.
func TestLoadtest(t *testing.T) {
	sameInEveryMode(t)
	s := start(t)
	dir := t.TempDir()
	resultFile, capFile := filepath.Join(dir, "result.json"), filepath.Join(dir, "capacity.json")
	var out, errOut bytes.Buffer
	err := app.Run(t.Context(), []string{"loadtest", "--target", s.URL, "--data-dir", dir,
		"--users", "3", "--follows-per-user", "1", "--posts-per-user", "1",
		"--mix", "feed=50,like=30,profile=10,upload=10", "--rate", "40", "--duration", "1s",
		"--json", resultFile, "--capacity-out", capFile}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, errOut.String())
	}
	t.Log(errOut.String())
	var res struct {
		Mode     string
		Requests int64
		Errors   int64
		Ops      []struct {
			Op       string
			Requests int64
			Errors   int64
			P99Ms    float64 `json:"p99_ms"`
		}
	}
	raw, err := os.ReadFile(resultFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.Mode != "open" || res.Requests != 40 || res.Errors != 0 {
		t.Errorf("mode %s, %d requests, %d errors; want open, 40, none\n%s", res.Mode, res.Requests, res.Errors, out.String())
	}
	seen := map[string]bool{}
	for _, o := range res.Ops {
		seen[o.Op] = true
		if o.Requests == 0 || o.Errors != 0 || o.P99Ms <= 0 {
			t.Errorf("%s: %d requests, %d errors, p99 %g ms", o.Op, o.Requests, o.Errors, o.P99Ms)
		}
		if !strings.Contains(out.String(), o.Op) {
			t.Errorf("table has no row for %s:\n%s", o.Op, out.String())
		}
	}
	for _, op := range []string{"feed", "like", "profile", "upload"} {
		if !seen[op] {
			t.Errorf("no figures for %s", op)
		}
	}

	out.Reset()
	if err := app.Run(t.Context(), []string{"loadtest", "--target", s.URL, "--data-dir", dir, "--no-seed",
		"--connections", "2", "--max-requests", "20"}, nil, &out, &errOut); err != nil {
		t.Fatalf("loadtest --no-seed: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "closed loop, 2 connections: 20 requests") || !strings.Contains(out.String(), " 0 errors") {
		t.Errorf("closed loop over the saved accounts:\n%s", out.String())
	}

	// Another deployment's accounts: names and passwords only, no posts
	// named, so the run logs in and finds posts to like itself.
	var saved struct {
		Users []map[string]string
	}
	raw, err = os.ReadFile(filepath.Join(dir, "loadtest-accounts.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &saved)
	for _, u := range saved.Users {
		delete(u, "token")
	}
	accounts := filepath.Join(dir, "accounts.json")
	raw, _ = json.Marshal(saved)
	if err := os.WriteFile(accounts, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := app.Run(t.Context(), []string{"loadtest", "--target", s.URL, "--accounts", accounts,
		"--mix", "like=1", "--connections", "1", "--max-requests", "10"}, nil, &out, &errOut); err != nil {
		t.Fatalf("loadtest --accounts: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "10 requests") || !strings.Contains(out.String(), " 0 errors") {
		t.Errorf("likes as accounts from a file:\n%s", out.String())
	}

	out.Reset()
	if err := app.Run(t.Context(), []string{"plan", "--capacity", capFile, "--format", "json"}, nil, &out, &errOut); err != nil {
		t.Fatalf("plan --capacity %s: %v", capFile, err)
	}
	raw, _ = os.ReadFile(capFile)
	if !strings.Contains(string(raw), "photofeed loadtest") {
		t.Errorf("capacity file does not say where it came from:\n%s", raw)
	}
}

func TestLoadtestRefusesRemoteTarget(t *testing.T) {
	var out bytes.Buffer
	err := app.Run(t.Context(), []string{"loadtest", "--target", "http://192.0.2.1:8080"}, nil, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %v, want one line refusing the remote target", err)
	}
}
