package app_test

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// procStatus returns a figure of /proc/self/status in bytes (VmRSS, VmHWM).
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status to measure memory: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// rssBaseline collects garbage, resets the peak-RSS mark and returns the
// RSS the growth of what follows is measured from.
func rssBaseline(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
	return procStatus(t, "VmRSS")
}

// skipMemoryUnderRace skips a test of memory figures under the race
// detector, whose shadow memory and slowdown (several times the RSS and
// the CPU) make them meaningless; CI runs them without it.
func skipMemoryUnderRace(t *testing.T) {
	t.Helper()
	if raceDetector {
		t.Skip("memory figures are meaningless under the race detector; measured in the run without -race")
	}
}
