// Package sqlstore implements photofeed's store ports once, in SQL that
// runs on both SQLite and PostgreSQL: statements use ? (or ?N) placeholders
// and portable syntax (CAST, CASE, ON CONFLICT), and the few places where
// the dialects differ are asked of the Conn. The sqlite and postgres
// packages supply a Conn: connections, transactions, placeholders, where
// reads go.
package sqlstore

import (
	"context"
	"database/sql"

	"github.com/photofeed/photofeed/internal/errkind"
)

// ErrPrimaryDown is what a Conn answers, wrapped, for a write or a
// QueryPrimary read while the primary cannot be reached: a read that can
// do with a replica's answer retries there.
var ErrPrimaryDown = errkind.New(errkind.Unavailable, "the database primary is unreachable; writes are paused, reads continue")

// Conn is a database as the stores use it.
type Conn interface {
	// InTx runs fn in a write transaction on the primary.
	InTx(ctx context.Context, fn func(Tx) error) error
	// Exec runs one write on the primary.
	Exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	// Query and QueryRow read where stale data is acceptable (a replica,
	// if any).
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) RowScanner
	// QueryPrimary and QueryRowPrimary read what must be current; they
	// fail with ErrPrimaryDown when the primary cannot be reached.
	QueryPrimary(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowPrimary(ctx context.Context, q string, args ...any) RowScanner

	// IDList is a subquery yielding the ids of one array argument, for
	// "x IN (...)"; IDsJoin is a table expression of them, aliased j with
	// a column value, followed by the join keyword that keeps it the outer
	// loop; IDs encodes the argument for both.
	IDList() string
	IDsJoin() string
	IDs(ids []int64) any
	// ForUpdate is the row-lock suffix of a SELECT ("" where a write
	// transaction already excludes other writers).
	ForUpdate() string
	// LockKey is a statement taking a lock on the text of its one argument
	// until the transaction ends, shared or exclusive ("" where a write
	// transaction already excludes other writers).
	LockKey(shared bool) string

	// OnProcessing enqueues a processing post's thumbnail job in tx.
	OnProcessing(ctx context.Context, tx Tx, postID int64) error
}

// Tx is a write transaction.
type Tx interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	// SQL is the transaction itself, for job queues that join it.
	SQL() *sql.Tx
}

// RowScanner is a *sql.Row or anything that scans like one.
type RowScanner interface{ Scan(...any) error }

// Stores hands out every store on one set of shards; adapters embed it,
// so each database offers the same store methods.
type Stores struct{ sh Shards }

func NewStores(sh Shards) Stores { return Stores{sh: sh} }

func (s Stores) Shards() Shards                 { return s.sh }
func (s Stores) Identity() *IdentityStore       { return NewIdentityStore(s.sh.Main()) }
func (s Stores) Posts() *PostStore              { return NewPostStore(s.sh) }
func (s Stores) Graph() *GraphStore             { return NewGraphStore(s.sh) }
func (s Stores) Timelines() *TimelineStore      { return NewTimelineStore(s.sh) }
func (s Stores) Idempotency() *IdempotencyStore { return NewIdempotencyStore(s.sh) }
func (s Stores) SearchSource() *SearchSource    { return NewSearchSource(s.sh) }

// Outboxes is each database's outbox, in the order of Databases.
func (s Stores) Outboxes() []*OutboxStore {
	var out []*OutboxStore
	for _, db := range s.sh.Databases() {
		out = append(out, NewOutboxStore(db))
	}
	return out
}
