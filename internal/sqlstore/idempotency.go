package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
)

// IdempotencyStore implements idempotency.Store in the same database as the
// writes it guards, so a write and its key's "committed" mark share one
// transaction: a key scoped to a user ("user:<id> ...") is kept on the
// user's shard, where their writes go (and moves with it); any other key
// in the main database, where accounts are created.
type IdempotencyStore struct{ cluster }

var _ idempotency.Store = (*IdempotencyStore)(nil)

func NewIdempotencyStore(sh Shards) *IdempotencyStore { return &IdempotencyStore{cluster{sh}} }

// home is where key is kept: the database, and the prefix of its table.
func (s *IdempotencyStore) home(key string) (Conn, string) {
	if rest, ok := strings.CutPrefix(key, "user:"); ok {
		idText, _, _ := strings.Cut(rest, " ")
		if id, err := strconv.ParseInt(idText, 10, 64); err == nil && id > 0 {
			n := ids.Shard(id) % s.sh.Count()
			return s.sh.Databases()[s.sh.Home(n)], s.sh.Prefix(n)
		}
	}
	return s.sh.Main(), ""
}

func (s *IdempotencyStore) Claim(ctx context.Context, key, fp string, now time.Time, lockTimeout, ttl time.Duration) (*idempotency.Record, bool, error) {
	var existing *idempotency.Record
	claimed := false
	db, prefix := s.home(key)
	err := db.InTx(ctx, func(tx Tx) error {
		// Insert first: of concurrent claims exactly one inserts; the others
		// then read (locked where the database needs it) the winner's record.
		res, err := tx.ExecContext(ctx, qualify(`
			INSERT INTO shard.idempotency_keys (key, fingerprint, state, locked_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO NOTHING`, prefix), key, fp, idempotency.InFlight, ms(now), ms(now.Add(ttl)))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			claimed = true
			return nil
		}
		rec, err := scanRecord(tx.QueryRowContext(ctx, qualify(`
			SELECT key, fingerprint, state, locked_at, expires_at, resource, status, header, body
			FROM shard.idempotency_keys WHERE key = ?`, prefix)+db.ForUpdate(), key))
		if err != nil {
			return err
		}
		expired := !now.Before(rec.ExpiresAt)
		stale := rec.State == idempotency.InFlight && !now.Before(rec.LockedAt.Add(lockTimeout))
		if !expired && !stale {
			existing = rec
			return nil
		}
		_, err = tx.ExecContext(ctx, qualify(`
			UPDATE shard.idempotency_keys SET fingerprint = ?, state = ?, locked_at = ?, expires_at = ?,
				resource = '', status = NULL, header = NULL, body = NULL
			WHERE key = ?`, prefix), fp, idempotency.InFlight, ms(now), ms(now.Add(ttl)), key)
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
	var resource string
	if err := row.Scan(&r.Key, &r.Fingerprint, &r.State, &locked, &expires, &resource, &status, &header, &body); err != nil {
		return nil, err
	}
	r.Resource, _ = idempotency.ParseResource(resource) // "" for a request that made nothing to answer with
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
	db, prefix := s.home(key)
	res, err := db.Exec(ctx, qualify(`
		UPDATE shard.idempotency_keys SET state = ?, status = ?, header = ?, body = ?
		WHERE key = ? AND state IN (?, ?)`, prefix),
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
	db, prefix := s.home(key)
	_, err := db.Exec(ctx, qualify(`DELETE FROM shard.idempotency_keys WHERE key = ? AND state = ?`, prefix), key, idempotency.InFlight)
	return err
}

func (s *IdempotencyStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	n, err := s.deleteEverywhere(ctx, `DELETE FROM shard.idempotency_keys WHERE expires_at <= ?`, ms(now))
	if err != nil {
		return n, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return n, nil
}

// deleteEverywhere runs a DELETE on the key table of every shard, and of
// the main database (anonymous keys), and counts the rows it removed.
func (s *IdempotencyStore) deleteEverywhere(ctx context.Context, stmt string, args ...any) (int, error) {
	total := 0
	for h, db := range s.sh.Databases() {
		prefixes := s.prefixesOf(h)
		if db == s.sh.Main() && !slices.Contains(prefixes, "") {
			prefixes = append(prefixes, "")
		}
		for _, prefix := range prefixes {
			res, err := db.Exec(ctx, qualify(stmt, prefix), args...)
			if err != nil {
				return total, err
			}
			n, _ := res.RowsAffected()
			total += int(n)
		}
	}
	return total, nil
}

// markCommitted records, inside a write's own transaction, that the
// request holding claim has committed and what it made; prefix names the
// shard the write and the key are on. A write without a claim marks
// nothing.
func markCommitted(ctx context.Context, tx Tx, prefix string, claim idempotency.Claim, made idempotency.Resource) error {
	if !claim.Held() {
		return nil
	}
	_, err := tx.ExecContext(ctx, qualify(`UPDATE shard.idempotency_keys SET state = ?, resource = ? WHERE key = ? AND state = ?`, prefix),
		idempotency.Committed, made.String(), claim.Key, idempotency.InFlight)
	if err != nil {
		return fmt.Errorf("mark idempotency key committed: %w", err)
	}
	return nil
}

// ReleaseInFlight forgets the in-flight claims made before before, and
// returns how many. Only a process that knows no other one serves the
// database may call it: then such a claim is a dead run's, whose request
// never committed (a commit marks its key committed in the same
// transaction), so the client's retry may run it now instead of after the
// lock timeout.
func (s *IdempotencyStore) ReleaseInFlight(ctx context.Context, before time.Time) (int, error) {
	n, err := s.deleteEverywhere(ctx, `DELETE FROM shard.idempotency_keys WHERE state = ? AND locked_at < ?`, idempotency.InFlight, ms(before))
	if err != nil {
		return n, fmt.Errorf("release in-flight idempotency keys: %w", err)
	}
	return n, nil
}
