package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/photofeed/photofeed/idempotency"
)

// IdempotencyStore implements idempotency.Store in the same database as the
// writes it guards, so a write and its key's "committed" mark share one
// transaction.
type IdempotencyStore struct{ db Conn }

var _ idempotency.Store = (*IdempotencyStore)(nil)

func NewIdempotencyStore(db Conn) *IdempotencyStore { return &IdempotencyStore{db} }

func (s *IdempotencyStore) Claim(ctx context.Context, key, fp string, now time.Time, lockTimeout, ttl time.Duration) (*idempotency.Record, bool, error) {
	var existing *idempotency.Record
	claimed := false
	err := s.db.InTx(ctx, func(tx Tx) error {
		// Insert first: of concurrent claims exactly one inserts; the others
		// then read (locked where the database needs it) the winner's record.
		res, err := tx.ExecContext(ctx, `
			INSERT INTO idempotency_keys (key, fingerprint, state, locked_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO NOTHING`, key, fp, idempotency.InFlight, ms(now), ms(now.Add(ttl)))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			claimed = true
			return nil
		}
		rec, err := scanRecord(tx.QueryRowContext(ctx, `
			SELECT key, fingerprint, state, locked_at, expires_at, resource, status, header, body
			FROM idempotency_keys WHERE key = ?`+s.db.ForUpdate(), key))
		if err != nil {
			return err
		}
		expired := !now.Before(rec.ExpiresAt)
		stale := rec.State == idempotency.InFlight && !now.Before(rec.LockedAt.Add(lockTimeout))
		if !expired && !stale {
			existing = rec
			return nil
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE idempotency_keys SET fingerprint = ?, state = ?, locked_at = ?, expires_at = ?,
				resource = '', status = NULL, header = NULL, body = NULL
			WHERE key = ?`, fp, idempotency.InFlight, ms(now), ms(now.Add(ttl)), key)
		claimed = err == nil
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	return existing, claimed, nil
}

func scanRecord(row RowScanner) (*idempotency.Record, error) {
	var r idempotency.Record
	var locked, expires int64
	var status sql.NullInt64
	var header sql.NullString
	var body []byte
	if err := row.Scan(&r.Key, &r.Fingerprint, &r.State, &locked, &expires, &r.Resource, &status, &header, &body); err != nil {
		return nil, err
	}
	r.LockedAt, r.ExpiresAt = fromMS(locked), fromMS(expires)
	if status.Valid {
		r.Response = &idempotency.Response{Status: int(status.Int64), Header: http.Header{}, Body: body}
		if header.Valid {
			if err := json.Unmarshal([]byte(header.String), &r.Response.Header); err != nil {
				return nil, fmt.Errorf("stored header: %w", err)
			}
		}
	}
	return &r, nil
}

func (s *IdempotencyStore) Complete(ctx context.Context, key string, resp idempotency.Response, now time.Time) error {
	h, err := json.Marshal(resp.Header)
	if err != nil {
		return err
	}
	res, err := s.db.Exec(ctx, `
		UPDATE idempotency_keys SET state = ?, status = ?, header = ?, body = ?
		WHERE key = ? AND state IN (?, ?)`,
		idempotency.Done, resp.Status, string(h), resp.Body, key, idempotency.InFlight, idempotency.Committed)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return idempotency.ErrNotClaimed
	}
	return nil
}

func (s *IdempotencyStore) Release(ctx context.Context, key string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE key = ? AND state = ?`, key, idempotency.InFlight)
	return err
}

func (s *IdempotencyStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= ?`, ms(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// markCommitted records, inside a write's own transaction, that the
// request running under an idempotency key has committed and what it made.
func markCommitted(ctx context.Context, tx Tx, resource string) error {
	key, ok := idempotency.KeyFrom(ctx)
	if !ok {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET state = ?, resource = ? WHERE key = ? AND state = ?`,
		idempotency.Committed, resource, key, idempotency.InFlight)
	if err != nil {
		return fmt.Errorf("mark idempotency key committed: %w", err)
	}
	return nil
}
