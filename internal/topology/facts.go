package topology

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// facts are a node's figures as the page lists them, in a fixed order;
// the server formats them once so that the page's script only places
// text.
func facts(b Beat, ago time.Duration) []Fact {
	f := b.Figures
	var out []Fact
	add := func(label, value string) { out = append(out, Fact{label, value}) }
	if serves(b.Roles) {
		add("requests/s", strconv.FormatFloat(f.RequestsPerS, 'f', 1, 64))
		p99 := "no requests"
		if f.P99MS > 0 {
			p99 = "≤ " + strconv.FormatFloat(f.P99MS, 'f', -1, 64) + " ms"
		}
		add("p99", p99)
		add("in flight", strconv.FormatFloat(f.InFlight, 'f', 0, 64))
		add("rate-limited/s", strconv.FormatFloat(f.LimitedPerS, 'f', 1, 64))
		add("shed/s", strconv.FormatFloat(f.ShedPerS, 'f', 1, 64))
	}
	for _, name := range slices.Sorted(maps.Keys(f.Breakers)) {
		add("breaker "+name, f.Breakers[name])
	}
	for _, name := range slices.Sorted(maps.Keys(f.ReplicaLagMS)) {
		add("replica lag "+name, strconv.FormatInt(f.ReplicaLagMS[name], 10)+" ms")
	}
	for _, u := range f.Upstreams {
		state := "usable"
		if !u.Usable {
			state = "not usable"
		}
		add("upstream "+strings.TrimPrefix(u.URL, "http://"), fmt.Sprintf("%s, breaker %s, %d in flight", state, u.Breaker, u.InFlight))
	}
	for _, name := range slices.Sorted(maps.Keys(f.Workers)) {
		add("down: "+name, f.Workers[name])
	}
	for _, name := range slices.Sorted(maps.Keys(f.Extra)) {
		add(name, strconv.FormatFloat(f.Extra[name], 'f', -1, 64))
	}
	add("version", b.Version)
	if !b.Started.IsZero() {
		add("started", b.Started.UTC().Format(time.DateTime)+" UTC")
	}
	add("last beat", strconv.FormatFloat(ago.Seconds(), 'f', 1, 64)+" s ago")
	return out
}

// serves reports whether a node with roles answers HTTP requests that
// count (a worker's listener has its health checks only).
func serves(roles []string) bool {
	return slices.Contains(roles, "api") || slices.Contains(roles, "gateway")
}
