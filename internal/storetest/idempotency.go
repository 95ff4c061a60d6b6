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

// The suite's clock: a fixed start, the claim's lock and the record's
// lifetime.
var idemStart = time.UnixMilli(1_800_000_000_000).UTC()

const idemLock, idemTTL = time.Minute, 24 * time.Hour

// RunIdempotency is the conformance suite for idempotency.Store; open must
// return an empty store for each call.
func RunIdempotency(t *testing.T, open func(t *testing.T) idempotency.Store) {
	ctx := context.Background()
	t.Run("ClaimCompleteReplay", func(t *testing.T) { checkIdemClaimCompleteReplay(ctx, t, open(t)) })
	t.Run("ExpiryAndCleanup", func(t *testing.T) { checkIdemExpiryAndCleanup(ctx, t, open(t)) })
	t.Run("StaleLockIsRecoverable", func(t *testing.T) { checkIdemStaleLockIsRecoverable(ctx, t, open(t)) })
	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) { checkIdemConcurrentClaimsOneWinner(ctx, t, open(t)) })
}

func checkIdemClaimCompleteReplay(ctx context.Context, t *testing.T, s idempotency.Store) {
	if rec, ok, err := s.Claim(ctx, "k", "fp1", idemStart, idemLock, idemTTL); err != nil || !ok || rec != nil {
		t.Fatalf("first claim: %v %v %v", rec, ok, err)
	}
	rec, ok, err := s.Claim(ctx, "k", "fp1", idemStart.Add(time.Second), idemLock, idemTTL)
	if err != nil || ok || rec == nil || rec.State != idempotency.InFlight || rec.Fingerprint != "fp1" {
		t.Fatalf("second claim while in flight: %+v %v %v", rec, ok, err)
	}
	resp := idempotency.Response{Status: 201, Header: http.Header{"Location": {"/v1/posts/1"}}, Body: []byte(`{"id":"1"}`)}
	if err := s.Complete(ctx, "k", resp, idemStart.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	rec, ok, _ = s.Claim(ctx, "k", "fp2", idemStart.Add(time.Hour), idemLock, idemTTL)
	if ok || rec.State != idempotency.Done || rec.Fingerprint != "fp1" || rec.Response == nil ||
		rec.Response.Status != 201 || rec.Response.Header.Get("Location") != "/v1/posts/1" || string(rec.Response.Body) != `{"id":"1"}` {
		t.Fatalf("stored record: %+v (response %+v)", rec, rec.Response)
	}
	if err := s.Complete(ctx, "nobody", resp, idemStart); !errors.Is(err, idempotency.ErrNotClaimed) {
		t.Fatalf("complete of an unclaimed key: %v", err)
	}
}

func checkIdemExpiryAndCleanup(ctx context.Context, t *testing.T, s idempotency.Store) {
	s.Claim(ctx, "k", "fp1", idemStart, idemLock, idemTTL)
	s.Complete(ctx, "k", idempotency.Response{Status: 201}, idemStart)
	if _, ok, _ := s.Claim(ctx, "k", "fp2", idemStart.Add(idemTTL-time.Millisecond), idemLock, idemTTL); ok {
		t.Fatal("claimed before expiry")
	}
	if rec, ok, _ := s.Claim(ctx, "k", "fp2", idemStart.Add(idemTTL), idemLock, idemTTL); !ok || rec != nil {
		t.Fatal("not claimable at expiry")
	}
	s.Claim(ctx, "old", "fp", idemStart, idemLock, time.Hour)
	n, err := s.DeleteExpired(ctx, idemStart.Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want the one expired record", n, err)
	}
}

func checkIdemStaleLockIsRecoverable(ctx context.Context, t *testing.T, s idempotency.Store) {
	s.Claim(ctx, "k", "fp1", idemStart, idemLock, idemTTL) // the process dies here
	if _, ok, _ := s.Claim(ctx, "k", "fp1", idemStart.Add(idemLock-time.Millisecond), idemLock, idemTTL); ok {
		t.Fatal("lock taken over early")
	}
	if _, ok, _ := s.Claim(ctx, "k", "fp1", idemStart.Add(idemLock), idemLock, idemTTL); !ok {
		t.Fatal("stale lock not recoverable")
	}
	if err := s.Release(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Claim(ctx, "k", "fp1", idemStart.Add(idemLock), idemLock, idemTTL); !ok {
		t.Fatal("not claimable after release")
	}
}

func checkIdemConcurrentClaimsOneWinner(ctx context.Context, t *testing.T, s idempotency.Store) {
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if _, ok, err := s.Claim(ctx, "race", fmt.Sprint("fp", i%2), idemStart, idemLock, idemTTL); err != nil {
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
}
