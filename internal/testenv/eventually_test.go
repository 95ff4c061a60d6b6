package testenv_test

import (
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

func TestPoll(t *testing.T) {
	n := 0
	if !testenv.Poll(time.Second, func() bool { n++; return n == 3 }) {
		t.Fatal("a condition that came to hold was reported as timed out")
	}
	start := time.Now()
	if testenv.Poll(30*time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never held was reported as holding")
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("gave up after %s, before the 30ms timeout", d)
	}
}
