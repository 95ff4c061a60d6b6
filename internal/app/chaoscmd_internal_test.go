package app

import (
	"io"
	"slices"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/cluster"
)

func TestParseChaosConfig(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr bool
		check   func(chaosConfig) bool
	}{
		{args: nil, check: func(c chaosConfig) bool {
			netns := cluster.NetNSAvailable() == nil
			netem := netns && cluster.NetemAvailable() == nil
			want := len(faultKinds)
			if !netns {
				want -= len(netFaults)
			} else if !netem {
				want-- // latency alone
			}
			return c.duration == 150*time.Second && c.seed == 1 && c.target == 0.9999 &&
				slices.Equal(c.faults[:6], faultKinds[:6]) && c.cluster.API == 2 && c.cluster.RateLimits == "off" &&
				c.cluster.PGReplicas == 1 &&
				// Every fault this machine can make; the others said, each on a line.
				len(c.faults) == want && len(c.skipped) == len(faultKinds)-want &&
				// The engines the network faults strike, in namespaces.
				slices.Contains(c.cluster.NetNS, "redis") == netns && slices.Contains(c.cluster.NetNS, "postgres") == netns
		}},
		{args: []string{"--faults", "postgres-replica-stop", "--pg-replicas", "0"}, check: func(c chaosConfig) bool {
			return len(c.faults) == 0 && len(c.skipped) == 1
		}},
		{args: []string{"--faults", "redis-stop"}, check: func(c chaosConfig) bool { return len(c.cluster.NetNS) == 0 }},
		{args: []string{"--loss", "1"}, wantErr: true},
		{args: []string{"--delay", "0s"}, wantErr: true},
		{args: []string{"--faults", "kill-api, redis-stop", "--seed", "7", "--", "--cache-ttl", "0"}, check: func(c chaosConfig) bool {
			return slices.Equal(c.faults, []string{"kill-api", "redis-stop"}) && c.seed == 7 && slices.Equal(c.cluster.NodeArgs, []string{"--cache-ttl", "0"})
		}},
		{args: []string{"--faults", "none"}, check: func(c chaosConfig) bool { return len(c.faults) == 0 }},
		{args: []string{"--faults", "netem"}, wantErr: true},
		{args: []string{"--target", "1"}, wantErr: true},
		{args: []string{"--target", "0"}, wantErr: true},
		{args: []string{"--duration", "5s"}, wantErr: true},
		{args: []string{"--api", "1"}, wantErr: true}, // kill-api needs another node to fail over to
		{args: []string{"--api", "1", "--faults", "redis-stop"}, check: func(c chaosConfig) bool { return c.cluster.API == 1 }},
		{args: []string{"--clients", "0"}, wantErr: true},
		{args: []string{"--rate", "-1"}, wantErr: true},
		{args: []string{"stray"}, wantErr: true},
	} {
		c, err := parseChaosConfig(tc.args, io.Discard)
		if (err != nil) != tc.wantErr {
			t.Errorf("%v: error %v, want error %v", tc.args, err, tc.wantErr)
			continue
		}
		if err == nil && tc.check != nil && !tc.check(c) {
			t.Errorf("%v: parsed %+v", tc.args, c)
		}
	}
}
