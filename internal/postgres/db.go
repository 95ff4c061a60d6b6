// Package postgres implements every store photofeed needs on PostgreSQL
// (pgx v5 through database/sql, pooled), with the same behaviour as the
// SQLite adapter, checked by the same conformance suites.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"time"

	"github.com/photofeed/photofeed/internal/consistency"
	"github.com/photofeed/photofeed/internal/sqlstore"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is one physical photofeed database on PostgreSQL (a primary and its
// replicas); a Cluster is the deployment's set of them.
type DB struct {
	name  string  // in the shard map, for consistency tokens; "" alone
	write *sql.DB // the primary; reads go to replicas when there are any (replicas.go)

	commits      *sqlstore.Commits
	observer     CommitObserver // nil: commits are not observed
	readTokens   ReadTokens     // nil: no read carries a token
	onProcessing func(ctx context.Context, database string, tx *sql.Tx, postID int64) error

	replicas []*replica
	maxLag   time.Duration
	rebound  sync.Map // statement → statement with $n placeholders (conn.go)

	// The server's WAL page and segment sizes, for recordEnd.
	walBlock, walSegment uint64
}

// Open connects to url (postgres://...) and applies migrations.
func Open(ctx context.Context, url string) (*DB, error) {
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pool.SetMaxOpenConns(20)
	pool.SetMaxIdleConns(20)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	db := &DB{write: pool, commits: sqlstore.NewCommits()}
	if err := pool.QueryRowContext(ctx, `SELECT current_setting('wal_block_size')::bigint,
		pg_size_bytes(current_setting('wal_segment_size'))`).Scan(&db.walBlock, &db.walSegment); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres WAL sizes: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) Close() error {
	for _, r := range db.replicas {
		r.pool.Close()
	}
	return db.write.Close()
}

// Writer is the primary's pool, for River.
func (db *DB) Writer() *sql.DB { return db.write }

// Ping checks that reads can be served: by the primary, or failing that by
// a healthy replica (the instance still serves reads then).
func (db *DB) Ping(ctx context.Context) error {
	if db.fallbackRead() == nil {
		return db.write.PingContext(ctx)
	}
	pctx, cancel := context.WithTimeout(ctx, primaryProbe)
	defer cancel()
	if err := db.write.PingContext(pctx); err != nil && db.fallbackRead() == nil {
		return err
	}
	return nil
}

// primaryProbe bounds a readiness check's ping of a primary whose reads a
// replica can take: a primary that hangs (a host gone, a partition) rather
// than refusing must read as down well within a balancer's health-check
// timeout (the gateway's is 1 s), or every node would fail its checks
// together. Without a replica the probe gets the whole check's time: a
// ping waits for a free connection, and a busy node is not a dead one.
const primaryProbe = 500 * time.Millisecond

// Commits tells of the committed write transactions, for the outbox relay.
func (db *DB) Commits() *sqlstore.Commits { return db.commits }

// migrate applies, in name order and under an advisory lock (several
// instances may start at once), every embedded migration not yet applied.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7307)`); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at bigint NOT NULL)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, name := range names {
			var done int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = $1`, name).Scan(&done); err != nil {
				return err
			}
			if done > 0 {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migrate %s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, time.Now().UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
}

// inTx runs fn in a transaction on the primary. After the commit it
// tells the observer the primary's WAL position, for the request's
// consistency token.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return writeErr(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return writeErr(err)
	}
	if err := tx.Commit(); err != nil {
		return writeErr(err)
	}
	db.observe(ctx)
	db.commits.Committed()
	return nil
}

// CommitObserver is told where the primary's WAL stands after a write
// commits: a request's read-your-writes token is made of these positions.
type CommitObserver interface {
	// Observing reports whether commits made under ctx are to be told
	// of: asking the primary for its position costs a round trip, spent
	// only for a request that carries its writes' positions back.
	Observing(ctx context.Context) bool
	Committed(ctx context.Context, database string, at consistency.LSN)
}

// ReadTokens tells a read how new the data it sees must be: the
// positions of the request's earlier writes (its read-your-writes token),
// if it carries one.
type ReadTokens interface {
	MustSee(ctx context.Context) (consistency.Token, bool)
}

// observe tells the observer, if it listens for ctx, the primary's WAL
// position after a write committed.
func (db *DB) observe(ctx context.Context) {
	if db.observer == nil || !db.observer.Observing(ctx) {
		return
	}
	// The insert position, not pg_current_wal_lsn (the write position):
	// where commits return before their WAL is written (synchronous_commit
	// off), the write position can still be short of the commit record,
	// and a replica at the token would lack the write.
	var lsn string
	if err := db.write.QueryRowContext(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&lsn); err == nil {
		if l, err := consistency.ParseLSN(lsn); err == nil {
			db.observer.Committed(ctx, db.name, recordEnd(l, db.walBlock, db.walSegment))
		}
	}
}

// recordEnd turns an insert position into the end of the last record
// written before it. At the start of a WAL page the insert position is
// given past the page's header (24 bytes; 40 on a segment's first page),
// where no record ends; a replica that has replayed everything before it
// reports the page boundary, and would count as behind a token of the
// header's end until some later record reached it (for good, with the
// primary down).
func recordEnd(l consistency.LSN, block, segment uint64) consistency.LSN {
	const shortHeader, longHeader = 24, 40
	switch {
	case segment > 0 && uint64(l)%segment == longHeader:
		return l - longHeader
	case block > 0 && uint64(l)%block == shortHeader:
		return l - shortHeader
	}
	return l
}

func writeErr(err error) error {
	if unreachable(err) {
		return fmt.Errorf("%w: %w", ErrPrimaryDown, err)
	}
	return err
}

// readErr marks a read that failed because no server could be reached.
func readErr(err error) error {
	if unreachable(err) {
		return fmt.Errorf("%w: %w", ErrDatabaseDown, err)
	}
	return err
}

// query runs a read where pickRead says, falling back to a replica when
// the primary cannot be reached.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	pool, r := db.pickRead(ctx)
	if r != nil {
		r.inflight.Add(1)
		defer r.inflight.Add(-1)
	}
	rows, err := pool.QueryContext(ctx, q, args...)
	if err != nil && r != nil && ctx.Err() == nil {
		// The replica failed (starting up, a recovery conflict, gone):
		// out until its next health check, and the primary answers.
		r.healthy.Store(false)
		rows, err = db.write.QueryContext(ctx, q, args...)
		return rows, readErr(err)
	}
	if err != nil && r == nil && unreachable(err) {
		if fb := db.fallbackRead(); fb != nil {
			rows, err = fb.pool.QueryContext(ctx, q, args...)
		}
	}
	return rows, readErr(err)
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) interface{ Scan(...any) error } {
	return rowFunc(func(dest ...any) error {
		pool, r := db.pickRead(ctx)
		if r != nil {
			r.inflight.Add(1)
			defer r.inflight.Add(-1)
		}
		err := pool.QueryRowContext(ctx, q, args...).Scan(dest...)
		if errors.Is(err, sql.ErrNoRows) && r != nil {
			// A replica may not have replayed a row that was just written
			// (a session right after login): a miss asks the primary.
			if perr := db.write.QueryRowContext(ctx, q, args...).Scan(dest...); !unreachable(perr) {
				return perr
			}
		} else if err != nil && r != nil && ctx.Err() == nil {
			r.healthy.Store(false) // failed: out until its next health check
			if perr := db.write.QueryRowContext(ctx, q, args...).Scan(dest...); !unreachable(perr) {
				return perr
			}
		}
		if err != nil && r == nil && unreachable(err) {
			if fb := db.fallbackRead(); fb != nil {
				err = fb.pool.QueryRowContext(ctx, q, args...).Scan(dest...)
				if errors.Is(err, sql.ErrNoRows) && db.behindCaller(ctx, fb) {
					// The caller has seen a write this replica has not
					// replayed: its miss may be that write, so it is no
					// answer, and the caller is to come back later.
					return fmt.Errorf("%w: the replica has not replayed the caller's writes", ErrDatabaseDown)
				}
			}
		}
		return readErr(err)
	})
}

type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }
