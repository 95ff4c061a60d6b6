package loadtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// MaxDuration bounds a run, so a mistyped flag cannot load a server for
// a day.
const MaxDuration = time.Hour

// Options are a load test's settings, from its flags.
type Options struct {
	Target       string
	AllowRemote  bool
	Duration     time.Duration
	MaxRequests  int64
	Dataset      Dataset
	AccountsFile string // an existing deployment's accounts: no seeding
	NoSeed       bool   // use the accounts a previous run saved
	SaveAccounts string // where seeded accounts are kept
	Mix          Mix
	Rate         float64 // requests/s, open loop; 0: closed loop
	Connections  int
	MaxInflight  int // open loop: requests in flight at once
	Seed         uint64
	JSONOut      string
	CapacityOut  string
	FindMax      bool
	P99          time.Duration
	StepDuration time.Duration
	MaxSteps     int
}

// ParseArgs parses the flags of `photofeed loadtest`.
func ParseArgs(args []string, stderr io.Writer) (Options, error) {
	o := Options{}
	fs := flag.NewFlagSet("photofeed loadtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Target, "target", "", "base URL of the photofeed to load (required)")
	fs.BoolVar(&o.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long to load (at most 1h)")
	fs.Int64Var(&o.MaxRequests, "max-requests", 0, "stop after this many requests (0: no limit)")
	fs.IntVar(&o.Dataset.Users, "users", 200, "accounts to seed")
	fs.IntVar(&o.Dataset.FollowsPerUser, "follows-per-user", 20, "accounts each seeded user follows")
	fs.IntVar(&o.Dataset.PostsPerUser, "posts-per-user", 5, "photos each seeded user uploads")
	fs.StringVar(&o.AccountsFile, "accounts", "", `JSON file of existing accounts to use instead of seeding: {"users":[{"username":..,"password":..}],"posts":[ids]}`)
	fs.BoolVar(&o.NoSeed, "no-seed", false, "reuse the accounts an earlier run saved (see --save-accounts)")
	dataDir := fs.String("data-dir", "./data", "directory for the saved accounts")
	fs.StringVar(&o.SaveAccounts, "save-accounts", "", "file for the seeded accounts (default: DATA-DIR/loadtest-accounts.json)")
	mix := fs.String("mix", DefaultMix, "weights of the operations: feed, like, profile, upload")
	rate := fs.String("rate", "", "open loop: requests per second at fixed intervals (e.g. 200 or 200/s)")
	fs.IntVar(&o.Connections, "connections", 16, "closed loop: clients each sending when the last answer came")
	fs.IntVar(&o.MaxInflight, "max-inflight", 512, "open loop: requests in flight at once; later ones wait, and their wait counts")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the random choices of operation, user and post")
	fs.StringVar(&o.JSONOut, "json", "", "write the full result as JSON to this file")
	fs.StringVar(&o.CapacityOut, "capacity-out", "", "write a capacity file for `photofeed plan --capacity`")
	fs.BoolVar(&o.FindMax, "find-max", false, "search for the highest open-loop rate whose p99 holds --p99")
	fs.DurationVar(&o.P99, "p99", 25*time.Millisecond, "with --find-max: the p99 latency to hold")
	fs.DurationVar(&o.StepDuration, "step-duration", 5*time.Second, "with --find-max: how long each rate is tried")
	fs.IntVar(&o.MaxSteps, "max-steps", 16, "with --find-max: most rates tried")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "Usage: photofeed loadtest --target URL [flags]\n\nSeeds a dataset through the API, runs the mixed workload open or closed loop,\nand prints latency percentiles per operation.")
			fs.PrintDefaults()
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.Target == "" {
		return o, errors.New("--target URL is required (e.g. http://127.0.0.1:8080)")
	}
	if o.Duration <= 0 || o.Duration > MaxDuration {
		return o, fmt.Errorf("--duration must be above 0 and at most %s", MaxDuration)
	}
	if o.MaxRequests < 0 {
		return o, errors.New("--max-requests must not be negative")
	}
	var err error
	if o.Mix, err = ParseMix(*mix); err != nil {
		return o, fmt.Errorf("--mix: %w", err)
	}
	if *rate != "" {
		if o.Rate, err = ParseRate(*rate); err != nil {
			return o, fmt.Errorf("--rate: %w", err)
		}
	}
	if o.Connections < 1 || o.MaxInflight < 1 {
		return o, errors.New("--connections and --max-inflight must be at least 1")
	}
	if o.AccountsFile != "" && o.NoSeed {
		return o, errors.New("--accounts and --no-seed exclude each other")
	}
	if o.AccountsFile == "" && (o.Dataset.Users < 1 || o.Dataset.PostsPerUser < 0 || o.Dataset.FollowsPerUser < 0) {
		return o, errors.New("--users must be at least 1, follows and posts not negative")
	}
	if o.Dataset.FollowsPerUser >= o.Dataset.Users && o.AccountsFile == "" && !o.NoSeed {
		return o, fmt.Errorf("--follows-per-user must be below --users (%d)", o.Dataset.Users)
	}
	if o.FindMax {
		if o.P99 <= 0 || o.StepDuration <= 0 || o.MaxSteps < 2 {
			return o, errors.New("--find-max needs --p99 and --step-duration above 0 and --max-steps of at least 2")
		}
		if time.Duration(o.MaxSteps)*o.StepDuration > MaxDuration {
			return o, fmt.Errorf("--max-steps × --step-duration must be at most %s", MaxDuration)
		}
	}
	if o.SaveAccounts == "" {
		o.SaveAccounts = filepath.Join(*dataDir, "loadtest-accounts.json")
	}
	return o, nil
}

// ParseRate parses "200", "200/s" or "12000/m" as requests per second.
func ParseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	per := 1.0
	switch unit {
	case "", "s":
	case "m":
		per = 60
	default:
		return 0, fmt.Errorf("%q: unit must be /s or /m", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !(v > 0) || v > 1e6 {
		return 0, fmt.Errorf("%q: want a rate above 0, at most 1e6/s", s)
	}
	return v / per, nil
}

// Lookup resolves a host name to its addresses.
type Lookup func(ctx context.Context, host string) ([]net.IPAddr, error)

// CheckTarget refuses a target URL that is malformed or, unless
// allowRemote, whose host is not a loopback address: the load is meant
// for one's own machine, and it takes a deliberate flag to aim it
// elsewhere.
func CheckTarget(ctx context.Context, target string, allowRemote bool, lookup Lookup) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("--target %q: want an http(s) URL such as http://127.0.0.1:8080", target)
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	var addrs []net.IPAddr
	if ip := net.ParseIP(host); ip != nil {
		addrs = []net.IPAddr{{IP: ip}}
	} else if addrs, err = lookup(ctx, host); err != nil {
		return fmt.Errorf("--target %q: resolve %s: %w", target, host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("--target %q: %s has no address", target, host)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return fmt.Errorf("--target %q: %s is not a loopback address; pass --allow-remote to load another machine", target, a.IP)
		}
	}
	return nil
}
