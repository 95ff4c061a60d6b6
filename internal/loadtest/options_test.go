package loadtest

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		check func(Options) bool
		err   string // part of the error; "" for none
	}{
		{"defaults", []string{"--target", "http://127.0.0.1:8080"}, func(o Options) bool {
			return o.Duration == 30*time.Second && o.Rate == 0 && o.Connections == 16 &&
				o.Mix.String() == "feed=90,like=9,profile=1" && o.Dataset == Dataset{200, 20, 5} &&
				o.SaveAccounts == "data/loadtest-accounts.json"
		}, ""},
		{"open loop", []string{"--target", "http://x", "--rate", "250/s", "--duration", "5s", "--max-requests", "100"}, func(o Options) bool {
			return o.Rate == 250 && o.Duration == 5*time.Second && o.MaxRequests == 100
		}, ""},
		{"rate per minute", []string{"--target", "http://x", "--rate", "600/m"}, func(o Options) bool { return o.Rate == 10 }, ""},
		{"mix with post", []string{"--target", "http://x", "--mix", "feed=1, post=2,like=0"}, func(o Options) bool {
			return o.Mix.String() == "feed=1,upload=2" && !o.Mix.Has(OpLike)
		}, ""},
		{"find-max", []string{"--target", "http://x", "--find-max", "--p99", "10ms"}, func(o Options) bool {
			return o.FindMax && o.P99 == 10*time.Millisecond && o.StepDuration == 5*time.Second
		}, ""},
		{"accounts file", []string{"--target", "http://x", "--accounts", "a.json", "--users", "0"}, func(o Options) bool {
			return o.AccountsFile == "a.json"
		}, ""},
		{"no target", nil, nil, "--target URL is required"},
		{"too long", []string{"--target", "http://x", "--duration", "2h"}, nil, "--duration"},
		{"zero duration", []string{"--target", "http://x", "--duration", "0s"}, nil, "--duration"},
		{"bad rate", []string{"--target", "http://x", "--rate", "-3"}, nil, "--rate"},
		{"bad rate unit", []string{"--target", "http://x", "--rate", "3/h"}, nil, "unit"},
		{"unknown op", []string{"--target", "http://x", "--mix", "feed=9,search=1"}, nil, `"search=1"`},
		{"twice", []string{"--target", "http://x", "--mix", "feed=9,feed=1"}, nil, "twice"},
		{"all zero", []string{"--target", "http://x", "--mix", "feed=0"}, nil, "no operation"},
		{"bad weight", []string{"--target", "http://x", "--mix", "feed=x"}, nil, "whole number"},
		{"follows ≥ users", []string{"--target", "http://x", "--users", "3", "--follows-per-user", "3"}, nil, "below --users"},
		{"accounts and no-seed", []string{"--target", "http://x", "--accounts", "a", "--no-seed"}, nil, "exclude"},
		{"search too long", []string{"--target", "http://x", "--find-max", "--step-duration", "10m", "--max-steps", "7"}, nil, "at most"},
		{"stray argument", []string{"--target", "http://x", "now"}, nil, "unexpected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseArgs(tc.args, io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(o) {
				t.Errorf("parsed %+v", o)
			}
		})
	}
}

func TestMixPick(t *testing.T) {
	m, err := ParseMix(DefaultMix)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[Op]int{}
	for n := range m.total() {
		counts[m.pick(n)]++
	}
	if counts[OpFeed] != 90 || counts[OpLike] != 9 || counts[OpProfile] != 1 {
		t.Errorf("picks %v, want 90/9/1", counts)
	}
}

func TestCheckTarget(t *testing.T) {
	hosts := map[string][]string{
		"localhost":   {"127.0.0.1", "::1"},
		"mixed.test":  {"127.0.0.1", "192.0.2.7"},
		"remote.test": {"192.0.2.8"},
	}
	lookup := func(_ context.Context, host string) ([]net.IPAddr, error) {
		ips, ok := hosts[host]
		if !ok {
			return nil, errors.New("no such host")
		}
		var out []net.IPAddr
		for _, s := range ips {
			out = append(out, net.IPAddr{IP: net.ParseIP(s)})
		}
		return out, nil
	}
	for _, tc := range []struct {
		target string
		remote bool
		err    string
	}{
		{"http://127.0.0.1:8080", false, ""},
		{"http://127.9.9.9", false, ""},
		{"http://[::1]:8080", false, ""},
		{"https://localhost:8443/base", false, ""},
		{"http://192.0.2.1:8080", false, "not a loopback"},
		{"http://remote.test", false, "--allow-remote"},
		{"http://mixed.test", false, "192.0.2.7 is not a loopback"},
		{"http://remote.test", true, ""},
		{"http://192.0.2.1:8080", true, ""},
		{"http://nowhere.test", false, "no such host"},
		{"ftp://127.0.0.1", false, "http(s) URL"},
		{"127.0.0.1:8080", false, "http(s) URL"},
		{"http://", true, "http(s) URL"},
	} {
		err := CheckTarget(t.Context(), tc.target, tc.remote, lookup)
		if tc.err == "" && err != nil {
			t.Errorf("%s (allow remote %v): %v", tc.target, tc.remote, err)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s (allow remote %v): error %v, want one with %q", tc.target, tc.remote, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", tc.target, err)
		}
	}
}
