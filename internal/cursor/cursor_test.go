package cursor_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/cursor"
)

func TestCursorRoundTripAndTamper(t *testing.T) {
	c := cursor.New([]byte("0123456789abcdef0123456789abcdef"))
	other := cursor.New([]byte("another key, another server......"))
	for _, id := range []int64{1, 42, 1 << 40, 1<<63 - 1} {
		s := c.Encode(id)
		got, err := c.Decode(s)
		if err != nil || got != id {
			t.Fatalf("Decode(Encode(%d)) = %d, %v", id, got, err)
		}
		if _, err := other.Decode(s); !errors.Is(err, cursor.ErrBad) {
			t.Errorf("cursor from another key accepted: %v", err)
		}
		for i := range s { // flipping any character must be caught
			b := []byte(s)
			b[i] = "AB"[strings.IndexByte("A", b[i])+1]
			if _, err := c.Decode(string(b)); err == nil {
				t.Errorf("tampered cursor %q accepted", b)
			}
		}
	}
	for _, bad := range []string{"", "x", "not a cursor", strings.Repeat("A", 34), c.Encode(5) + "A", c.Encode(0), c.Encode(-3)} {
		if _, err := c.Decode(bad); !errors.Is(err, cursor.ErrBad) {
			t.Errorf("Decode(%q) err = %v, want ErrBad", bad, err)
		}
	}
}

func FuzzCursorDecode(f *testing.F) {
	c := cursor.New([]byte("0123456789abcdef0123456789abcdef"))
	f.Add(c.Encode(12345))
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := c.Decode(s)
		if err != nil {
			if !errors.Is(err, cursor.ErrBad) {
				t.Fatalf("unexpected error type %v", err)
			}
			return
		}
		if id <= 0 || c.Encode(id) != s {
			t.Fatalf("accepted non-canonical cursor %q → %d", s, id)
		}
	})
}
