package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/photofeed/photofeed/internal/postgres"
	"github.com/photofeed/photofeed/internal/progress"
	"github.com/photofeed/photofeed/internal/shardmap"
	"github.com/photofeed/photofeed/internal/shardmove"
)

const shardsUsage = "usage: photofeed shards list [--db URL] [--shards FILE] | photofeed shards move <shard> <database> [--max-pause 2s]"

// shardsCmd is `photofeed shards list|move`: the shard map, and moving one
// logical shard to another database while the service runs.
func shardsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "move") {
		return errors.New(shardsUsage)
	}
	maxPause := 2 * time.Second
	db, rest, err := openForAdmin(ctx, "shards "+args[0], args[1:], getenv, func(fs *flag.FlagSet) {
		fs.DurationVar(&maxPause, "max-pause", 2*time.Second, "longest write pause for the shard; past it the move is abandoned")
	})
	if err != nil {
		return fmt.Errorf("shards: %w", err)
	}
	defer db.Close()
	if db.cluster == nil {
		return errors.New("shards: the embedded SQLite database holds every shard in one file; shards live on PostgreSQL (--db postgres://... --shards FILE)")
	}
	switch args[0] {
	case "list":
		if len(rest) != 0 {
			return errors.New(shardsUsage)
		}
		return listShards(ctx, db.cluster, stdout)
	default:
		if len(rest) != 2 {
			return errors.New(shardsUsage)
		}
		shard, err := strconv.Atoi(rest[0])
		if err != nil || shard < 0 || shard >= db.cluster.Count() {
			return fmt.Errorf("shards move: shard must be a number from 0 to %d, not %q", db.cluster.Count()-1, rest[0])
		}
		if maxPause <= 0 || maxPause > time.Minute {
			return errors.New("shards move: --max-pause must be from 1ms to 1m")
		}
		return moveShard(ctx, db.cluster, shard, rest[1], maxPause, stdout, stderr)
	}
}

func listShards(ctx context.Context, cl *postgres.Cluster, stdout io.Writer) error {
	m := cl.Map()
	type total struct {
		shards int
		rows   []int64
	}
	totals := map[string]*total{}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "SHARD\tDATABASE\t%s\t\n", strings.ToUpper(strings.Join(postgres.ShardTables, "\t")))
	for n := range m.Shards() {
		rows, err := cl.ShardRows(ctx, n)
		if err != nil {
			return fmt.Errorf("shards list: %w", err)
		}
		home := m.Home(n)
		t := totals[home]
		if t == nil {
			t = &total{rows: make([]int64, len(rows))}
			totals[home] = t
		}
		t.shards++
		cells := []string{strconv.Itoa(n), home}
		for i, r := range rows {
			t.rows[i] += r
			cells = append(cells, strconv.FormatInt(r, 10))
		}
		fmt.Fprintf(tw, "%s\t\n", strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nshard map version %d: %d logical shards\n", m.Version, m.Shards())
	for _, name := range slices.Sorted(maps.Keys(totals)) {
		t := totals[name]
		var parts []string
		for i, table := range postgres.ShardTables {
			parts = append(parts, fmt.Sprintf("%d %s", t.rows[i], table))
		}
		fmt.Fprintf(stdout, "  %s: %d shards, %s\n", name, t.shards, strings.Join(parts, ", "))
	}
	return nil
}

func moveShard(ctx context.Context, cl *postgres.Cluster, shard int, target string, maxPause time.Duration, stdout, stderr io.Writer) error {
	to := slices.Index(cl.Names(), target)
	if to < 0 {
		return fmt.Errorf("shards move: no database %q in --shards (have %s)", target, strings.Join(cl.Names(), ", "))
	}
	from := cl.Home(shard)
	if from == to {
		return fmt.Errorf("shards move: shard %d is on %s already", shard, target)
	}
	schema := postgres.SchemaName(shard)
	// Steps and polls, counted: the meter shows the move is alive and
	// what it is doing.
	meter := progress.New(stderr, progress.Terminal(stderr), fmt.Sprintf("shards move %d", shard), -1)
	fence := &shardmove.DBFence{DB: cl.DBs()[from].Writer(), Schema: schema}
	main := cl.MainDB().Writer()
	rep, err := shardmove.Move{
		Schema:    schema,
		SourceURL: cl.URLs()[from],
		TargetURL: cl.URLs()[to],
		Fence:     fence.Fence,
		Switch: func(ctx context.Context) error {
			// Writers that still route by the old map are turned away by
			// the marker and follow the map, which changes next.
			if err := fence.MarkMoved(ctx, target); err != nil {
				return err
			}
			_, err := shardmap.Set(ctx, main, shard, target)
			return err
		},
		MaxPause: maxPause,
		Progress: func(step string) { meter.Note(step); meter.Add(1) },
	}.Run(ctx)
	meter.Done()
	var left *shardmove.SourceLeftError
	if err != nil && !errors.As(err, &left) {
		return fmt.Errorf("shards move %d: %w", shard, err)
	}
	var rows []string
	for _, t := range slices.Sorted(maps.Keys(rep.Rows)) {
		rows = append(rows, fmt.Sprintf("%s %d", t, rep.Rows[t]))
	}
	fmt.Fprintf(stdout, "moved shard %d (%s) from %s to %s in %s; writes paused %s; rows equal on both sides: %s\n",
		shard, schema, cl.Names()[from], target, rep.Total.Round(time.Millisecond), rep.Pause.Round(time.Millisecond), strings.Join(rows, ", "))
	if left != nil {
		// The move stands and nothing reads the stale copy; moving the shard
		// back would trip over it, so it has to go by hand.
		return fmt.Errorf("shards move %d: shard %d moved; source copy not dropped: %w; drop it by hand on %s: DROP SCHEMA %s CASCADE",
			shard, shard, left.Err, cl.Names()[from], schema)
	}
	return nil
}
