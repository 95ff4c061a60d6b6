// Package testenv finds the real servers and tools tests run against, and
// decides what a missing one means: a skip on a developer's machine, a
// failure in CI (PHOTOFEED_REQUIRE_SERVICES=1).
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether missing services must fail tests.
func Required() bool { return os.Getenv("PHOTOFEED_REQUIRE_SERVICES") == "1" }

// Missing skips t, or fails it when services are required.
func Missing(t testing.TB, what string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is required (PHOTOFEED_REQUIRE_SERVICES=1) but not available", what)
	}
	t.Skipf("%s not available; skipping (set PHOTOFEED_REQUIRE_SERVICES=1 to fail instead)", what)
}

// Chromium returns the path of a Chromium or Chrome binary, or skips.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PHOTOFEED_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "Chromium (apt-get install chromium)")
	return ""
}
