// Package loadtest is photofeed's own load generator: it seeds a dataset
// through the public API, sends the mixed workload open loop (a fixed
// rate, latency from each request's intended send time) or closed loop
// (a number of connections), and reports latency percentiles per
// operation, as pgbench does for PostgreSQL.
package loadtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"
)

// Env is what a run needs from its surroundings.
type Env struct {
	Stdout, Stderr io.Writer
	TTY            bool   // Stderr is a terminal
	Lookup         Lookup // nil: the system resolver
	Reference      []byte // the capacity file whose other figures --capacity-out keeps
}

// Main runs a load test as o says.
func Main(ctx context.Context, o Options, env Env) error {
	lookup := env.Lookup
	if lookup == nil {
		lookup = net.DefaultResolver.LookupIPAddr
	}
	if err := CheckTarget(ctx, o.Target, o.AllowRemote, lookup); err != nil {
		return err
	}
	conns := max(o.Connections, 64)
	if o.Rate > 0 || o.FindMax {
		conns = max(conns, min(o.MaxInflight, 1024))
	}
	hc := NewHTTPClient(conns)
	api := &Client{Base: o.Target, HTTP: hc}
	say := func(s string) { fmt.Fprintln(env.Stderr, "loadtest:", s) }

	accounts, err := prepare(ctx, o, api, say)
	if err != nil {
		return err
	}
	gen, err := Workload(o.Target, o.Mix, accounts, o.Seed)
	if err != nil {
		return err
	}
	load := Load{Rate: o.Rate, Connections: o.Connections, MaxInflight: o.MaxInflight,
		Duration: o.Duration, MaxRequests: o.MaxRequests, Client: hc, Progress: env.Stderr, TTY: env.TTY}

	var res *Result
	if o.FindMax {
		start := o.Rate
		if start == 0 {
			start = 100
		}
		measure := func(ctx context.Context, rate float64) (*Result, error) {
			l := load
			l.Rate, l.Duration = rate, o.StepDuration
			l.Label = fmt.Sprintf("%.0f/s ", rate)
			r, err := l.Run(ctx, gen)
			if err == nil {
				lag := ""
				if r.SendLag != nil {
					lag = fmt.Sprintf(" (send lag p99 %.2fms)", r.SendLag.P99Ms)
				}
				say(fmt.Sprintf("%.0f/s: p99 %s%s, %.0f/s served, %d errors", rate, fmtMs(r.P99()), lag, r.Throughput, r.Errors))
			}
			return r, err
		}
		search, best, err := FindMax(ctx, start, o.P99, o.MaxSteps, measure)
		if err != nil {
			return err
		}
		if best == nil {
			best = &Result{Mode: "open", Classes: map[string]int64{}}
		}
		res = best
		res.FindMax = search
	} else {
		say(fmt.Sprintf("loading %s for %s", o.Target, o.Duration))
		if res, err = load.Run(ctx, gen); err != nil {
			return err
		}
	}
	res.Target, res.Mix, res.Users, res.Posts = o.Target, o.Mix.String(), len(accounts.Users), len(accounts.Posts)

	if s := res.FindMax; s != nil {
		if s.MaxRate == 0 {
			fmt.Fprintf(env.Stdout, "find-max: no rate tried held p99 ≤ %gms\n", s.P99TargetMs)
		} else {
			fmt.Fprintf(env.Stdout, "find-max: %.0f req/s is the highest rate tried whose p99 held ≤ %gms (%d rates tried)\n",
				s.MaxRate, s.P99TargetMs, len(s.Steps))
		}
	}
	if res.Requests > 0 {
		res.Table(env.Stdout)
	}
	if o.JSONOut != "" {
		if err := res.WriteJSON(o.JSONOut); err != nil {
			return err
		}
	}
	if o.CapacityOut != "" {
		c, err := Capacity(res, env.Reference, time.Now())
		if err != nil {
			return err
		}
		if err := WriteCapacity(o.CapacityOut, c); err != nil {
			return err
		}
	}
	return nil
}

// prepare returns the accounts to load with: given, saved by an earlier
// run, or seeded now (and saved).
func prepare(ctx context.Context, o Options, api *Client, say func(string)) (Accounts, error) {
	if o.AccountsFile != "" || o.NoSeed {
		path := o.AccountsFile
		if path == "" {
			path = o.SaveAccounts
		}
		a, err := ReadAccounts(path)
		if err != nil {
			return a, err
		}
		return a, a.Complete(ctx, api)
	}
	say(fmt.Sprintf("seeding %d users × %d follows × %d posts", o.Dataset.Users, o.Dataset.FollowsPerUser, o.Dataset.PostsPerUser))
	began := time.Now()
	a, err := Seed(ctx, api, o.Dataset, say)
	if err != nil {
		return a, err
	}
	if err := WriteAccounts(o.SaveAccounts, a); err != nil {
		return a, err
	}
	say(fmt.Sprintf("seeded in %s; accounts saved to %s (reuse with --no-seed)", time.Since(began).Round(100*time.Millisecond), o.SaveAccounts))
	return a, nil
}
