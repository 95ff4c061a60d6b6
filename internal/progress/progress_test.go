package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Off a terminal: a line at the first update, then at most one every
// PlainEvery, and the last state at the end — never a redraw.
func TestPlainLines(t *testing.T) {
	var out bytes.Buffer
	at := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	m := New(&out, false, "posts", 1000)
	m.now = func() time.Time { return at }
	for i := range 10 {
		m.Add(100)
		at = at.Add(500 * time.Millisecond) // 5 s in all
		if i == 6 {
			m.Note("catching up")
		}
	}
	m.Done()
	want := "posts: 100 of 1000 (10%)\n" +
		"posts: 500 of 1000 (50%)\n" +
		"posts: 900 of 1000 (90%), catching up\n" +
		"posts: 1000 of 1000 (100%), catching up\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "\r") {
		t.Fatal("a redraw in plain output")
	}
}

// Of an unknown amount, plain lines give the count alone.
func TestPlainUnknownTotal(t *testing.T) {
	var out bytes.Buffer
	m := New(&out, false, "users indexed", -1)
	m.Add(3)
	m.Done()
	if got := out.String(); got != "users indexed: 3\n" {
		t.Fatalf("got %q", got)
	}
}

// On a terminal: the bar is redrawn in place and its line ended at the
// end, also when the work ends early or its amount was unknown.
func TestTerminalBar(t *testing.T) {
	for _, total := range []int64{10, 20, -1} {
		var out bytes.Buffer
		m := New(&out, true, "follows", total)
		for range 10 {
			m.Add(1)
		}
		m.Done()
		s := out.String()
		if !strings.Contains(s, "\r") || !strings.HasSuffix(s, "\n") || !strings.Contains(s, "follows") || !strings.Contains(s, "10") {
			t.Errorf("total %d: %q", total, s)
		}
	}
}
