package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/photofeed/photofeed/internal/events"
	"github.com/photofeed/photofeed/internal/outbox"
)

// emit writes an event to the outbox inside the change's transaction: the
// event exists if and only if the change committed. The trace context of
// ctx goes with it, for its consumers to continue.
func emit(ctx context.Context, tx Tx, typ string, payload any) error {
	e, err := events.New(typ, payload, time.Now())
	if err != nil {
		return err
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, subject, body, created_at, traceparent) VALUES (?, ?, ?, ?, ?)`,
		e.ID, e.Subject(), body, ms(e.OccurredAt), traceparent(ctx)); err != nil {
		return fmt.Errorf("outbox %s: %w", typ, err)
	}
	return nil
}

// traceparent is the W3C traceparent of ctx's span, or "".
func traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier["traceparent"]
}

// OutboxStore implements outbox.Store.
type OutboxStore struct{ db Conn }

var _ outbox.Store = (*OutboxStore)(nil)

func NewOutboxStore(db Conn) *OutboxStore { return &OutboxStore{db} }

func (s *OutboxStore) Pending(ctx context.Context, limit int) ([]outbox.Message, error) {
	// The relay reads the primary: a replica could still show rows it has
	// just marked sent as unsent, and they would go out again and again.
	rows, err := s.db.QueryPrimary(ctx, `SELECT seq, id, subject, body, created_at, traceparent FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("pending outbox: %w", err)
	}
	defer rows.Close()
	var out []outbox.Message
	for rows.Next() {
		var m outbox.Message
		var created int64
		if err := rows.Scan(&m.Seq, &m.ID, &m.Subject, &m.Body, &created, &m.TraceParent); err != nil {
			return nil, err
		}
		m.CreatedAt = fromMS(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *OutboxStore) MarkSent(ctx context.Context, seqs []int64, at time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE outbox SET sent_at = ? WHERE seq IN (`+s.db.IDList()+`)`, ms(at), s.db.IDs(seqs))
	if err != nil {
		return fmt.Errorf("mark outbox sent: %w", err)
	}
	return nil
}

// DeleteSent removes published events older than before.
func (s *OutboxStore) DeleteSent(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("delete sent outbox: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Head is the seq of the newest event and when it was written (0 if none).
// Unsent counts the events not yet relayed: the backlog a stalled relay
// leaves (the partial index of unsent rows keeps it cheap).
func (s *OutboxStore) Unsent(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowPrimary(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox unsent: %w", err)
	}
	return n, nil
}

func (s *OutboxStore) Head(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	if err := s.db.QueryRowPrimary(ctx, `SELECT max(seq) FROM outbox`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("outbox head: %w", err)
	}
	return seq.Int64, nil
}
