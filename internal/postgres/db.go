// Package postgres implements every store photofeed needs on PostgreSQL
// (pgx v5 through database/sql, pooled), with the same behaviour as the
// SQLite adapter, checked by the same conformance suites.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open photofeed database on PostgreSQL.
type DB struct {
	write *sql.DB // the primary
	read  *sql.DB // reads; the primary too until replicas are configured

	afterWrite   func()
	onProcessing func(ctx context.Context, tx *sql.Tx, postID int64) error
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
	db := &DB{write: pool, read: pool}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) Close() error { return db.write.Close() }

// Writer is the primary's pool, for River.
func (db *DB) Writer() *sql.DB { return db.write }

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// AfterWrite sets a function called after every committed write.
func (db *DB) AfterWrite(fn func()) { db.afterWrite = fn }

// OnProcessingPost sets how a processing post's thumbnail job is enqueued,
// inside the transaction that stores the post.
func (db *DB) OnProcessingPost(fn func(ctx context.Context, tx *sql.Tx, postID int64) error) {
	db.onProcessing = fn
}

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
	if db.afterWrite != nil {
		db.afterWrite()
	}
	return nil
}

func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, q, args...)
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	return db.read.QueryRowContext(ctx, q, args...)
}

type rowScanner interface{ Scan(...any) error }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
