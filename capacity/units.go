// Package capacity does back-of-envelope capacity planning: the
// system-design primer's QPS, storage and bandwidth estimates, availability
// "nines" and composite availability, and sizing a deployment from measured
// per-node capacity.
// It knows nothing of photofeed beyond the numbers it is given.
package capacity

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// splitNumber splits "500KB" into 500 and "KB", allowing a space between.
func splitNumber(s string) (float64, string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	i := strings.IndexFunc(s, func(r rune) bool { return !(unicode.IsDigit(r) || r == '.') })
	if i < 0 {
		i = len(s)
	}
	if i == 0 {
		return 0, "", errors.New("want a number")
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, "", fmt.Errorf("bad number %q", s[:i])
	}
	return v, strings.TrimSpace(s[i:]), nil
}

var countSuffixes = map[string]float64{"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}

// ParseCount parses a non-negative count such as 100M, 10k, 1.5B or 5800.
func ParseCount(s string) (float64, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	m, ok := countSuffixes[unit]
	if !ok {
		return 0, fmt.Errorf("unknown suffix %q (use k, M, B or T)", unit)
	}
	return v * m, nil
}

var byteUnits = map[string]float64{
	"": 1, "B": 1,
	"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15, "EB": 1e18,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50, "EiB": 1 << 60,
}

// ParseBytes parses a size such as 500KB (decimal, 500,000 B), 1.5MiB
// (binary) or 2048.
func ParseBytes(s string) (float64, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	m, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q (use B, KB, MB, GB, TB, PB or KiB, MiB, ...)", unit)
	}
	return v * m, nil
}

var dayUnits = map[string]float64{"d": 1, "w": 7, "mo": 365.0 / 12, "y": 365, "h": 1.0 / 24}

// ParseDays parses a retention such as 1y, 18mo, 90d, 2w or 36h, in days.
// A year is 365 days, as in the system-design primer's storage formula.
func ParseDays(s string) (float64, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	m, ok := dayUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q (use h, d, w, mo or y)", unit)
	}
	return v * m, nil
}

// Units chooses decimal (SI: KB = 1,000 B) or binary (KiB = 1,024 B) output.
type Units int

const (
	Decimal Units = iota
	Binary
)

func (u Units) String() string {
	if u == Binary {
		return "binary (IEC): KiB = 1,024 B"
	}
	return "decimal (SI): KB = 1,000 B"
}

// FormatBytes writes v bytes with 4 significant digits in the largest unit
// that keeps it at or above 1.
func (u Units) FormatBytes(v float64) string { return u.FormatBytesSig(v, 4) }

// FormatBytesSig is FormatBytes with n significant digits, rounded in the
// unit shown: 1.825 PB to 2 digits is 1.8 PB.
func (u Units) FormatBytesSig(v float64, n int) string {
	names := []string{"B", "KB", "MB", "GB", "TB", "PB", "EB"}
	base := 1000.0
	if u == Binary {
		names = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
		base = 1024
	}
	i := 0
	for math.Abs(v) >= base && i < len(names)-1 {
		v /= base
		i++
	}
	return sig(Round(v, n), n) + " " + names[i]
}

// sig formats v with n significant digits, without trailing zeros.
func sig(v float64, n int) string {
	if v == 0 {
		return "0"
	}
	digits := n - 1 - int(math.Floor(math.Log10(math.Abs(v))))
	if digits < 0 {
		return FormatCount(Round(v, n))
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Round rounds v to n significant figures: Round(5787, 2) = 5800.
func Round(v float64, n int) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, float64(n-1)-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// FormatCount writes v with thousands separators and at most 2 decimals:
// 5786.99 → "5,786.99", 5800 → "5,800".
func FormatCount(v float64) string {
	s := strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// FormatShort writes a count the way the system-design primer does: 100M,
// 10M, 5.8k.
func FormatShort(v float64) string {
	for _, s := range []struct {
		div  float64
		name string
	}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "k"}} {
		if math.Abs(v) >= s.div {
			return sig(v/s.div, 4) + s.name
		}
	}
	return sig(v, 4)
}
