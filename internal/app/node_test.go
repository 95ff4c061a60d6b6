package app

import (
	"io"
	"testing"
)

// newTestNode builds a full photofeed handler on a temporary data dir with
// cheap password hashing, without a listener.
func newTestNode(tb testing.TB) *node {
	tb.Helper()
	cfg, err := parseServeConfig([]string{"--data-dir", tb.TempDir(), "--argon2-memory", "64", "--argon2-time", "1", "--log-level", "error", "--rate-limits", "off"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := build(tb.Context(), cfg, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	stop := n.start(tb.Context())
	tb.Cleanup(func() { stop(); n.Close() })
	return n
}
