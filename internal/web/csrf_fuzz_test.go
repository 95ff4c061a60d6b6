package web

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

// unmask reads a form field anyone can send: it never panics, accepts
// only what mask makes, and gives back what was masked.
func FuzzUnmask(f *testing.F) {
	token := bytes.Repeat([]byte{7}, sha256.Size)
	f.Add(mask(token))
	f.Add("")
	f.Add("not-the-token")
	f.Fuzz(func(t *testing.T, value string) {
		if got := unmask(value); got != nil && len(got) != sha256.Size {
			t.Fatalf("unmask(%q) gave %d bytes", value, len(got))
		}
		if got := unmask(mask(token)); !bytes.Equal(got, token) {
			t.Fatalf("unmask(mask(token)) = %x", got)
		}
	})
}
