package idempotency

import (
	"strings"
	"testing"
)

// foldKey must agree with strings.EqualFold, or keys that encoding/json
// takes for one field could slip into the canonical form.
func FuzzFoldKey(f *testing.F) {
	for _, s := range [][2]string{{"username", "UserName"}, {"k", "\u212a"}, {"s", "\u017f"}, {"ß", "ss"}, {"a", "b"}, {"é", "É"}, {"\xff", "\ufffd"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := foldKey(a) == foldKey(b), strings.EqualFold(a, b); got != want {
			t.Fatalf("foldKey(%q) == foldKey(%q) is %v, strings.EqualFold says %v", a, b, got, want)
		}
	})
}
