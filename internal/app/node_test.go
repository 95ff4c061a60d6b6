package app

import (
	"io"
	"testing"
)

// CheapNodeArgs are the serve flags every test node starts with: dir as its
// data directory, password hashing cheap enough for a test, no rate limits.
// Exported from a test file so the black-box tests (package app_test) start
// their nodes with the same list.
func CheapNodeArgs(dir string) []string {
	return []string{"--data-dir", dir, "--argon2-memory", "64", "--argon2-time", "1", "--rate-limits", "off"}
}

// buildTestNode builds a full photofeed node on a temporary data dir with
// CheapNodeArgs and extra, without a listener or running workers.
func buildTestNode(tb testing.TB, extra ...string) *node {
	tb.Helper()
	args := append(append(CheapNodeArgs(tb.TempDir()), "--log-level", "error"), extra...)
	cfg, err := parseServeConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := build(tb.Context(), cfg, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	return n
}

// newTestNode is buildTestNode with its workers running.
func newTestNode(tb testing.TB) *node {
	tb.Helper()
	n := buildTestNode(tb)
	stop := n.start(tb.Context())
	tb.Cleanup(stop)
	return n
}
