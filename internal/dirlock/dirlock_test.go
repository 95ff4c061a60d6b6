package dirlock_test

import (
	"path/filepath"
	"testing"

	"github.com/photofeed/photofeed/internal/dirlock"
)

// A process is alone only while no other holds the lock; a shared hold,
// after Share, lets others start but not believe themselves alone. (Locks
// belong to open files, so two in one process behave as two processes.)
func TestAloneOnlyWithoutPeers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.lock")
	acquire := func(wantAlone bool) *dirlock.Lock {
		t.Helper()
		l, err := dirlock.Acquire(path)
		if err != nil {
			t.Fatal(err)
		}
		if l.Alone() != wantAlone {
			t.Fatalf("alone = %v, want %v", l.Alone(), wantAlone)
		}
		if err := l.Share(); err != nil {
			t.Fatal(err)
		}
		return l
	}
	first := acquire(true)
	second := acquire(false)
	first.Close() // the first process ends: the second still serves
	third := acquire(false)
	second.Close()
	third.Close()
	acquire(true).Close() // all gone
}
