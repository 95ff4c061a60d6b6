// Package shardmove moves one logical shard, a PostgreSQL schema, from one
// physical database to another while the application keeps writing to
// it, with PostgreSQL's own logical replication doing the copying:
//
//  1. the schema's definition is copied (pg_dump --schema-only | psql);
//  2. a publication of the schema on the source and a subscription on the
//     target copy the rows and then stream every later change;
//  3. once the target has caught up, writes to this shard only are fenced
//     (the caller's Fence), the target is let replay the source's last
//     position, the row counts of both sides are compared, and the
//     caller's Switch points the shard map at the target;
//  4. the fence is lifted (writes now go to the target), and the
//     subscription, the publication and the source's copy are dropped.
//
// The pause writers see is step 3 alone: the final catch-up of a shard
// that was already streaming and the counts, bounded by MaxPause. The source must run
// with wal_level=logical. Shard tables must not depend on sequences
// (logical replication does not carry sequence values); photofeed's ids
// come from the id generator.
package shardmove

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"
)

// Move describes one shard move.
type Move struct {
	// Schema is the shard's schema, e.g. shard_0003.
	Schema string
	// SourceURL and TargetURL are postgres:// URLs of the two databases,
	// for a role allowed to create publications and subscriptions.
	SourceURL, TargetURL string
	// SourceFromTarget is how the target's server reaches the source
	// (libpq conninfo or URL); default SourceURL.
	SourceFromTarget string
	// Fence stops writes to the shard everywhere and returns once no
	// write is in flight; release lets them through again.
	Fence func(ctx context.Context) (release func(), err error)
	// Switch records the target as the shard's home (the shard map).
	Switch func(ctx context.Context) error
	// MaxPause bounds the fenced catch-up (default 2s); past it the move
	// is abandoned, writes resume on the source, and nothing is lost.
	MaxPause time.Duration
	// BinDir holds pg_dump and psql (default: found on PATH or in
	// /usr/lib/postgresql/*/bin).
	BinDir string
	// Progress, if set, hears each step as it begins and, while the
	// shard is copied and streamed, how far it has come.
	Progress func(step string)
}

// step tells Progress, if any, what the move is doing.
func (m Move) step(s string) {
	if m.Progress != nil {
		m.Progress(s)
	}
}

