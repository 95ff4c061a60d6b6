// Package sqlite implements every store photofeed needs on one embedded
// SQLite database (modernc.org/sqlite, pure Go), in WAL mode: one writer
// connection and a pool of readers, so reads never wait on writes.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/sqlstore"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open photofeed database.
type DB struct {
	// Stores offers every store port, in sqlstore's SQL, on this database.
	sqlstore.Stores

	write *sql.DB // exactly one connection: SQLite has one writer at a time
	read  *sql.DB

	// Reads go through prepared statements kept for the life of the DB:
	// parsing SQL cost more than running it for our point and page queries.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	commits      *sqlstore.Commits
	onProcessing func(ctx context.Context, tx *sql.Tx, postID int64) error
}

// Options are what the database calls out to.
type Options struct {
	// OnProcessingPost enqueues a processing post's thumbnail job inside
	// tx, the transaction that stores the post. Without it, storing a
	// processing post fails.
	OnProcessingPost func(ctx context.Context, tx *sql.Tx, postID int64) error
}

// Open opens (creating if needed) the database at path and applies
// migrations. ":memory:" is not supported: readers and the writer must share
// one file.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with opts.
func OpenWith(ctx context.Context, path string, opts Options) (*DB, error) {
	if err := private(path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	write, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)

	q.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	db := &DB{write: write, read: read, commits: sqlstore.NewCommits(), onProcessing: opts.OnProcessingPost}
	// One file holds every logical shard, in the same tables.
	db.Stores = sqlstore.NewStores(sqlstore.Single(conn{db}, ids.MaxShards))
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) Close() error {
	db.stmtMu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	db.stmts = nil
	db.stmtMu.Unlock()
	return errors.Join(db.read.Close(), db.write.Close())
}

// stmt returns the prepared read statement for query, preparing it once.
func (db *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if st, ok := db.stmts[query]; ok {
		return st, nil
	}
	st, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if db.stmts == nil {
		db.stmts = map[string]*sql.Stmt{}
	}
	db.stmts[query] = st
	return st, nil
}

// query runs a read through its prepared statement.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is query for one row; errors surface from Scan.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := db.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

type rowScanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Writer is the single-connection writer pool, for River, whose jobs are
// inserted in the application's write transactions.
func (db *DB) Writer() *sql.DB { return db.write }

// Reader is the pool of read connections: for reads that must not wait
// behind the one writer (a metrics scrape's counts, say).
func (db *DB) Reader() *sql.DB { return db.read }

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// migrate applies, in name order, every embedded migration not yet applied.
// A hand-written runner of a few lines keeps us off migration libraries that
// drag in a second SQLite driver or pin modernc's libc differently.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var done int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&done); err != nil {
				return err
			}
			if done > 0 {
				return nil
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.commits.Committed()
	return nil
}

// Commits tells of the committed write transactions, for the outbox relay.
func (db *DB) Commits() *sqlstore.Commits { return db.commits }

// idArray encodes ids as a JSON array for `IN (SELECT value FROM
// json_each(?))`: one statement text for any number of ids, so it is
// prepared once instead of once per list length.
func idArray(idList []int64) string {
	b := make([]byte, 0, len(idList)*20+2)
	b = append(b, '[')
	for i, id := range idList {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// private makes the database file before SQLite does, 0600 whatever the
// umask, and takes group and other permissions off an existing one and its
// -wal and -shm files: SQLite gives those the main file's permissions.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm() != 0o600 {
			if err := os.Chmod(p, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}
