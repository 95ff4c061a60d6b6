package deploy_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/testenv"
)

const (
	rulesFile     = "prometheus/photofeed-rules.yaml"
	rulesTestFile = "prometheus/photofeed-rules_test.yaml"
	dashboardFile = "grafana/photofeed.json"
)

// promtool finds Prometheus's promtool, or skips (fails in CI).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		testenv.Missing(t, "promtool (apt-get install prometheus)")
	}
	return p
}

// promtoolOnly skips, under -short, a test in which only promtool runs:
// CI's -race stage runs -short, and there is no Go code of ours in such a
// test for the race detector to watch; it ran in the plain go test.
func promtoolOnly(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("only promtool runs here, nothing for -race to watch; runs without -short")
	}
}

// runPromtool runs promtool with args in dir, stdin as its input, and
// fails t with its output unless it succeeds.
func runPromtool(t *testing.T, bin, dir string, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestRulesCheck(t *testing.T) {
	t.Parallel()
	promtoolOnly(t)
	bin := promtool(t)
	out := runPromtool(t, bin, ".", nil, "check", "rules", rulesFile)
	t.Logf("promtool check rules:\n%s", out)
}

// The unit tests in photofeed-rules_test.yaml: a healthy service, a full
// outage (pages), a slow burn (tickets, no page), slow feed reads.
func TestRulesUnitTests(t *testing.T) {
	t.Parallel()
	promtoolOnly(t)
	bin := promtool(t)
	// promtool resolves rule_files relative to the test file.
	out := runPromtool(t, bin, ".", nil, "test", "rules", rulesTestFile)
	t.Logf("promtool test rules:\n%s", out)
}
