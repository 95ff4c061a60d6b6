package testenv

import (
	"testing"
	"time"
)

// Poll calls cond until it holds or timeout passes, and reports whether it
// held. Tests wait for async work with it (or with Eventually) rather than
// a sleep. Polls start at 1 ms and back off to 20 ms: a fast condition is
// seen at once, a slow one costs little CPU on a shared machine.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		pause = min(2*pause, 20*time.Millisecond)
	}
	return true
}

// Eventually is Poll that fails tb, naming what it waited for, on a
// timeout. A test that must report the state it saw, or clean up before
// failing, uses Poll and fails itself.
func Eventually(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	if !Poll(timeout, cond) {
		tb.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}
