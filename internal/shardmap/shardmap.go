// Package shardmap keeps the map of logical shards to physical databases
// in the main PostgreSQL database, and hands every instance the current
// one: a change (a shard moved) is announced with NOTIFY, and every
// watcher reloads within moments, with no restart. A watcher also reloads
// on a timer, so a notification lost with a dropped connection costs
// seconds, not correctness (writes are fenced at the source anyway, see
// internal/shardmove).
package shardmap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"
)

// Channel is the NOTIFY channel of map changes.
const Channel = "photofeed_shard_map"

// Map is one version of the map: Homes[s] names the database of shard s.
type Map struct {
	Version int64
	Homes   []string
}

// Home is the database holding shard.
func (m *Map) Home(shard int) string { return m.Homes[shard] }

// Shards counts the logical shards.
func (m *Map) Shards() int { return len(m.Homes) }

const schema = `
CREATE TABLE IF NOT EXISTS photofeed_shard_map (shard integer PRIMARY KEY, home text NOT NULL);
CREATE TABLE IF NOT EXISTS photofeed_shard_map_version (one boolean PRIMARY KEY DEFAULT true CHECK (one), version bigint NOT NULL);`

// Init lays out n shards over databases in contiguous ranges (shard s on
// databases[s*len/n]), unless a map is already there: the layout is fixed
// when a deployment is created, and moves change it afterwards.
func Init(ctx context.Context, db *sql.DB, n int, databases []string) error {
	if n <= 0 || len(databases) == 0 {
		return errors.New("shardmap: want at least one shard and one database")
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7308)`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("shardmap: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM photofeed_shard_map`).Scan(&have); err != nil {
		return err
	}
	if have > 0 {
		return tx.Commit() // n was for a new deployment; the map says
	}
	for s := range n {
		if _, err := tx.ExecContext(ctx, `INSERT INTO photofeed_shard_map (shard, home) VALUES ($1, $2)`,
			s, databases[s*len(databases)/n]); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO photofeed_shard_map_version (version) VALUES (1)`); err != nil {
		return err
	}
	return tx.Commit()
}

// Load reads the current map.
func Load(ctx context.Context, db *sql.DB) (*Map, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	m := &Map{}
	if err := tx.QueryRowContext(ctx, `SELECT version FROM photofeed_shard_map_version`).Scan(&m.Version); err != nil {
		return nil, fmt.Errorf("shardmap: version: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT shard, home FROM photofeed_shard_map ORDER BY shard`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s int
		var home string
		if err := rows.Scan(&s, &home); err != nil {
			return nil, err
		}
		if s != len(m.Homes) {
			return nil, fmt.Errorf("shardmap: shard %d missing", len(m.Homes))
		}
		m.Homes = append(m.Homes, home)
	}
	return m, rows.Err()
}

// Set makes home the database of shard, as a new version, and announces
// it to every watcher.
func Set(ctx context.Context, db *sql.DB, shard int, home string) (version int64, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE photofeed_shard_map SET home = $2 WHERE shard = $1`, shard, home)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, fmt.Errorf("shardmap: no shard %d", shard)
	}
	if err := tx.QueryRowContext(ctx, `UPDATE photofeed_shard_map_version SET version = version + 1 RETURNING version`).Scan(&version); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, strconv.FormatInt(version, 10)); err != nil {
		return 0, err
	}
	return version, tx.Commit() // NOTIFY is delivered at commit
}

// Watcher holds the current map of one instance.
type Watcher struct {
	db  *sql.DB
	url string
	cur atomic.Pointer[Map]
	log *slog.Logger
	// Poll is the reload interval when no notification comes (default 5s).
	Poll time.Duration
}

// NewWatcher loads the map; Run keeps it current.
func NewWatcher(ctx context.Context, db *sql.DB, url string, log *slog.Logger) (*Watcher, error) {
	if log == nil {
		log = slog.Default()
	}
	w := &Watcher{db: db, url: url, log: log, Poll: 5 * time.Second}
	m, err := Load(ctx, db)
	if err != nil {
		return nil, err
	}
	w.cur.Store(m)
	return w, nil
}

// Current is the newest map this instance has.
func (w *Watcher) Current() *Map { return w.cur.Load() }

// Run listens for changes until ctx ends, reconnecting as needed.
func (w *Watcher) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := w.listen(ctx); err != nil && ctx.Err() == nil {
			w.log.WarnContext(ctx, "shard map: listening failed; reconnecting", "err", err)
			select { // listen reloads the map first thing when it is back
			case <-ctx.Done():
			case <-time.After(min(w.Poll, 500*time.Millisecond)):
			}
		}
	}
}

func (w *Watcher) listen(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, w.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		return err
	}
	w.Refresh(ctx) // a change made before LISTEN took effect
	for {
		wait, cancel := context.WithTimeout(ctx, w.Poll)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case err == nil:
			if v, perr := strconv.ParseInt(n.Payload, 10, 64); perr != nil || v > w.Current().Version {
				w.Refresh(ctx)
			}
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			w.Refresh(ctx) // the timer: a lost notification costs one Poll
		default:
			return err
		}
	}
}

// Refresh reads the map now, for a caller that knows it changed.
func (w *Watcher) Refresh(ctx context.Context) {
	m, err := Load(ctx, w.db)
	if err != nil && ctx.Err() != nil {
		return // shutting down
	}
	if err != nil {
		w.log.WarnContext(ctx, "shard map: reload failed; keeping the one held", "err", err)
		return
	}
	if m.Version > w.Current().Version {
		w.cur.Store(m)
	}
}
