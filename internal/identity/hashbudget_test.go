package identity_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/sqlite"
)

// With the node's hashing memory in use, a login or sign-up waits
// HashWait and then fails as unavailable (a 503), known user or not; once
// memory is free it goes through.
func TestHashBudget(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "id.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var mu sync.Mutex
	var waits []time.Duration
	svc, err := identity.NewService(db.Identity(), ids.NewGenerator(nil), identity.Config{
		SigningKey:     []byte("0123456789abcdef0123456789abcdef"),
		PasswordParams: identity.PasswordParams{Time: 1, Memory: 64, Threads: 1},
		HashMemory:     128, // two hashes at once
		HashWait:       20 * time.Millisecond,
		HashWaited: func(d time.Duration) {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Register(t.Context(), "alice", "password-alice", "", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	release := identity.HoldHashBudget(svc, 100) // what is left is not a hash's worth
	for name, try := range map[string]func() error{
		"known user":   func() error { _, _, err := svc.Login(t.Context(), "alice", "password-alice"); return err },
		"unknown user": func() error { _, _, err := svc.Login(t.Context(), "nobody", "password-x"); return err },
		"sign-up": func() error {
			_, err := svc.Register(t.Context(), "bob", "password-bob", "", idempotency.Claim{})
			return err
		},
	} {
		start := time.Now()
		err := try()
		if !errors.Is(err, identity.ErrBusy) || errkind.Of(err) != errkind.Unavailable {
			t.Errorf("%s, budget used up: %v, want ErrBusy", name, err)
		}
		if waited := time.Since(start); waited < 20*time.Millisecond {
			t.Errorf("%s gave up after %s, before HashWait", name, waited)
		}
	}
	release()
	if _, _, err := svc.Login(t.Context(), "alice", "password-alice"); err != nil {
		t.Fatalf("with the budget free: %v", err)
	}
	// Each hash's wait is reported: the sign-up, three refused, the login.
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 5 || waits[1] < 20*time.Millisecond || waits[4] >= 20*time.Millisecond {
		t.Fatalf("waits reported %v; want 5, the three refused ones HashWait long", waits)
	}
}
