package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
)

// RunIdempotency is the conformance suite for idempotency.Store; open must
// return an empty store for each call.
func RunIdempotency(t *testing.T, open func(t *testing.T) idempotency.Store) {
	ctx := context.Background()
	t0 := time.UnixMilli(1_800_000_000_000).UTC()
	const lock, ttl = time.Minute, 24 * time.Hour

	t.Run("ClaimCompleteReplay", func(t *testing.T) {
		s := open(t)
		if rec, ok, err := s.Claim(ctx, "k", "fp1", t0, lock, ttl); err != nil || !ok || rec != nil {
			t.Fatalf("first claim: %v %v %v", rec, ok, err)
		}
		rec, ok, err := s.Claim(ctx, "k", "fp1", t0.Add(time.Second), lock, ttl)
		if err != nil || ok || rec == nil || rec.State != idempotency.InFlight || rec.Fingerprint != "fp1" {
			t.Fatalf("second claim while in flight: %+v %v %v", rec, ok, err)
		}
		resp := idempotency.Response{Status: 201, Header: http.Header{"Location": {"/v1/posts/1"}}, Body: []byte(`{"id":"1"}`)}
		if err := s.Complete(ctx, "k", resp, t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		rec, ok, _ = s.Claim(ctx, "k", "fp2", t0.Add(time.Hour), lock, ttl)
		if ok || rec.State != idempotency.Done || rec.Fingerprint != "fp1" || rec.Response == nil ||
			rec.Response.Status != 201 || rec.Response.Header.Get("Location") != "/v1/posts/1" || string(rec.Response.Body) != `{"id":"1"}` {
			t.Fatalf("stored record: %+v (response %+v)", rec, rec.Response)
		}
		if err := s.Complete(ctx, "nobody", resp, t0); !errors.Is(err, idempotency.ErrNotClaimed) {
			t.Fatalf("complete of an unclaimed key: %v", err)
		}
	})

	t.Run("ExpiryAndCleanup", func(t *testing.T) {
		s := open(t)
		s.Claim(ctx, "k", "fp1", t0, lock, ttl)
		s.Complete(ctx, "k", idempotency.Response{Status: 201}, t0)
		if _, ok, _ := s.Claim(ctx, "k", "fp2", t0.Add(ttl-time.Millisecond), lock, ttl); ok {
			t.Fatal("claimed before expiry")
		}
		if rec, ok, _ := s.Claim(ctx, "k", "fp2", t0.Add(ttl), lock, ttl); !ok || rec != nil {
			t.Fatal("not claimable at expiry")
		}
		s.Claim(ctx, "old", "fp", t0, lock, time.Hour)
		n, err := s.DeleteExpired(ctx, t0.Add(2*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("DeleteExpired = %d, %v; want the one expired record", n, err)
		}
	})

	t.Run("StaleLockIsRecoverable", func(t *testing.T) {
		s := open(t)
		s.Claim(ctx, "k", "fp1", t0, lock, ttl) // the process dies here
		if _, ok, _ := s.Claim(ctx, "k", "fp1", t0.Add(lock-time.Millisecond), lock, ttl); ok {
			t.Fatal("lock taken over early")
		}
		if _, ok, _ := s.Claim(ctx, "k", "fp1", t0.Add(lock), lock, ttl); !ok {
			t.Fatal("stale lock not recoverable")
		}
		if err := s.Release(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Claim(ctx, "k", "fp1", t0.Add(lock), lock, ttl); !ok {
			t.Fatal("not claimable after release")
		}
	})

	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) {
		s := open(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				if _, ok, err := s.Claim(ctx, "race", fmt.Sprint("fp", i%2), t0, lock, ttl); err != nil {
					t.Error(err)
				} else if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d claims won, want exactly 1", wins.Load())
		}
	})
}
