package consistency_test

import (
	"testing"

	"github.com/photofeed/photofeed/internal/consistency"
)

func TestParseLSN(t *testing.T) {
	for s, want := range map[string]consistency.LSN{"0/3016038": 0x3016038, "16/B374D848": 0x16_B374D848, "FFFFFFFF/FFFFFFFF": 1<<64 - 1} {
		got, err := consistency.ParseLSN(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseLSN(%q) = %v (%s), %v; want %v", s, got, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "/1", "1/", "x/1", "123456789/0", "0/1/2", "-1/0"} {
		if _, err := consistency.ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) accepted", bad)
		}
	}
}

func FuzzParseLSN(f *testing.F) {
	f.Add("0/3016038")
	f.Add("16/B374D848")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := consistency.ParseLSN(s)
		if err != nil {
			return
		}
		if again, err := consistency.ParseLSN(l.String()); err != nil || again != l {
			t.Fatalf("%q → %v does not round-trip", s, l)
		}
	})
}
