package capacity

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Year is the system-design primer's year for downtime: 365 days.
const Year = 365 * 24 * time.Hour

// Downtime is the time a service at availability percent may be down per
// period: 99.99 % of a year allows 52.6 minutes.
func Downtime(percent float64, period time.Duration) time.Duration {
	return time.Duration((1 - percent/100) * float64(period))
}

// Periods are the spans the nines table reports, a month being a twelfth of
// the year.
var Periods = []struct {
	Name string
	Span time.Duration
}{{"year", Year}, {"month", Year / 12}, {"week", 7 * 24 * time.Hour}, {"day", 24 * time.Hour}}

// FormatDowntime writes d in the unit a person would: 8.76 h, 52.6 min,
// 8.64 s, with three significant digits.
func FormatDowntime(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return sig(d.Hours(), 3) + " h"
	case d >= time.Minute:
		return sig(d.Minutes(), 3) + " min"
	case d >= time.Second:
		return sig(d.Seconds(), 3) + " s"
	}
	return sig(float64(d)/float64(time.Millisecond), 3) + " ms"
}

// Component is one tier of a system: its availability and how many
// redundant instances run in parallel.
type Component struct {
	Name         string  `json:"name"`
	Availability float64 `json:"availability"` // percent, one instance
	Replicas     int     `json:"replicas"`
}

// Parallel is the availability of the tier: it is down only when every
// replica is, 1 - (1 - a)^n (failures assumed independent).
func (c Component) Parallel() float64 {
	return 100 * (1 - math.Pow(1-c.Availability/100, float64(c.Replicas)))
}

// Series is the availability of tiers that all must be up: the product.
// withReplicas chooses each tier's parallel availability or one instance's.
func Series(cs []Component, withReplicas bool) float64 {
	a := 1.0
	for _, c := range cs {
		if withReplicas {
			a *= c.Parallel() / 100
		} else {
			a *= c.Availability / 100
		}
	}
	return 100 * a
}

// ParseComponents parses "api=99.95x3,db=99.99x2,lb=99.99" (replicas
// default to 1).
func ParseComponents(s string) ([]Component, error) {
	var out []Component
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, spec, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want name=availability[xreplicas]", part)
		}
		aStr, nStr, hasN := strings.Cut(spec, "x")
		a, err := strconv.ParseFloat(strings.TrimSuffix(aStr, "%"), 64)
		if err != nil || a <= 0 || a >= 100 {
			return nil, fmt.Errorf("%q: availability must be a percentage between 0 and 100", part)
		}
		n := 1
		if hasN {
			if n, err = strconv.Atoi(nStr); err != nil || n < 1 || n > 1000 {
				return nil, fmt.Errorf("%q: replicas must be a whole number from 1 to 1000", part)
			}
		}
		out = append(out, Component{Name: name, Availability: a, Replicas: n})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no components in %q", s)
	}
	return out, nil
}
