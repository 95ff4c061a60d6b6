// Package dirlock tells a process whether it is alone on a data
// directory. Every process that serves the directory holds a shared lock
// on one file in it for as long as it lives; one that can take the lock
// exclusively therefore has no live peer. The kernel drops a process's
// locks when it ends, however it ends (kill -9 included), so a dead run
// never looks alive.
package dirlock

import (
	"fmt"
	"os"
)

// Lock is a process's hold on the lock file.
type Lock struct {
	f     *os.File
	alone bool
}

// Acquire opens (creating) the lock file at path and takes it exclusively
// if no other process holds it, shared otherwise. A peer's exclusive hold
// is brief (see Share), and Acquire waits for it to end.
func Acquire(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	l := &Lock{f: f}
	if l.alone, err = tryExclusive(f); err == nil && !l.alone {
		err = shared(f)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return l, nil
}

// Alone reports whether the process held the lock exclusively when it
// acquired it: no other process was serving the directory.
func (l *Lock) Alone() bool { return l.alone }

// Share turns an exclusive hold into a shared one, so peers may start.
// (On Linux the change is not atomic: a peer starting at that instant may
// believe itself alone, so call Share before the process has any work in
// flight that a peer could mistake for a dead run's.)
func (l *Lock) Share() error {
	if !l.alone {
		return nil
	}
	if err := shared(l.f); err != nil {
		return fmt.Errorf("share lock %s: %w", l.f.Name(), err)
	}
	return nil
}

// Close lets go of the lock.
func (l *Lock) Close() error { return l.f.Close() }
