package app_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/app"
)

// A bulk-loaded data directory serves: its accounts log in with the one
// password, and the mixed load runs on them without an error.
func TestBulkloadServesTheLoadtest(t *testing.T) {
	sameInEveryMode(t)
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := app.Run(t.Context(), []string{"bulkload", "--data-dir", dir, "--users", "60", "--follows", "900", "--posts", "400",
		"--sample", "20"}, nil, &out, &errOut); err != nil {
		t.Fatalf("bulkload: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "loaded 60 accounts, 900 follows and 400 photos") {
		t.Fatalf("bulkload said:\n%s", out.String())
	}
	s := start(t, "--data-dir", dir)
	out.Reset()
	if err := app.Run(t.Context(), []string{"loadtest", "--target", s.URL, "--accounts", filepath.Join(dir, "bulk-accounts.json"),
		"--connections", "2", "--max-requests", "60"}, nil, &out, &errOut); err != nil {
		t.Fatalf("loadtest: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "60 requests") || !strings.Contains(out.String(), " 0 errors") {
		t.Errorf("the mixed load on the bulk-loaded accounts:\n%s", out.String())
	}

	// A second load would mix two datasets; bad sizes are refused at once.
	for _, args := range [][]string{
		{"--data-dir", dir},
		{"--data-dir", t.TempDir(), "--users", "1"},
		{"--data-dir", t.TempDir(), "--follows", "-3"},
		{"--data-dir", t.TempDir(), "extra"},
	} {
		err := app.Run(t.Context(), append([]string{"bulkload"}, args...), nil, &out, &errOut)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("bulkload %v: %v; want a one-line error", args, err)
		}
	}
}
