package app

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/photofeed/photofeed/capacity"
)

// referenceCapacity is one node's capacity measured on the reference
// 2-core machine by bench/capacity.sh.
//
//go:embed plan_capacity.json
var referenceCapacity []byte

// defaultComponents is a typical photofeed deployment's tiers.
const defaultComponents = "lb=99.99x2,api=99.95x3,db=99.99x2,cache=99.9x2,queue=99.95x3,blobs=99.99x1"

// flagFunc adapts a parse function to flag.Value.
type flagFunc struct {
	value string
	set   func(string) error
}

func (f *flagFunc) String() string     { return f.value }
func (f *flagFunc) Set(s string) error { f.value = s; return f.set(s) }

type planOptions struct {
	in         capacity.Inputs
	sizing     capacity.SizingInputs
	components []capacity.Component
	capFile    string
	units      capacity.Units
	format     string
	seed       bool // inputs are the system-design primer's example: show what it says
}

func parsePlanFlags(args []string, stderr io.Writer) (planOptions, error) {
	o := planOptions{in: capacity.SeedInputs(), sizing: capacity.SizingInputs{TimelineEntries: 800, CDNHitRatio: 0.9}}
	o.components, _ = capacity.ParseComponents(defaultComponents)
	fs := flag.NewFlagSet("photofeed plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, v := range planInputFlags(&o) {
		fs.Var(&flagFunc{value: v.def, set: v.set}, v.name, v.usage)
	}
	fs.StringVar(&o.capFile, "capacity", "", "JSON file of measured per-node capacity (default: the reference 2-core figures)")
	binary := fs.Bool("binary", false, "binary units (KiB, MiB, ...) instead of decimal (KB = 1,000 B)")
	fs.StringVar(&o.format, "format", "table", "table, json or markdown")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "Usage: photofeed plan [flags]\n\nPrints the back-of-envelope estimate, the nines and a deployment sized from measured capacity.")
			fs.PrintDefaults()
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.format != "table" && o.format != "json" && o.format != "markdown" {
		return o, fmt.Errorf("--format must be table, json or markdown, not %q", o.format)
	}
	if *binary {
		o.units = capacity.Binary
	}
	o.seed = !primerInputsChanged(fs)
	if err := o.in.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

// primerInputsChanged reports whether a flag moved the inputs away from
// the system-design primer's example, whose own figures are then no
// longer comparable.
func primerInputsChanged(fs *flag.FlagSet) bool {
	changed := false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "dau", "actions-per-day", "uploads-per-day", "photo-size", "retention", "response-size":
			changed = true
		}
	})
	return changed
}

type planInputFlag struct {
	name, def, usage string
	set              func(string) error
}

// planInputFlags are the flags that set o's inputs, each with its default
// as the user would type it.
func planInputFlags(o *planOptions) []planInputFlag {
	return []planInputFlag{
		{"dau", "100M", "daily active users", countFlag(&o.in.DAU)},
		{"actions-per-day", "5", "requests per user per day", countFlag(&o.in.ActionsPerDay)},
		{"read-write-ratio", "10", "reads per write", numberFlag(&o.in.ReadWriteRatio)},
		{"peak-factor", "2", "peak traffic over the daily average", numberFlag(&o.in.PeakFactor)},
		{"uploads-per-day", "10M", "photos uploaded per day", countFlag(&o.in.UploadsPerDay)},
		{"photo-size", "500KB", "average original photo", bytesFlag(&o.in.PhotoSize)},
		{"thumb-sizes", "30KB,150KB", "sizes of the variants stored beside each original", bytesListFlag(&o.in.ThumbSizes)},
		{"retention", "1y", "how long photos are kept (h, d, w, mo, y)", func(s string) error {
			v, err := capacity.ParseDays(s)
			o.in.RetentionDays = v
			return err
		}},
		{"response-size", "200KB", "average response", bytesFlag(&o.in.ResponseSize)},
		{"replication", "1", "stored copies of each blob", numberFlag(&o.in.Replication)},
		{"availability", "99.99", "availability target, percent", numberFlag(&o.in.Availability)},
		{"components", defaultComponents, "tiers as name=availability%xreplicas", func(s string) error {
			cs, err := capacity.ParseComponents(s)
			o.components = cs
			return err
		}},
		{"cdn-hit", "0.9", "share of egress a CDN serves, 0–1", numberFlag(&o.sizing.CDNHitRatio)},
		{"timeline-entries", "800", "entries kept per home timeline", countFlag(&o.sizing.TimelineEntries)},
	}
}

func countFlag(dst *float64) func(string) error {
	return func(s string) error { v, err := capacity.ParseCount(s); *dst = v; return err }
}

func bytesFlag(dst *float64) func(string) error {
	return func(s string) error { v, err := capacity.ParseBytes(s); *dst = v; return err }
}

func numberFlag(dst *float64) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil {
			return errors.New("want a number")
		}
		*dst = v
		return nil
	}
}

// bytesListFlag parses a comma-separated list of sizes; empty items are
// skipped.
func bytesListFlag(dst *[]float64) func(string) error {
	return func(s string) error {
		*dst = nil
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			v, err := capacity.ParseBytes(part)
			if err != nil {
				return err
			}
			*dst = append(*dst, v)
		}
		return nil
	}
}

// plan is the `photofeed plan` command.
func plan(args []string, stdout, stderr io.Writer) error {
	o, err := parsePlanFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	capJSON := referenceCapacity
	if o.capFile != "" {
		if capJSON, err = os.ReadFile(o.capFile); err != nil {
			return fmt.Errorf("plan: --capacity: %w", err)
		}
	}
	node, err := capacity.ReadNodeCapacity(bytes.NewReader(capJSON))
	if err != nil {
		return fmt.Errorf("plan: --capacity: %w", err)
	}
	est := o.in.Estimate()
	z, err := capacity.Size(o.in, est, node, o.sizing)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if o.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(planJSON(o, est, node, z))
	}
	r := buildReport(o, est, node, z)
	if o.format == "markdown" {
		r.markdown(stdout)
	} else {
		r.table(stdout)
	}
	return nil
}
