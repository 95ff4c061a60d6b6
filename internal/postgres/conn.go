package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/photofeed/photofeed/internal/sqlstore"
)

// conn is sqlstore.Conn on PostgreSQL: writes on the primary, reads routed
// to replicas (replicas.go), placeholders rewritten to $n.
type conn struct{ db *DB }

var _ sqlstore.Conn = conn{}

type tx struct {
	*sql.Tx
	db *DB
}

func (t tx) SQL() *sql.Tx { return t.Tx }

func (t tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.db.rebind(q), args...)
}

func (t tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.db.rebind(q), args...)
}

func (t tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.db.rebind(q), args...)
}

func (c conn) InTx(ctx context.Context, fn func(sqlstore.Tx) error) error {
	return c.db.inTx(ctx, func(t *sql.Tx) error { return fn(tx{t, c.db}) })
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := c.db.write.ExecContext(ctx, c.db.rebind(q), args...)
	if err != nil {
		return nil, writeErr(err)
	}
	// A write outside a transaction (a logout's revocation, say) must be
	// seen by the client's next read as much as one inside.
	c.db.observe(ctx)
	return res, nil
}

func (c conn) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.db.query(ctx, c.db.rebind(q), args...)
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.RowScanner {
	return c.db.queryRow(ctx, c.db.rebind(q), args...)
}

func (c conn) QueryPrimary(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := c.db.write.QueryContext(ctx, c.db.rebind(q), args...)
	return rows, readErr(err)
}

func (c conn) QueryRowPrimary(ctx context.Context, q string, args ...any) sqlstore.RowScanner {
	return rowFunc(func(dest ...any) error {
		return readErr(c.db.write.QueryRowContext(ctx, c.db.rebind(q), args...).Scan(dest...))
	})
}

func (conn) IDList() string      { return `SELECT unnest(CAST(? AS BIGINT[]))` }
func (conn) IDsJoin() string     { return `unnest(CAST(? AS BIGINT[])) AS j(value) JOIN` }
func (conn) IDs(ids []int64) any { return ids }
func (conn) ForUpdate() string   { return " FOR UPDATE" }

func (conn) LockKey(shared bool) string {
	if shared {
		return `SELECT pg_advisory_xact_lock_shared(hashtext(?))`
	}
	return `SELECT pg_advisory_xact_lock(hashtext(?))`
}

func (c conn) OnProcessing(ctx context.Context, t sqlstore.Tx, postID int64) error {
	if c.db.onProcessing == nil {
		return errors.New("no job queue for processing posts")
	}
	return c.db.onProcessing(ctx, c.db.name, t.SQL(), postID)
}

// rebind turns ? and ?N placeholders into PostgreSQL's $n, leaving string
// literals alone. The statements are a fixed set of literals, so the
// rewrites are kept.
func (db *DB) rebind(q string) string {
	if v, ok := db.rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(q[i+1 : j])
			} else {
				n++
				b.WriteString(itoa(n))
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	db.rebound.Store(q, out)
	return out
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
