package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/photofeed/photofeed/internal/sqlstore"
)

// conn is sqlstore.Conn on SQLite: writes through the single writer
// connection, reads through prepared statements on the reader pool (which,
// with no replicas, is always current).
type conn struct{ db *DB }

var _ sqlstore.Conn = conn{}

type tx struct{ *sql.Tx }

func (t tx) SQL() *sql.Tx { return t.Tx }

func (c conn) InTx(ctx context.Context, fn func(sqlstore.Tx) error) error {
	return c.db.inTx(ctx, func(t *sql.Tx) error { return fn(tx{t}) })
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.db.write.ExecContext(ctx, q, args...)
}

func (c conn) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.db.query(ctx, q, args...)
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.RowScanner {
	return c.db.queryRow(ctx, q, args...)
}

func (c conn) QueryPrimary(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.db.query(ctx, q, args...)
}

func (c conn) QueryRowPrimary(ctx context.Context, q string, args ...any) sqlstore.RowScanner {
	return c.db.queryRow(ctx, q, args...)
}

// Ids travel as one JSON array, so one prepared statement serves any
// number of them; CROSS JOIN makes SQLite probe by key from the list.
func (conn) IDList() string      { return `SELECT value FROM json_each(?)` }
func (conn) IDsJoin() string     { return `json_each(?) AS j CROSS JOIN` }
func (conn) IDs(ids []int64) any { return idArray(ids) }
func (conn) ForUpdate() string   { return "" } // the write transaction is exclusive already
func (conn) LockKey(bool) string { return "" }

func (c conn) OnProcessing(ctx context.Context, t sqlstore.Tx, postID int64) error {
	if c.db.onProcessing == nil {
		return errors.New("no job queue for processing posts")
	}
	return c.db.onProcessing(ctx, t.SQL(), postID)
}
