package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/photofeed/photofeed/internal/jobs"
)

// openForAdmin opens the database of the data dir named by args' --data-dir
// (or PHOTOFEED_DATA_DIR), next to a running server if there is one.
func openForAdmin(ctx context.Context, name string, args []string, getenv func(string) string, extra func(*flag.FlagSet)) (*database, []string, error) {
	fs := flag.NewFlagSet("photofeed "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dataDir := fs.String("data-dir", "./data", "where the database lives")
	dbURL := fs.String("db", "", "a postgres:// URL (default: the SQLite database in the data dir)")
	shards := fs.String("shards", "", "with --db: the file of databases holding shards")
	if extra != nil {
		extra(fs)
	}
	// Flags may come before, between or after the positional arguments.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if v := getenv("PHOTOFEED_DATA_DIR"); v != "" && !flagSet(fs, "data-dir") {
		*dataDir = v
	}
	if v := getenv("PHOTOFEED_DB"); v != "" && !flagSet(fs, "db") {
		*dbURL = v
	}
	if v := getenv("PHOTOFEED_SHARDS"); v != "" && !flagSet(fs, "shards") {
		*shards = v
	}
	db, err := openDatabase(ctx, dbConfig{URL: *dbURL, DataDir: *dataDir, ShardsFile: *shards, Shards: 1024, Existing: true})
	return db, positional, err
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// jobsCmd is `photofeed jobs list|retry`: the dead letters from the shell,
// from every database's queue.
func jobsCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	const usage = "usage: photofeed jobs list [--state discarded] [--limit 50] | photofeed jobs retry <id> [--database name]"
	if len(args) == 0 {
		return errors.New(usage)
	}
	state, limit, database := "discarded", 50, ""
	db, rest, err := openForAdmin(ctx, "jobs "+args[0], args[1:], getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&state, "state", "discarded", "job state")
		fs.IntVar(&limit, "limit", 50, "at most this many")
		fs.StringVar(&database, "database", "", "the job's database, as listed (default: the main one)")
	})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	defer db.Close()
	queues := &jobs.Set{}
	for _, p := range db.parts {
		client, err := jobs.New(ctx, jobs.Config{DB: p.writer, Dialect: db.dialect})
		if err != nil {
			return err
		}
		queues.Add(p.name, client)
	}
	switch args[0] {
	case "list":
		list, err := queues.List(ctx, state, limit)
		if err != nil {
			return fmt.Errorf("jobs list: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		several := len(db.parts) > 1
		if several {
			fmt.Fprint(tw, "DATABASE\t")
		}
		fmt.Fprintln(tw, "ID\tKIND\tQUEUE\tSTATE\tATTEMPTS\tLAST ERROR")
		for _, j := range list {
			if several {
				fmt.Fprintf(tw, "%s\t", j.Database)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%s\n", j.ID, j.Kind, j.Queue, j.State, j.Attempt, j.MaxAttempts, j.LastError)
		}
		return tw.Flush()
	case "retry":
		if len(rest) != 1 {
			return errors.New(usage)
		}
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return fmt.Errorf("jobs retry: %q is not a job id", rest[0])
		}
		j, err := queues.Retry(ctx, database, id)
		if err != nil {
			return fmt.Errorf("jobs retry: %w", err)
		}
		fmt.Fprintf(stdout, "job %d (%s) is %s again\n", j.ID, j.Kind, j.State)
		return nil
	}
	return fmt.Errorf("jobs: unknown subcommand %q (list or retry)", args[0])
}

// usersCmd is `photofeed users grant-admin|revoke-admin <username>`.
func usersCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "grant-admin" && args[0] != "revoke-admin") {
		return errors.New("usage: photofeed users grant-admin|revoke-admin <username>")
	}
	db, rest, err := openForAdmin(ctx, "users "+args[0], args[1:], getenv, nil)
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	defer db.Close()
	if len(rest) != 1 {
		return fmt.Errorf("usage: photofeed users %s <username>", args[0])
	}
	grant := args[0] == "grant-admin"
	if err := db.Identity().SetAdmin(ctx, rest[0], grant); err != nil {
		return fmt.Errorf("users %s %s: %w", args[0], rest[0], err)
	}
	fmt.Fprintf(stdout, "%s: admin=%v\n", rest[0], grant)
	return nil
}