// Report is what a move took.
type Report struct {
	Rows       map[string]int64 // per table, equal on both sides
	CopyAndRun time.Duration    // from the start to the fence
	Pause      time.Duration    // writes fenced
	Total      time.Duration
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ErrPauseTooLong is returned when the target did not catch up within
// MaxPause of the fence; the source stays the shard's home.
var ErrPauseTooLong = errors.New("shardmove: the target did not catch up within the pause bound")

// SourceLeftError is Run's error when the shard has moved, the map
// pointing at the target, but the source's copy could not be dropped. The
// move stands; the source's schema is a stale copy for the operator to drop.
type SourceLeftError struct {
	Schema string
	Err    error
}

func (e *SourceLeftError) Error() string {
	return fmt.Sprintf("shardmove: %s moved; source copy not dropped: %v", e.Schema, e.Err)
}

func (e *SourceLeftError) Unwrap() error { return e.Err }

// Run moves the shard. On any error but a *SourceLeftError the source
// stays the shard's home.
func (m Move) Run(ctx context.Context) (rep Report, err error) {
	start := time.Now()
	if !schemaName.MatchString(m.Schema) {
		return rep, fmt.Errorf("shardmove: bad schema name %q", m.Schema)
	}
	if m.MaxPause <= 0 {
		m.MaxPause = 2 * time.Second
	}
	if m.SourceFromTarget == "" {
		m.SourceFromTarget = m.SourceURL
	}
	src, err := sql.Open("pgx", m.SourceURL)
	if err != nil {
		return rep, err
	}
	defer src.Close()
	dst, err := sql.Open("pgx", m.TargetURL)
	if err != nil {
		return rep, err
	}
	defer dst.Close()
	r := moveRun{Move: m, src: src, dst: dst, name: "photofeed_move_" + m.Schema}

	m.step("copying the schema")
	if err := m.copySchema(ctx); err != nil {
		return rep, err
	}
	if err := r.publish(ctx); err != nil {
		return rep, err
	}
	switched := false
	defer func() {
		// After the switch the target holds the shard's only live copy:
		// abandoning would drop it.
		if err != nil && !switched {
			r.abandon()
		}
	}()
	if err := r.subscribe(ctx); err != nil {
		return rep, err
	}
	if err := r.catchUp(ctx); err != nil {
		return rep, err
	}
	rep.CopyAndRun = time.Since(start)
	m.step("cutting over (writes to the shard paused)")
	if err := r.cutOver(ctx, &rep); err != nil {
		return rep, err
	}
	switched = true
	m.step("retiring the source")
	err = r.retireSource(ctx)
	rep.Total = time.Since(start)
	if err != nil {
		return rep, &SourceLeftError{Schema: m.Schema, Err: err}
	}
	return rep, nil
}

// moveRun is a move under way: the open databases and the name of the
// publication, subscription and slot that carry the shard between them.
type moveRun struct {
	Move
	src, dst *sql.DB
	name     string
}

func (r moveRun) publish(ctx context.Context) error {
	if _, err := r.src.ExecContext(ctx, `CREATE PUBLICATION `+r.name+` FOR TABLES IN SCHEMA `+r.Schema); err != nil {
		return fmt.Errorf("shardmove: publication: %w", err)
	}
	return nil
}

func (r moveRun) subscribe(ctx context.Context) error {
	if _, err := r.dst.ExecContext(ctx, `CREATE SUBSCRIPTION `+r.name+` CONNECTION '`+strings.ReplaceAll(r.SourceFromTarget, "'", "''")+
		`' PUBLICATION `+r.name+` WITH (copy_data = true)`); err != nil {
		return fmt.Errorf("shardmove: subscription: %w", err)
	}
	return nil
}

// stopReplicating drops the subscription and the publication.
func (r moveRun) stopReplicating() {
	// Best effort, on a fresh context: the caller's may be done.
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.dst.ExecContext(c, `DROP SUBSCRIPTION IF EXISTS `+r.name)
	r.src.ExecContext(c, `DROP PUBLICATION IF EXISTS `+r.name)
}

// abandon undoes a failed move: the source stays the shard's home and the
// target's partial copy goes.
func (r moveRun) abandon() {
	r.stopReplicating()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.dst.ExecContext(c, `DROP SCHEMA IF EXISTS `+r.Schema+` CASCADE`)
}

// catchUp waits for the initial copy and then for the stream to get
// close to the source, so the fenced pause that follows is short.
func (r moveRun) catchUp(ctx context.Context) error {
	if err := waitFor(ctx, 10*time.Minute, "the initial copy", func() (bool, error) {
		var pending, tables int
		err := r.dst.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE r.srsubstate <> 'r'), count(*)
			FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
			WHERE s.subname = $1`, r.name).Scan(&pending, &tables)
		r.step(fmt.Sprintf("initial copy: %d of %d tables", tables-pending, tables))
		return pending == 0, err
	}); err != nil {
		return err
	}
	return waitFor(ctx, 10*time.Minute, "the stream to catch up", func() (bool, error) {
		behind, err := replicationLag(ctx, r.src, r.name)
		r.step(fmt.Sprintf("catching up: %d KiB behind", behind>>10))
		return behind < 64<<10, err
	})
}

// cutOver fences writes to the shard, lets the target replay the rest,
// compares both sides and switches the shard map to the target; the fence
// is lifted on every return, and rep.Pause says how long it held.
func (r moveRun) cutOver(ctx context.Context, rep *Report) error {
	fenced := time.Now()
	release, err := r.Fence(ctx)
	if err != nil {
		return fmt.Errorf("shardmove: fence: %w", err)
	}
	released := false
	lift := func() {
		if !released {
			released = true
			release()
			rep.Pause = time.Since(fenced)
		}
	}
	defer lift()
	pauseCtx, cancel := context.WithTimeout(ctx, r.MaxPause)
	defer cancel()
	if err := r.replayToSourcePosition(pauseCtx); err != nil {
		return err
	}
	// Both sides hold the same rows now and nobody writes: compare them
	// before anyone writes to the target.
	if rep.Rows, err = r.compare(pauseCtx, r.src, r.dst); err != nil {
		if pauseCtx.Err() != nil {
			return ErrPauseTooLong
		}
		return err
	}
	if err := r.forgetLeaving(pauseCtx); err != nil {
		return err
	}
	if err := r.Switch(ctx); err != nil {
		return fmt.Errorf("shardmove: switch the shard map: %w", err)
	}
	lift()
	return nil
}

// replayToSourcePosition waits, within pauseCtx, until the target has
// confirmed everything the source wrote before the fence.
func (r moveRun) replayToSourcePosition(pauseCtx context.Context) error {
	last, err := flushedPosition(pauseCtx, r.src)
	if err != nil {
		if pauseCtx.Err() != nil {
			return ErrPauseTooLong
		}
		return fmt.Errorf("shardmove: source position: %w", err)
	}
	for {
		var done bool
		err := r.src.QueryRowContext(pauseCtx, `SELECT confirmed_flush_lsn >= $2::pg_lsn FROM pg_replication_slots WHERE slot_name = $1`,
			r.name, last).Scan(&done)
		if err == nil && done {
			return nil
		}
		if pauseCtx.Err() != nil {
			return ErrPauseTooLong
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// flushedPosition is a position of db's WAL that every commit so far
// lies before, flushed so that it can be streamed. Where commits return
// before their WAL is written (synchronous_commit off) the write position
// may fall short of the last ones. So a transaction of its own takes the
// insert position, which every commit before it lies before (and no later
// write of other shards or databases of the server, still going on, that
// the move need not wait for), and commits synchronously, which flushes
// all that.
func flushedPosition(ctx context.Context, db *sql.DB) (string, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `SELECT txid_current()`); err != nil { // a commit record to flush
		return "", err
	}
	var last string
	if err := tx.QueryRowContext(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&last); err != nil {
		return "", err
	}
	return last, tx.Commit()
}

// forgetLeaving handles a shard coming back to a database it once left:
// that database's record of its leaving goes, before anyone is sent there.
func (r moveRun) forgetLeaving(ctx context.Context) error {
	if err := EnsureMarkerTable(ctx, r.dst); err != nil {
		return err
	}
	_, err := r.dst.ExecContext(ctx, `DELETE FROM `+MarkerTable+` WHERE schema_name = $1`, r.Schema)
	return err
}

// retireSource runs once the target is the shard's home: it stops
// replicating and drops the source's copy.
func (r moveRun) retireSource(ctx context.Context) error {
	r.stopReplicating()
	_, err := r.src.ExecContext(ctx, `DROP SCHEMA `+r.Schema+` CASCADE`)
	return err
}

// replicationLag is how many bytes of WAL the subscription's slot has not
// confirmed.
func replicationLag(ctx context.Context, src *sql.DB, slot string) (int64, error) {
	var behind sql.NullInt64
	err := src.QueryRowContext(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
		FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&behind)
	if errors.Is(err, sql.ErrNoRows) || !behind.Valid {
		return 1 << 62, nil // the slot is not there or has not started yet
	}
	return behind.Int64, err
}

// compare counts every table of the schema on both sides.
func (m Move) compare(ctx context.Context, src, dst *sql.DB) (map[string]int64, error) {
	rows, err := src.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, m.Schema)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var t string
		rows.Scan(&t)
		tables = append(tables, t)
	}
	rows.Close()
	out := map[string]int64{}
	for _, t := range tables {
		q := `SELECT count(*) FROM ` + m.Schema + `.` + quoteIdent(t)
		var a, b int64
		if err := src.QueryRowContext(ctx, q).Scan(&a); err != nil {
			return nil, err
		}
		if err := dst.QueryRowContext(ctx, q).Scan(&b); err != nil {
			return nil, err
		}
		if a != b {
			return nil, fmt.Errorf("shardmove: %s.%s has %d rows on the source and %d on the target", m.Schema, t, a, b)
		}
		out[t] = a
	}
	return out, nil
}

// copySchema creates the schema and its tables (no rows) on the target
// with PostgreSQL's own tools.
func (m Move) copySchema(ctx context.Context) error {
	dump := exec.CommandContext(ctx, m.bin("pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
		"--no-publications", "--no-subscriptions", "--schema="+m.Schema, "--dbname="+m.SourceURL)
	load := exec.CommandContext(ctx, m.bin("psql"), "--quiet", "--no-psqlrc", "--set=ON_ERROR_STOP=1", "--dbname="+m.TargetURL)
	pipe, err := dump.StdoutPipe()
	if err != nil {
		return err
	}
	load.Stdin = pipe
	var dumpErr, loadErr strings.Builder
	dump.Stderr, load.Stderr = &dumpErr, &loadErr
	if err := dump.Start(); err != nil {
		return fmt.Errorf("shardmove: pg_dump: %w", err)
	}
	if err := load.Run(); err != nil {
		dump.Wait()
		return fmt.Errorf("shardmove: load the schema: %w: %s", err, loadErr.String())
	}
	if err := dump.Wait(); err != nil {
		return fmt.Errorf("shardmove: pg_dump: %w: %s", err, dumpErr.String())
	}
	return nil
}

func (m Move) bin(name string) string {
	if m.BinDir != "" {
		return filepath.Join(m.BinDir, name)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name); len(found) > 0 {
		return found[len(found)-1]
	}
	return name
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func waitFor(ctx context.Context, limit time.Duration, what string, done func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := done()
		if err != nil {
			return fmt.Errorf("shardmove: waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("shardmove: %s took over %s", what, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
