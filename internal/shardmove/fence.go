package shardmove

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The write fence works across every instance with no messaging between
// them, from two PostgreSQL primitives on the shard's source database:
//
//   - every write transaction to a shard first takes a shared advisory
//     lock on it (Write); the move takes the exclusive one (DBFence), which
//     waits for the writes in flight and holds back new ones;
//   - before letting go, the move records where the shard went
//     (photofeed_moved_shards); a writer that was waiting, or that still
//     routes by an old map, finds the record once it has its lock and is
//     told the new home (*MovedError) instead of writing to the old one.

// MarkerTable records the shards that left a database.
const MarkerTable = "photofeed_moved_shards"

// EnsureMarkerTable creates the marker table (where writes check it).
func EnsureMarkerTable(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+MarkerTable+` (schema_name text PRIMARY KEY, target text NOT NULL)`)
	return err
}

// MovedError says the shard now lives elsewhere: refresh the map (or use
// Target) and write there.
type MovedError struct{ Schema, Target string }

func (e *MovedError) Error() string { return fmt.Sprintf("shard %s moved to %s", e.Schema, e.Target) }

// Write runs fn in a transaction on db for a shard that db holds, under
// the shard's shared lock; a shard that has moved away is a *MovedError.
func Write(ctx context.Context, db *sql.DB, schema string, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := Enter(ctx, tx, schema); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Enter begins a write to the shard in tx: it takes the shard's shared
// lock, then (in a statement of its own, so it sees a marker written while
// it waited) checks that the shard has not moved away.
func Enter(ctx context.Context, tx *sql.Tx, schema string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared(hashtext($1))`, schema); err != nil {
		return fmt.Errorf("shard %s: lock: %w", schema, err)
	}
	var target string
	err := tx.QueryRowContext(ctx, `SELECT target FROM `+MarkerTable+` WHERE schema_name = $1`, schema).Scan(&target)
	switch {
	case err == nil:
		return &MovedError{Schema: schema, Target: target}
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("shard %s: %w", schema, err)
	}
	return nil
}

// DBFence fences one shard's writers on its source database, for
// Move.Fence; MarkMoved, for Move.Switch, records the new home while the
// fence is held.
type DBFence struct {
	DB     *sql.DB
	Schema string
	conn   *sql.Conn
}

// Fence takes the exclusive lock on a connection of its own: it returns
// once every write in flight has committed, and holds the rest.
func (f *DBFence) Fence(ctx context.Context) (release func(), err error) {
	if err := EnsureMarkerTable(ctx, f.DB); err != nil {
		return nil, err
	}
	conn, err := f.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext($1))`, f.Schema); err != nil {
		conn.Close()
		return nil, fmt.Errorf("fence %s: %w", f.Schema, err)
	}
	f.conn = conn
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, f.Schema)
		conn.Close() // a lost unlock is released with the session anyway
		f.conn = nil
	}, nil
}

// MarkMoved records target as the shard's new home; call it between
// Fence and its release.
func (f *DBFence) MarkMoved(ctx context.Context, target string) error {
	if f.conn == nil {
		return errors.New("shardmove: MarkMoved without the fence")
	}
	_, err := f.conn.ExecContext(ctx, `INSERT INTO `+MarkerTable+` (schema_name, target) VALUES ($1, $2)
		ON CONFLICT (schema_name) DO UPDATE SET target = excluded.target`, f.Schema, target)
	return err
}
